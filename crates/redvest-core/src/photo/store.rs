//! Content-addressed, crash-safe storage of processed photos: a file is
//! written to a temporary name in the same folder, synced, renamed into
//! place and the folder synced, so a name a record points at always holds
//! complete bytes.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::PhotoError;

/// Writes each `(name, bytes)` pair to `dir/name` atomically, in order,
/// replacing files of the same name, then syncs the folder once. A record may name the files only after this returns, because
/// before the folder sync a crash can undo any of the renames.
pub fn write_atomic(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), PhotoError> {
    for (name, bytes) in files {
        write_synced(dir, name, bytes)?;
    }
    sync_dir(dir)
}

/// Writes a temporary file, syncs it and renames it to `dir/name`.
fn write_synced(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PhotoError> {
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
    Ok(())
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
