//! `GET /v1/changes`: the caller's page of the change log.

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
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Json<ChangesResponse>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = blocking(&state, move |store| {
        store.changes(&caller, query.after, limit)
    })
    .await?;
    Ok(Json(page))
}
