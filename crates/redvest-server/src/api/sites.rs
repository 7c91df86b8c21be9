//! `PUT /v1/sites/{id}` and `DELETE /v1/sites/{id}`: brigade staff create,
//! replace and delete the duty sites of their brigade.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use redvest_proto::wire::Site;
use uuid::Uuid;

use super::{blocking, AppState};
use crate::error::ApiError;
use crate::site_rules::checked_site;
use crate::store::Caller;

pub async fn put_site(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<Uuid>, PathRejection>,
    request: Result<Json<Site>, JsonRejection>,
) -> Result<Json<Site>, ApiError> {
    let Path(id) = path?;
    let Json(site) = request?;
    if site.id != id {
        return Err(ApiError::bad_request(format!(
            "body names site {} but the path names {id}; send the same id in both",
            site.id
        )));
    }
    let site = checked_site(&site).map_err(|message| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_site", message)
    })?;

    let stored = blocking(&state, move |store| store.put_site(&caller, &site)).await?;
    Ok(Json(stored))
}

pub async fn delete_site(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<Uuid>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = path?;
    let member_id = caller.member.id;
    blocking(&state, move |store| store.delete_site(&caller, id)).await?;

    tracing::info!(site_id = %id, %member_id, "deleted site");
    Ok(StatusCode::NO_CONTENT)
}
