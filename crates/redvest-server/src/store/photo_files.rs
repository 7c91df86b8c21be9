//! Content-addressed photo files on disk: `<root>/ab/abcdef…` for complete
//! photos and `<root>/partial/<sha256>.<uploader>` for uploads in progress.
//!
//! This module does not touch the database. The store records a photo as
//! received only after `write_chunk` reports it complete. A complete file is
//! fsynced and renamed into place, so it is either whole and verified or
//! absent. Each uploader writes its own partial file, so one client's bad
//! chunk or lying length can only discard its own progress. An uploader
//! that completes a photo already in place proves it has the bytes, and
//! its verified partial file is then dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Largest photo the server accepts, in bytes (20 MiB).
pub const MAX_PHOTO_BYTES: u64 = 20 * 1024 * 1024;

const LOCK_STRIPES: usize = 32;

/// The error of writing a chunk.
#[derive(Debug, thiserror::Error)]
pub enum PhotoFileError {
    #[error("upload offset {requested} does not match the {expected} bytes received")]
    OffsetMismatch { requested: u64, expected: u64 },
    #[error("chunk ends at byte {end}, past the upload length {total}")]
    PastEnd { end: u64, total: u64 },
    #[error("uploaded bytes hash to {actual}, not {expected}; the partial upload was discarded")]
    Sha256Mismatch { expected: String, actual: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The progress of a photo's upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStatus {
    pub bytes_received: u64,
    pub complete: bool,
}

/// The photo directory with per-hash locks so concurrent uploads of one
/// photo cannot interleave their writes.
#[derive(Debug)]
pub struct PhotoFiles {
    root: PathBuf,
    locks: Vec<Mutex<()>>,
}

/// Tells whether a string is a lowercase hex SHA-256.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PhotoFiles {
    /// Opens (creating if needed) the photo directory and its `partial/` folder.
    pub fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("partial"))?;
        let locks = (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        Ok(Self {
            root: root.to_owned(),
            locks,
        })
    }

    /// Returns the size of the complete photo, if it is in place.
    pub fn complete_len(&self, sha256: &str) -> io::Result<Option<u64>> {
        file_len(&self.final_path(sha256))
    }

    /// Returns the progress of one uploader's partial file. A partial file
    /// that already hashes to `sha256` (the server stopped between the last
    /// chunk and the rename) is finished here and reported complete.
    pub fn upload_status(&self, sha256: &str, uploader: &str) -> io::Result<FileStatus> {
        let _guard = self.lock(sha256);
        let partial = self.partial_path(sha256, uploader);
        let received = file_len(&partial)?.unwrap_or(0);
        if received == 0 || hash_file(&partial)? != sha256 {
            return Ok(FileStatus {
                bytes_received: received,
                complete: false,
            });
        }
        tracing::info!(
            sha256,
            "finishing a photo upload whose partial file contains every byte"
        );
        self.place(sha256, &partial)?;
        Ok(FileStatus {
            bytes_received: received,
            complete: true,
        })
    }

    /// Appends one uploader's chunk at `offset`; completes, verifies and
    /// moves the file into place when the chunk reaches `total`. `replace`
    /// discards this uploader's partial file first (a whole-file upload).
    pub fn write_chunk(
        &self,
        sha256: &str,
        uploader: &str,
        chunk: (u64, u64, &[u8]),
        replace: bool,
    ) -> Result<FileStatus, PhotoFileError> {
        let (offset, total, bytes) = chunk;
        let _guard = self.lock(sha256);
        let partial = self.partial_path(sha256, uploader);
        if replace {
            remove_if_present(&partial)?;
        }
        let received = file_len(&partial)?.unwrap_or(0);
        if offset != received {
            return Err(PhotoFileError::OffsetMismatch {
                requested: offset,
                expected: received,
            });
        }
        let end = offset + bytes.len() as u64;
        if end > total {
            return Err(PhotoFileError::PastEnd { end, total });
        }

        append(&partial, offset, bytes)?;
        if end < total {
            return Ok(FileStatus {
                bytes_received: end,
                complete: false,
            });
        }
        self.finish(sha256, &partial)?;
        Ok(FileStatus {
            bytes_received: total,
            complete: true,
        })
    }

    pub fn read(&self, sha256: &str) -> io::Result<Vec<u8>> {
        fs::read(self.final_path(sha256))
    }

    /// Deletes a complete photo, if present.
    pub fn remove(&self, sha256: &str) -> io::Result<()> {
        let _guard = self.lock(sha256);
        remove_if_present(&self.final_path(sha256))
    }

    /// Deletes partial files last written before `cutoff`; returns how many.
    pub fn remove_partials_before(&self, cutoff: SystemTime) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(self.root.join("partial"))? {
            let entry = entry?;
            let name = entry.file_name();
            let _guard = self.lock(&name.to_string_lossy());
            // Read under the lock, so a chunk written meanwhile keeps the file.
            let modified = match entry.metadata() {
                Ok(metadata) => metadata.modified()?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            };
            if modified >= cutoff {
                continue;
            }
            remove_if_present(&entry.path())?;
            removed += 1;
        }
        Ok(removed)
    }

    fn finish(&self, sha256: &str, partial: &Path) -> Result<(), PhotoFileError> {
        let actual = hash_file(partial)?;
        if actual != sha256 {
            remove_if_present(partial)?;
            return Err(PhotoFileError::Sha256Mismatch {
                expected: sha256.to_owned(),
                actual,
            });
        }
        Ok(self.place(sha256, partial)?)
    }

    /// Moves a verified partial file into place, or drops it when another
    /// uploader's copy of the same bytes is already there.
    fn place(&self, sha256: &str, partial: &Path) -> io::Result<()> {
        let target = self.final_path(sha256);
        if target.exists() {
            remove_if_present(partial)?;
            return sync_dir(&self.root.join("partial"));
        }
        let shard = target.parent().expect("a photo path has a shard folder");
        if !shard.exists() {
            fs::create_dir_all(shard)?;
            sync_dir(&self.root)?;
        }
        fs::rename(partial, &target)?;
        sync_dir(shard)?;
        sync_dir(&self.root.join("partial"))?;
        Ok(())
    }

    fn final_path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    fn partial_path(&self, sha256: &str, uploader: &str) -> PathBuf {
        self.root
            .join("partial")
            .join(format!("{sha256}.{uploader}"))
    }

    fn lock(&self, sha256: &str) -> MutexGuard<'_, ()> {
        let prefix = sha256.get(..2).unwrap_or_default();
        let stripe = u8::from_str_radix(prefix, 16).unwrap_or(0) as usize % LOCK_STRIPES;
        self.locks[stripe]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn append(path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    file.set_len(offset)?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)?;
    file.sync_data()
}

fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    file.sync_all()?;
    Ok(hex::encode(hasher.finalize()))
}

fn file_len(path: &Path) -> io::Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn chunks_complete_into_shard() {
        let dir = tempfile::tempdir().unwrap();
        let files = PhotoFiles::open(dir.path()).unwrap();
        let data = b"0123456789".to_vec();
        let sha = sha_hex(&data);

        let first = files
            .write_chunk(&sha, "me", (0, 10, &data[..4]), false)
            .unwrap();
        let last = files
            .write_chunk(&sha, "me", (4, 10, &data[4..]), false)
            .unwrap();

        assert_eq!(
            first,
            FileStatus {
                bytes_received: 4,
                complete: false
            }
        );
        assert_eq!(
            last,
            FileStatus {
                bytes_received: 10,
                complete: true
            }
        );
        assert_eq!(files.read(&sha).unwrap(), data);
        assert!(dir.path().join(&sha[..2]).join(&sha).exists());
    }

    #[test]
    fn sha256_hex_shapes() {
        let cases = [
            ("a".repeat(64), true),
            ("A".repeat(64), false),
            ("a".repeat(63), false),
            ("g".repeat(64), false),
            ("../".repeat(21) + "a", false),
        ];
        for (text, expected) in cases {
            assert_eq!(is_sha256_hex(&text), expected, "{text}");
        }
    }
}
