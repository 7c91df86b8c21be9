//! `POST /v1/push`: a batch of captured records from one device.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use redvest_proto::{Record, Stamp};
use serde::Deserialize;
use uuid::Uuid;

use super::{blocking, AppState};
use crate::error::ApiError;
use crate::store::{Caller, IncomingBatch, IncomingRecord};

/// Most records one push may carry.
pub const MAX_BATCH_RECORDS: usize = 500;

/// A push request with records left as JSON, so one unreadable record is
/// rejected alone instead of failing the whole batch.
#[derive(Deserialize)]
struct RawBatch {
    device_id: Uuid,
    batch_seq: i64,
    /// Not in `PushRequest` yet: the device clock at sending, optional.
    #[serde(default)]
    sent_at: Option<Stamp>,
    records: Vec<serde_json::Value>,
}

pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let batch = parse_batch(&body?)?;
    let count = batch.records.len();
    let ack = blocking(&state, move |store| store.push(&caller, &batch, Utc::now())).await?;

    tracing::info!(
        batch_seq = ack.response.batch_seq,
        records = count,
        conflict = ack.has_conflict,
        "stored push"
    );
    let status = if ack.has_conflict {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ack.response)).into_response())
}

fn parse_batch(body: &[u8]) -> Result<IncomingBatch, ApiError> {
    let raw: RawBatch = serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid push request: {error}")))?;
    if raw.records.len() > MAX_BATCH_RECORDS {
        return Err(ApiError::too_large(format!(
            "batch has {} records; send at most {MAX_BATCH_RECORDS} per push",
            raw.records.len()
        )));
    }
    let records: Result<Vec<_>, _> = raw
        .records
        .into_iter()
        .enumerate()
        .map(|(index, value)| parse_record(index, value))
        .collect();
    Ok(IncomingBatch {
        device_id: raw.device_id,
        batch_seq: raw.batch_seq,
        sent_at: raw.sent_at,
        records: records?,
    })
}

fn parse_record(index: usize, value: serde_json::Value) -> Result<IncomingRecord, ApiError> {
    let id = value
        .get("id")
        .and_then(|id| id.as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "record {index} has no valid `id`; every record needs its UUID"
            ))
        })?;
    match serde_json::from_value::<Record>(value) {
        Ok(record) => Ok(IncomingRecord::Parsed(Box::new(record))),
        Err(error) => Ok(IncomingRecord::Unreadable {
            id,
            reason: format!("unknown or malformed record: {error}"),
        }),
    }
}
