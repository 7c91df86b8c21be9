//! Content-addressed, crash-safe storage of processed photos: a file is
//! written to a temporary name in the same folder, synced, renamed into
//! place and the folder synced, so a name a record points at always holds
//! complete bytes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::PhotoError;

/// Writes `bytes` to `dir/name` atomically, replacing any file of that name.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PhotoError> {
    let path = dir.join(name);
    let mut temp = tempfile::Builder::new()
        .prefix(".photo-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| PhotoError::io(dir, e))?;

    temp.write_all(bytes)
        .map_err(|e| PhotoError::io(temp.path(), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| PhotoError::io(temp.path(), e))?;
    // On failure the temporary file is removed when `temp` drops.
    temp.persist(&path)
        .map_err(|e| PhotoError::io(&path, e.error))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Syncs the folder entry so the rename survives a power loss.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), PhotoError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PhotoError::io(dir, e))
}

/// Windows cannot open a folder as a file; NTFS journals the rename.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), PhotoError> {
    Ok(())
}
