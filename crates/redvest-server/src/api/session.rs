//! `POST /v1/session`: sign-in with phone number and password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use redvest_proto::wire::{SignInRequest, SignInResponse};

use super::{blocking, AppState};
use crate::auth::{new_token, token_sha256, verify_password};
use crate::error::ApiError;
use crate::store::StoreError;

// TODO: limit failed sign-ins per phone and address; argon2 alone only slows guessing.
pub async fn sign_in(
    State(state): State<AppState>,
    request: Result<Json<SignInRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SignInResponse>, ApiError> {
    let Json(request) = request?;
    let signed_in = blocking(&state, move |store| {
        let credentials = store.credentials(request.phone.trim())?;
        let stored_hash = credentials
            .as_ref()
            .map(|found| found.password_hash.as_str());
        let Some(credentials) = credentials
            .as_ref()
            .filter(|_| verify_password(&request.password, stored_hash))
        else {
            return Ok(None);
        };
        let token = new_token();
        store.create_session(
            &token_sha256(&token),
            credentials.member.id,
            request.device_id,
        )?;
        let epoch = store.epoch()?;
        Ok::<_, StoreError>(Some((
            token,
            credentials.member.clone(),
            epoch,
            request.device_id,
        )))
    })
    .await?;

    let Some((token, member, epoch, device_id)) = signed_in else {
        tracing::info!("sign-in failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "phone number or password is wrong; check both and try again",
        ));
    };
    tracing::info!(member_id = %member.id, %device_id, "signed in");
    Ok(Json(SignInResponse {
        token,
        member,
        epoch,
        server_time: Utc::now(),
    }))
}
