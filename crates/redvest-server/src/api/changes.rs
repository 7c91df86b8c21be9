//! `GET /v1/changes`: the caller's page of the change log.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use redvest_proto::wire::{ChangesQuery, ChangesResponse};

use super::{blocking, AppState};
use crate::error::ApiError;
use crate::store::Caller;

const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 1000;

pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ChangesResponse>, ApiError> {
    let Query(query) = query?;
    let query = parse_query(&query)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = blocking(&state, move |store| {
        store.changes(&caller, query.after, limit)
    })
    .await?;
    Ok(Json(page))
}

/// Reads `after` and `limit` with messages that name the parameter and the
/// expected form, which the generic query rejection does not.
fn parse_query(query: &HashMap<String, String>) -> Result<ChangesQuery, ApiError> {
    let after = query.get("after").ok_or_else(|| {
        ApiError::bad_request("after is missing; send after=0 or the cursor of the last page")
    })?;
    let after = after.trim().parse::<i64>().map_err(|_| {
        ApiError::bad_request(format!(
            "after must be an integer cursor, not {after:?}; send after=0 or the cursor of the \
                last page"
        ))
    })?;
    let limit = match query.get("limit") {
        None => None,
        Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "limit must be a whole number of changes, not {text:?}; send at most {MAX_LIMIT}"
            ))
        })?),
    };
    Ok(ChangesQuery { after, limit })
}
