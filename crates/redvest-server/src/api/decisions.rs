//! `POST /v1/decisions`: a reviewer's decision on a submission.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use redvest_proto::wire::{DecisionRequest, DecisionResponse};

use super::{blocking, AppState};
use crate::error::ApiError;
use crate::store::Caller;

pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    request: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<DecisionResponse>, ApiError> {
    let Json(decision) = request?;
    let response = blocking(&state, move |store| {
        store.decide(&caller, &decision, Utc::now())
    })
    .await?;
    Ok(Json(response))
}
