//! The one error type of the HTTP layer. It becomes a status code and an
//! `ErrorBody`; internal details go to the log, never to the client.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redvest_proto::wire::ErrorBody;
use std::time::Duration;

use crate::api::deadline::timed_out;

use crate::store::StoreError;

/// An error response: status, stable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The offset the server holds, sent as `Upload-Offset` on a mismatch.
    pub upload_offset: Option<u64>,
    /// Seconds to wait before trying again, sent as `Retry-After`.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            upload_offset: None,
            retry_after_s: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token; sign in again",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A 429 for a client that must wait `retry_after_s` seconds.
    pub fn too_many_attempts(retry_after_s: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after_s: Some(retry_after_s),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
        }
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(offset) = self.upload_offset {
            response
                .headers_mut()
                .insert("upload-offset", HeaderValue::from(offset));
        }
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            StoreError::Forbidden(message) => ApiError::forbidden(message),
            StoreError::Invalid { code, message } => {
                ApiError::new(invalid_status(code), code, message)
            }
            error @ StoreError::OffsetMismatch { expected, .. } => ApiError {
                upload_offset: Some(expected),
                ..ApiError::new(StatusCode::CONFLICT, "offset_mismatch", error.to_string())
            },
            StoreError::Other(error) => {
                tracing::error!(%error, "storage failed");
                ApiError::internal()
            }
        }
    }
}

fn invalid_status(code: &str) -> StatusCode {
    match code {
        "invalid_request" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A JSON body of the wrong shape gets 400 on every route, as a push does;
/// 422 stays for well-formed requests that break a domain rule.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if let Some(limit) = timed_out(&rejection) {
            return body_timed_out(limit);
        }
        let status = match &rejection {
            JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
            other => other.status(),
        };
        from_rejection(status, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!(
            "{}; use the id format the route names, such as a UUID for a site",
            rejection.body_text()
        ))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if let Some(limit) = timed_out(&rejection) {
            return body_timed_out(limit);
        }
        from_rejection(rejection.status(), rejection.body_text())
    }
}

fn body_timed_out(limit: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "request body not received within {} s; send it again, or in smaller chunks on a \
                slow link",
            limit.as_secs()
        ),
    )
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

fn from_rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large(format!("{text}; send a smaller body"));
    }
    ApiError::new(status, "invalid_request", text)
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        tracing::error!(%error, "blocking task failed");
        ApiError::internal()
    }
}
