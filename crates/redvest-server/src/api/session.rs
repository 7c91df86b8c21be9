//! `POST /v1/session`: sign-in with phone number and password, limited in
//! failed attempts per phone number and client address. `DELETE
//! /v1/session`: sign-out, which deletes the session of the bearer token.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use redvest_proto::wire::{Member, SignInRequest, SignInResponse};
use uuid::Uuid;

use super::{blocking, AppState};
use crate::auth::{bearer_token, new_token, token_sha256, verify_password};
use crate::error::ApiError;
use crate::rate_limit::{mask_phone, Reservation};
use crate::store::{Caller, Storage, StoreError};

/// The peer address of the connection. Without connection info (a router
/// called directly, as in tests) every request counts as 0.0.0.0.
///
/// NOTE: behind a reverse proxy every client has the proxy's address, so the
/// per-address limit then counts all clients together.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let extensions = &parts.extensions;
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer)
            .or_else(|| {
                extensions
                    .get::<MockConnectInfo<SocketAddr>>()
                    .map(|MockConnectInfo(peer)| *peer)
            });
        Ok(Self(
            peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip()),
        ))
    }
}

/// A new session as the store returned it.
struct SignedIn {
    token: String,
    member: Member,
    epoch: Uuid,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    request: Result<Json<SignInRequest>, JsonRejection>,
) -> Result<Json<SignInResponse>, ApiError> {
    let Json(request) = request?;
    let phone = request.phone.trim().to_owned();
    let attempt = reserve_attempt(&state, &phone, address)?;

    let device_id = request.device_id;
    let attempt_phone = phone.clone();
    let signed_in = blocking(&state, move |store| {
        open_session(store, &attempt_phone, &request.password, device_id)
    })
    .await;
    let signed_in = match signed_in {
        Ok(signed_in) => signed_in,
        Err(error) => {
            state.sign_in_limiter.cancel(attempt);
            return Err(error);
        }
    };

    let Some(signed_in) = signed_in else {
        tracing::info!(phone = %mask_phone(&phone), %address, "sign-in failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "phone number or password is wrong; check both and try again",
        ));
    };
    state.sign_in_limiter.record_success(attempt);
    tracing::info!(member_id = %signed_in.member.id, %device_id, "signed in");
    Ok(Json(SignInResponse {
        token: signed_in.token,
        member: signed_in.member,
        epoch: signed_in.epoch,
        server_time: Utc::now(),
    }))
}

/// Reserves the attempt before the password is checked, or rejects it with
/// 429 while the phone number or the address has used up its failed
/// attempts. Five failures lock the phone number from every address.
fn reserve_attempt(
    state: &AppState,
    phone: &str,
    address: IpAddr,
) -> Result<Reservation, ApiError> {
    let wait = match state
        .sign_in_limiter
        .reserve(phone, address, Instant::now())
    {
        Ok(reservation) => return Ok(reservation),
        Err(wait) => wait,
    };
    let seconds = whole_seconds(wait);
    tracing::warn!(
        phone = %mask_phone(phone),
        %address,
        retry_after_s = seconds,
        "sign-in blocked after too many failed attempts",
    );
    Err(ApiError::too_many_attempts(
        seconds,
        format!(
            "too many failed sign-ins from this phone number or network; try again in {} min",
            seconds.div_ceil(60)
        ),
    ))
}

fn whole_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

/// Checks the password and stores a new session; `None` when the phone
/// number or the password is wrong.
fn open_session(
    store: &dyn Storage,
    phone: &str,
    password: &str,
    device_id: Uuid,
) -> Result<Option<SignedIn>, StoreError> {
    let credentials = store.credentials(phone)?;
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.as_str());
    let Some(credentials) = credentials
        .as_ref()
        .filter(|_| verify_password(password, stored_hash))
    else {
        return Ok(None);
    };

    let token = new_token();
    store.create_session(&token_sha256(&token), credentials.member.id, device_id)?;
    Ok(Some(SignedIn {
        token,
        member: credentials.member.clone(),
        epoch: store.epoch()?,
    }))
}

/// Signs out: deletes the session of the bearer token.
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = bearer_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let hash = token_sha256(token);
    blocking(&state, move |store| store.end_session(&hash)).await?;

    tracing::info!(member_id = %caller.member.id, device_id = %caller.device_id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}
