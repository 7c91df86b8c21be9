//! `GET /v1/duty-hours?month=YYYY-MM[&member=ID]`: counted shifts and hours
//! per member for one month, for the members the caller may see.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use redvest_proto::wire::{DutyHoursQuery, DutyHoursResponse};

use super::{blocking, AppState};
use crate::duty_hours::parse_month;
use crate::error::ApiError;
use crate::store::Caller;

pub async fn duty_hours(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DutyHoursQuery>, QueryRejection>,
) -> Result<Json<DutyHoursResponse>, ApiError> {
    let Query(query) = query?;
    let month = parse_month(&query.month).ok_or_else(|| {
        ApiError::bad_request(format!(
            "month {:?} is not a month; use YYYY-MM such as 2026-09",
            query.month
        ))
    })?;

    let member = query.member;
    let hours = blocking(&state, move |store| {
        store.duty_hours(&caller, month, member)
    })
    .await?;
    Ok(Json(hours))
}
