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

    /// Tells whether the server rejected the request as such, so sending the
    /// same request again can never succeed: any 4xx status except 401 and
    /// 403 (sign in again), 408 and 429 (retry later) and 409 (a conflict
    /// the routes that return it carry in their body).
    pub fn is_rejection(&self) -> bool {
        match self {
            SyncError::Http { status, .. } => {
                (400..500).contains(status) && !matches!(status, 401 | 403 | 408 | 409 | 429)
            }
            _ => false,
        }
    }

    /// Returns the wait the server asked for, if it sent `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
