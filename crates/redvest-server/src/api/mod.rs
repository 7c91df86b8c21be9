//! The HTTP API under `/v1`: the router, its shared state, request tracing
//! and body limits. Each submodule holds the handlers of one resource; they
//! parse and check input, call the store on the blocking pool and shape the
//! response.

mod changes;
pub mod deadline;
mod decisions;
mod duty_hours;
mod photos;
mod push;
mod session;
mod sites;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use redvest_proto::wire::Health;
use tracing::Instrument;

use crate::error::ApiError;
use crate::rate_limit::SignInLimiter;
use crate::store::{Storage, StoreError};

pub use session::ClientAddress;

/// Largest request body on photo routes (a 20 MiB photo plus headroom).
pub const PHOTO_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// Largest request body everywhere else.
pub const API_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Storage>,
    pub sign_in_limiter: Arc<SignInLimiter>,
}

/// Time a client has to send a request body, counted from the end of its
/// headers. A 20 MiB photo needs about 2.8 Mbit/s to arrive in time, so a
/// phone on a slower link uploads it in resumable chunks.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Request limits of the router.
#[derive(Debug, Clone, Copy)]
pub struct RouterLimits {
    pub body_read_timeout: Duration,
}

impl Default for RouterLimits {
    fn default() -> Self {
        Self {
            body_read_timeout: BODY_READ_TIMEOUT,
        }
    }
}

/// Builds the router of the whole API over a store, with default limits.
pub fn router(store: Arc<dyn Storage>) -> Router {
    router_with(store, RouterLimits::default())
}

/// Builds the router of the whole API over a store.
pub fn router_with(store: Arc<dyn Storage>, limits: RouterLimits) -> Router {
    let body_read_timeout = limits.body_read_timeout;
    let state = AppState {
        store,
        sign_in_limiter: Arc::new(SignInLimiter::default()),
    };
    let photos = Router::new()
        .route(
            "/v1/photos/{sha256}",
            get(photos::download)
                .patch(photos::upload_chunk)
                .put(photos::upload_whole),
        )
        .route("/v1/photos/{sha256}/status", get(photos::status))
        .layer(DefaultBodyLimit::max(PHOTO_BODY_LIMIT));
    let api = Router::new()
        .route("/v1/health", get(health))
        .route(
            "/v1/session",
            post(session::sign_in).delete(session::sign_out),
        )
        .route("/v1/push", post(push::push))
        .route("/v1/changes", get(changes::changes))
        .route("/v1/decisions", post(decisions::decide))
        .route(
            "/v1/sites/{id}",
            put(sites::put_site).delete(sites::delete_site),
        )
        .route("/v1/duty-hours", get(duty_hours::duty_hours))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT));
    Router::new()
        .merge(api)
        .merge(photos)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(move |request, next| {
            deadline::limit_body_time(body_read_timeout, request, next)
        }))
        .layer(middleware::from_fn(trace_request))
        .with_state(state)
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {method} {}; the API routes start with /v1",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not accept {method}; check the method of this route",
            uri.path()
        ),
    )
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let epoch = blocking(&state, |store| store.epoch()).await?;
    Ok(Json(Health {
        epoch,
        server_time: Utc::now(),
    }))
}

/// Runs a store call on the blocking thread pool.
async fn blocking<T, F>(state: &AppState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || work(store.as_ref())).await??)
}

/// Logs each request in a span named after its route template; health
/// checks log at debug so probes do not flood the log.
async fn trace_request(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, %route);
    let started = Instant::now();

    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    let millis = started.elapsed().as_millis() as u64;
    let _entered = span.enter();
    if route == "/v1/health" {
        tracing::debug!(status, millis, "request finished");
    } else if status >= 500 {
        tracing::error!(status, millis, "request failed");
    } else {
        tracing::info!(status, millis, "request finished");
    }
    response
}
