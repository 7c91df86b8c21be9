//! `POST /v1/push`: a batch of captured records from one device.

use std::cell::Cell;
use std::fmt;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use redvest_proto::{Record, Stamp};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
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
    #[serde(deserialize_with = "records_by_index")]
    records: Vec<serde_json::Value>,
}

thread_local! {
    /// The index of the record being read when JSON parsing failed.
    static FAILED_RECORD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Reads the records array and remembers which element broke the JSON, so
/// the 400 can name the record. Invalid JSON (a NaN, a number past f64)
/// cannot be skipped, so that one record fails the whole request.
fn records_by_index<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<serde_json::Value>, D::Error> {
    struct Records;

    impl<'de> Visitor<'de> for Records {
        type Value = Vec<serde_json::Value>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an array of records")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut records = Vec::new();
            loop {
                match seq.next_element() {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => return Ok(records),
                    Err(error) => {
                        FAILED_RECORD.with(|failed| failed.set(Some(records.len())));
                        return Err(error);
                    }
                }
            }
        }
    }

    deserializer.deserialize_seq(Records)
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
    FAILED_RECORD.with(|failed| failed.set(None));
    let raw: RawBatch = serde_json::from_slice(body).map_err(|error| {
        let message = match FAILED_RECORD.with(Cell::take) {
            Some(index) => format!(
                "invalid push request: record {index} is not valid JSON ({error}); numbers \
                    must be finite, so fix or drop that record"
            ),
            None => format!("invalid push request: {error}"),
        };
        ApiError::bad_request(message)
    })?;
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
