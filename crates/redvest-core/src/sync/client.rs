//! The HTTP client of the sync API (`redvest_proto::wire`), one method per
//! route. It turns every failure into a classified [`SyncError`] and never
//! logs the bearer token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redvest_proto::wire::{
    ChangesResponse, DecisionRequest, DecisionResponse, ErrorBody, Health, PhotoStatus,
    PushRequest, PushResponse, SignInRequest, SignInResponse,
};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::SyncError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest photo [`SyncClient::download_photo`] accepts, in bytes. It
/// is above the server's upload limit (20 MiB) so that only a broken or
/// hostile response reaches it.
pub const MAX_DOWNLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// A client of one Redvest server.
#[derive(Debug, Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    base_url: String,
}

/// Whether a route returns its ordinary body with HTTP 409.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conflict {
    HasBody,
    IsError,
}

impl SyncClient {
    /// Builds a client for a server such as `https://redvest.example.cn`.
    pub fn new(base_url: &str) -> Result<Self, SyncError> {
        let parsed = reqwest::Url::parse(base_url).map_err(|error| SyncError::InvalidUrl {
            url: base_url.to_owned(),
            reason: error.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            let reason = "use an http:// or https:// address".to_owned();
            return Err(SyncError::InvalidUrl {
                url: base_url.to_owned(),
                reason,
            });
        }

        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(SyncError::Connect)?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Returns the server URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.base_url)
    }

    /// Sends `GET /v1/health`.
    pub async fn health(&self) -> Result<Health, SyncError> {
        send(self.http.get(self.url("health")), Conflict::IsError).await
    }

    /// Sends `POST /v1/session` and returns the token and member.
    pub async fn sign_in(
        &self,
        phone: &str,
        password: &str,
        device_id: Uuid,
    ) -> Result<SignInResponse, SyncError> {
        let request = SignInRequest {
            phone: phone.to_owned(),
            password: password.to_owned(),
            device_id,
        };
        send(
            self.http.post(self.url("session")).json(&request),
            Conflict::IsError,
        )
        .await
    }

    /// Sends `POST /v1/push`. A 409 carries the same body as a 200, with the
    /// conflicting records marked in it.
    pub async fn push(
        &self,
        token: &str,
        request: &PushRequest,
    ) -> Result<PushResponse, SyncError> {
        let builder = self
            .http
            .post(self.url("push"))
            .bearer_auth(token)
            .json(request);
        send(builder, Conflict::HasBody).await
    }

    /// Sends `GET /v1/changes?after=N&limit=M`.
    pub async fn changes(
        &self,
        token: &str,
        after: i64,
        limit: u32,
    ) -> Result<ChangesResponse, SyncError> {
        let builder = self
            .http
            .get(self.url("changes"))
            .bearer_auth(token)
            .query(&[("after", after), ("limit", i64::from(limit))]);
        send(builder, Conflict::IsError).await
    }

    /// Sends `GET /v1/photos/{sha256}/status`.
    pub async fn photo_status(&self, token: &str, sha256: &str) -> Result<PhotoStatus, SyncError> {
        let builder = self
            .http
            .get(self.url(&format!("photos/{sha256}/status")))
            .bearer_auth(token);
        send(builder, Conflict::IsError).await
    }

    /// Sends one chunk with `PATCH /v1/photos/{sha256}`, starting at `offset`
    /// of a file of `total` bytes. A 409 `offset_mismatch` becomes
    /// [`SyncError::OffsetMismatch`] with the server's offset.
    pub async fn upload_photo_chunk(
        &self,
        token: &str,
        sha256: &str,
        offset: u64,
        total: u64,
        chunk: Vec<u8>,
    ) -> Result<PhotoStatus, SyncError> {
        let checksum = hex::encode(Sha256::digest(&chunk));
        let builder = self
            .http
            .patch(self.url(&format!("photos/{sha256}")))
            .bearer_auth(token)
            .header("Upload-Offset", offset)
            .header("Upload-Length", total)
            .header("Chunk-Sha256", checksum)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/offset+octet-stream",
            )
            .body(chunk);
        let response = builder.send().await.map_err(SyncError::Connect)?;
        if response.status() == StatusCode::CONFLICT {
            if let Some(server_offset) = header_number(response.headers(), "upload-offset") {
                return Err(SyncError::OffsetMismatch { server_offset });
            }
        }
        read(response, Conflict::IsError).await
    }

    /// Sends `GET /v1/photos/{sha256}` and returns the photo's bytes once
    /// their SHA-256 equals `sha256`, so no caller ever sees a corrupt or
    /// substituted photo. A body over [`MAX_DOWNLOAD_BYTES`] is abandoned
    /// as soon as it passes the limit.
    pub async fn download_photo(&self, token: &str, sha256: &str) -> Result<Vec<u8>, SyncError> {
        if !is_sha256_hex(sha256) {
            return Err(SyncError::InvalidSha256(sha256.to_owned()));
        }

        let builder = self
            .http
            .get(self.url(&format!("photos/{sha256}")))
            .bearer_auth(token);
        let response = builder.send().await.map_err(SyncError::Connect)?;
        if !response.status().is_success() {
            return Err(http_error(response).await);
        }
        let bytes = read_capped(response, sha256).await?;

        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(SyncError::PhotoChecksum {
                sha256: sha256.to_owned(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Sends `POST /v1/decisions`. A 409 carries the decision's conflict outcome.
    pub async fn decide(
        &self,
        token: &str,
        request: &DecisionRequest,
    ) -> Result<DecisionResponse, SyncError> {
        let builder = self
            .http
            .post(self.url("decisions"))
            .bearer_auth(token)
            .json(request);
        send(builder, Conflict::HasBody).await
    }
}

async fn send<T: DeserializeOwned>(
    builder: RequestBuilder,
    conflict: Conflict,
) -> Result<T, SyncError> {
    let response = builder.send().await.map_err(SyncError::Connect)?;
    read(response, conflict).await
}

async fn read<T: DeserializeOwned>(response: Response, conflict: Conflict) -> Result<T, SyncError> {
    let status = response.status();
    let accepted =
        status.is_success() || (status == StatusCode::CONFLICT && conflict == Conflict::HasBody);
    if !accepted {
        return Err(http_error(response).await);
    }

    let bytes = response.bytes().await.map_err(SyncError::Connect)?;
    serde_json::from_slice(&bytes).map_err(|error| {
        SyncError::InvalidResponse(format!("HTTP {status} body does not parse: {error}"))
    })
}

async fn http_error(response: Response) -> SyncError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), Utc::now());
    let body = response.bytes().await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(body) => (body.code, body.message),
        Err(_) => (
            "unknown".to_owned(),
            String::from_utf8_lossy(&body).chars().take(200).collect(),
        ),
    };
    SyncError::Http {
        status,
        code,
        message,
        retry_after,
    }
}

/// Reads a photo body, stopping once it exceeds [`MAX_DOWNLOAD_BYTES`].
async fn read_capped(mut response: Response, sha256: &str) -> Result<Vec<u8>, SyncError> {
    let too_large = || SyncError::PhotoTooLarge {
        sha256: sha256.to_owned(),
        max_bytes: MAX_DOWNLOAD_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_DOWNLOAD_BYTES)
    {
        return Err(too_large());
    }

    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(SyncError::Connect)? {
        if (bytes.len() + chunk.len()) as u64 > MAX_DOWNLOAD_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Tells whether `text` is a SHA-256 in 64 lowercase hex digits, the only
/// form of photo name the server stores and this device writes to disk.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Reads `Retry-After` as delay seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (
                "Tue, 01 Sep 2026 08:00:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Tue, 01 Sep 2026 07:59:00 GMT", Some(Duration::ZERO)),
            ("soon", None),
        ];
        for (text, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(text));

            assert_eq!(retry_after(&headers, now), expected, "Retry-After: {text}");
        }
    }

    #[test]
    fn url_must_be_http() {
        let cases = ["ftp://example.cn", "not a url"];
        for url in cases {
            assert!(
                matches!(SyncClient::new(url), Err(SyncError::InvalidUrl { .. })),
                "{url}"
            );
        }
    }
}
