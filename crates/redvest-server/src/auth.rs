//! Passwords, bearer tokens and the extractor that turns a token into the
//! calling member.
//!
//! Tokens are 256 random bits sent as hex; only their SHA-256 is stored, so
//! a leaked database does not leak sessions. Password hashes are argon2id
//! PHC strings.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::error::ApiError;
use crate::store::{Caller, Storage, StoreError};

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash; `None` runs a check against a
/// throwaway hash so an unknown phone takes as long as a wrong password.
pub fn verify_password(password: &str, stored_hash: Option<&str>) -> bool {
    let hash = stored_hash.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::error!("stored password hash is not a PHC string");
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && stored_hash.is_some()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        hash_password(&hex::encode(secret)).expect("argon2 hashes a random password")
    })
}

/// Returns a new random bearer token (64 hex digits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Returns the hex SHA-256 under which a token is stored.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Returns the bearer token of a request, if it carries a non-empty one.
/// The scheme name is case-insensitive (RFC 9110, section 11.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let hash = token_sha256(token);
        let store: Arc<dyn Storage> = state.store.clone();
        match tokio::task::spawn_blocking(move || store.caller(&hash)).await? {
            Ok(caller) => Ok(caller),
            Err(StoreError::NotFound(_)) => Err(ApiError::unauthorized()),
            Err(error) => Err(error.into()),
        }
    }
}
