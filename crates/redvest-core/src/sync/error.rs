//! The error type of the sync client. Errors are classified so the retry
//! logic reads types instead of messages. Transient errors are retried with
//! backoff, and auth errors stop the run until the member signs in again.
//! The rest are permanent for the request that raised them.

use std::time::Duration;

use crate::error::StoreError;

/// The cause of a failed sync request or run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("server could not be reached: {0}")]
    Connect(#[source] reqwest::Error),
    #[error("server returned HTTP {status} ({code}): {message}")]
    Http {
        status: u16,
        code: String,
        message: String,
        /// The wait the server asked for in `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    #[error("server holds {server_offset} bytes of the photo, not the offset sent")]
    OffsetMismatch { server_offset: u64 },
    #[error("server response is invalid: {0}")]
    InvalidResponse(String),
    #[error("photo file {path} could not be read: {source}")]
    PhotoFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("photo name {0:?} is not a SHA-256; expected 64 lowercase hex digits")]
    InvalidSha256(String),
    #[error(
        "downloaded photo {sha256} hashes to {actual}; it was discarded and is fetched again \
         on the next sync"
    )]
    PhotoChecksum { sha256: String, actual: String },
    #[error("downloaded photo {sha256} is over the limit of {max_bytes} bytes; it was discarded")]
    PhotoTooLarge { sha256: String, max_bytes: u64 },
    #[error("downloaded photo could not be saved: {0}")]
    PhotoSave(#[source] crate::photo::PhotoError),
    #[error("no session token on this device: sign in")]
    NoToken,
    #[error("sync task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Tells whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Connect(_) => true,
            SyncError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    /// Tells whether the session token is missing or was rejected, so the
    /// member must sign in.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            SyncError::NoToken
                | SyncError::Http {
                    status: 401 | 403,
                    ..
                }
        )
    }

    /// Tells whether the server rejected the content of the request, so
    /// sending the same request again can never succeed: 400 (invalid), 413
    /// (too large) or 422 (unprocessable). Other 4xx statuses, such as a 404
    /// from a wrong server address, say nothing about the content and are
    /// not counted.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            SyncError::Http {
                status: 400 | 413 | 422,
                ..
            }
        )
    }

    /// Returns the wait the server asked for, if it sent `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> SyncError {
        SyncError::Http {
            status,
            code: "x".into(),
            message: "x".into(),
            retry_after: None,
        }
    }

    #[test]
    fn rejection_statuses() {
        let cases = [
            (400, true),
            (413, true),
            (422, true),
            (401, false),
            (403, false),
            (404, false),
            (409, false),
            (429, false),
            (500, false),
        ];
        for (status, expected) in cases {
            assert_eq!(http(status).is_rejection(), expected, "HTTP {status}");
        }
    }
}
