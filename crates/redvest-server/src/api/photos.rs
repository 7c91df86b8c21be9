//! Photo routes: resumable upload in chunks (`PATCH`, tus-like headers),
//! whole-file upload (`PUT`), upload status and download.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use redvest_proto::wire::PhotoStatus;
use sha2::{Digest, Sha256};

use super::{blocking, AppState};
use crate::error::ApiError;
use crate::store::photo_files::{is_sha256_hex, MAX_PHOTO_BYTES};
use crate::store::{Caller, PhotoChunk};

pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PhotoStatus>, ApiError> {
    let Path(sha256) = path?;
    check_sha256(&sha256)?;
    let status = blocking(&state, move |store| store.photo_status(&caller, &sha256)).await?;
    Ok(Json(status))
}

pub async fn upload_chunk(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PhotoStatus>, ApiError> {
    let Path(sha256) = path?;
    check_sha256(&sha256)?;
    let offset = number_header(&headers, "upload-offset")?;
    let total = number_header(&headers, "upload-length")?;
    check_total(total)?;
    let body = body?;
    check_chunk_checksum(&headers, &body)?;

    let member_id = caller.member.id;
    let status = blocking(&state, move |store| {
        let chunk = PhotoChunk {
            sha256: &sha256,
            offset,
            total,
            bytes: &body,
        };
        store.photo_write(&caller, chunk, false)
    })
    .await?;
    tracing::debug!(
        %member_id,
        sha256 = status.sha256,
        bytes_received = status.bytes_received,
        "stored photo chunk",
    );
    Ok(Json(status))
}

pub async fn upload_whole(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PhotoStatus>, ApiError> {
    let Path(sha256) = path?;
    check_sha256(&sha256)?;
    let body = body?;
    check_total(body.len() as u64)?;

    let status = blocking(&state, move |store| {
        let chunk = PhotoChunk {
            sha256: &sha256,
            offset: 0,
            total: body.len() as u64,
            bytes: &body,
        };
        store.photo_write(&caller, chunk, true)
    })
    .await?;
    Ok(Json(status))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(sha256) = path?;
    check_sha256(&sha256)?;
    let bytes = blocking(&state, move |store| store.photo_read(&caller, &sha256)).await?;
    Ok(([(CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

fn check_sha256(sha256: &str) -> Result<(), ApiError> {
    if is_sha256_hex(sha256) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "photo path {sha256:?} is not a SHA-256; use 64 lowercase hex digits"
    )))
}

fn check_total(total: u64) -> Result<(), ApiError> {
    if total == 0 {
        return Err(ApiError::bad_request(
            "upload length is 0; a photo needs at least one byte",
        ));
    }
    if total > MAX_PHOTO_BYTES {
        return Err(ApiError::too_large(format!(
            "photo has {total} bytes; the limit is {MAX_PHOTO_BYTES} bytes, so downscale it first"
        )));
    }
    Ok(())
}

fn check_chunk_checksum(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let expected = text_header(headers, "chunk-sha256")?.to_ascii_lowercase();
    let actual = hex::encode(Sha256::digest(body));
    if expected == actual {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "chunk_checksum",
        format!("chunk hashes to {actual}, not {expected}; send the chunk again"),
    ))
}

fn text_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .ok_or_else(|| ApiError::bad_request(format!("missing header {name}")))
}

fn number_header(headers: &HeaderMap, name: &str) -> Result<u64, ApiError> {
    let text = text_header(headers, name)?;
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "header {name} is {text:?}, not a whole number of bytes"
        ))
    })
}
