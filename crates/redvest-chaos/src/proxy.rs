//! The fault proxy: an HTTP/1.1 proxy on 127.0.0.1 that forwards each
//! request to one upstream and applies the fault its seeded plan draws.
//!
//! Each request is read whole before the plan is consulted, and each
//! forward opens a fresh upstream connection, so a fault touches exactly one
//! exchange. `heal()` turns the proxy into a clean pass-through.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, HOST, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::profile::{Fault, FaultPlan, Profile};

/// How long a reordered request waits for a later one to overtake it.
const REORDER_HOLD: Duration = Duration::from_millis(300);
/// How many recent requests the proxy keeps for stale replays.
const REPLAY_WINDOW: usize = 32;
/// How long the proxy waits for the upstream before giving up with 502.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Headers that describe one hop and are never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

type ProxyBody = BoxBody<Bytes, io::Error>;

/// Listen address, upstream address and fault settings of a proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    pub seed: u64,
    pub profile: Profile,
    /// When set, only requests whose path starts with it meet faults.
    pub path_prefix: Option<String>,
}

/// Error starting the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("failed to listen on {addr}: {source}; pick a free port or use port 0")]
    Listen { addr: SocketAddr, source: io::Error },
}

/// Failure of one forward to the upstream.
#[derive(Debug, thiserror::Error)]
enum UpstreamError {
    #[error("connecting to upstream {addr} failed: {source}")]
    Connect { addr: SocketAddr, source: io::Error },
    #[error("upstream exchange failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("upstream timed out after {0:?}")]
    TimedOut(Duration),
}

/// The error a request handler returns to make hyper close the connection
/// without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed by the fault proxy ({0})")]
struct Closed(&'static str);

/// How many times each fault was injected, and how much traffic went by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    pub requests: u64,
    /// Requests sent upstream, counting duplicates and replays.
    pub forwarded: u64,
    pub upstream_errors: u64,
    pub drop_request: u64,
    pub drop_response: u64,
    pub duplicate: u64,
    pub reorder: u64,
    pub replay: u64,
    pub server_error: u64,
    pub unavailable: u64,
    pub unavailable_retry_after: u64,
    pub cut_request: u64,
    pub cut_response: u64,
    pub delay: u64,
}

impl FaultCounts {
    /// Sums the injected faults (not counting plain traffic).
    pub fn total_faults(&self) -> u64 {
        self.drop_request
            + self.drop_response
            + self.duplicate
            + self.reorder
            + self.replay
            + self.server_error
            + self.unavailable
            + self.cut_request
            + self.cut_response
            + self.delay
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    forwarded: AtomicU64,
    upstream_errors: AtomicU64,
    drop_request: AtomicU64,
    drop_response: AtomicU64,
    duplicate: AtomicU64,
    reorder: AtomicU64,
    replay: AtomicU64,
    server_error: AtomicU64,
    unavailable: AtomicU64,
    unavailable_retry_after: AtomicU64,
    cut_request: AtomicU64,
    cut_response: AtomicU64,
    delay: AtomicU64,
}

impl Counters {
    fn record(&self, fault: Fault) {
        let counter = match fault {
            Fault::None => return,
            Fault::DropRequest => &self.drop_request,
            Fault::DropResponse => &self.drop_response,
            Fault::Duplicate => &self.duplicate,
            Fault::Reorder => &self.reorder,
            Fault::Replay => &self.replay,
            Fault::ServerError => &self.server_error,
            Fault::Unavailable { retry_after_s } => {
                if retry_after_s.is_some() {
                    bump(&self.unavailable_retry_after);
                }
                &self.unavailable
            }
            Fault::CutRequest => &self.cut_request,
            Fault::CutResponse => &self.cut_response,
            Fault::Delay(_) => &self.delay,
        };
        bump(counter);
    }

    fn snapshot(&self) -> FaultCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FaultCounts {
            requests: read(&self.requests),
            forwarded: read(&self.forwarded),
            upstream_errors: read(&self.upstream_errors),
            drop_request: read(&self.drop_request),
            drop_response: read(&self.drop_response),
            duplicate: read(&self.duplicate),
            reorder: read(&self.reorder),
            replay: read(&self.replay),
            server_error: read(&self.server_error),
            unavailable: read(&self.unavailable),
            unavailable_retry_after: read(&self.unavailable_retry_after),
            cut_request: read(&self.cut_request),
            cut_response: read(&self.cut_response),
            delay: read(&self.delay),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A request read whole, ready to be forwarded any number of times.
#[derive(Debug, Clone)]
struct Captured {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A response read whole from the upstream.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<FaultPlan>,
    healed: AtomicBool,
    path_prefix: Option<String>,
    counters: Counters,
    parked: Mutex<Option<oneshot::Sender<()>>>,
    recent: Mutex<VecDeque<Captured>>,
}

/// A running fault proxy; it stops accepting connections when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Binds the listen address and starts serving on the current runtime.
    pub async fn start(config: ProxyConfig) -> Result<Self, ProxyError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ProxyError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
            addr: config.listen,
            source,
        })?;

        let shared = Arc::new(Shared {
            upstream: config.upstream,
            plan: Mutex::new(FaultPlan::new(config.seed, config.profile)),
            healed: AtomicBool::new(false),
            path_prefix: config.path_prefix.clone(),
            counters: Counters::default(),
            parked: Mutex::new(None),
            recent: Mutex::new(VecDeque::with_capacity(REPLAY_WINDOW)),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%addr, upstream = %config.upstream, seed = config.seed, "fault proxy started");
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the base URL clients use instead of the upstream's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops injecting faults: from now on every request passes through clean.
    pub fn heal(&self) {
        self.shared.healed.store(true, Ordering::SeqCst);
        release_parked(&self.shared);
        tracing::info!(addr = %self.addr, "fault proxy healed");
    }

    /// Starts injecting faults again after `heal()`, continuing the same plan.
    pub fn break_again(&self) {
        self.shared.healed.store(false, Ordering::SeqCst);
    }

    pub fn counts(&self) -> FaultCounts {
        self.shared.counters.snapshot()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                continue;
            }
        };
        tokio::spawn(serve_connection(stream, peer, shared.clone()));
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let service = hyper::service::service_fn(move |request| handle(shared.clone(), request));
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%peer, %error, "proxied connection ended with an error");
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Closed> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return Err(Closed("request body could not be read"));
    };
    let captured = capture(parts, body);

    bump(&shared.counters.requests);
    let fault = draw_fault(&shared, &captured.path);
    shared.counters.record(fault);
    if fault != Fault::None {
        tracing::debug!(?fault, method = %captured.method, path = %captured.path, "injecting fault");
    }

    let reply = apply(&shared, fault, &captured).await;
    release_parked(&shared);
    remember(&shared, captured);
    reply
}

fn capture(parts: Parts, body: Bytes) -> Captured {
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    Captured {
        method: parts.method,
        path,
        headers: parts.headers,
        body,
    }
}

fn draw_fault(shared: &Shared, path: &str) -> Fault {
    if shared.healed.load(Ordering::SeqCst) {
        return Fault::None;
    }
    if shared
        .path_prefix
        .as_deref()
        .is_some_and(|prefix| !path.starts_with(prefix))
    {
        return Fault::None;
    }
    lock(&shared.plan).next_fault()
}

async fn apply(
    shared: &Arc<Shared>,
    fault: Fault,
    request: &Captured,
) -> Result<Response<ProxyBody>, Closed> {
    match fault {
        Fault::None => Ok(forward_and_reply(shared, request).await),
        Fault::DropRequest => Err(Closed("request dropped")),
        Fault::DropResponse => {
            let _ = forward(shared, request, full(request.body.clone())).await;
            Err(Closed("response dropped"))
        }
        Fault::Duplicate => {
            let _ = forward(shared, request, full(request.body.clone())).await;
            Ok(forward_and_reply(shared, request).await)
        }
        Fault::Reorder => {
            park(shared).await;
            Ok(forward_and_reply(shared, request).await)
        }
        Fault::Replay => {
            let reply = forward_and_reply(shared, request).await;
            replay_stale(shared);
            Ok(reply)
        }
        Fault::ServerError => Ok(status_only(StatusCode::INTERNAL_SERVER_ERROR, None)),
        Fault::Unavailable { retry_after_s } => {
            Ok(status_only(StatusCode::SERVICE_UNAVAILABLE, retry_after_s))
        }
        Fault::CutRequest => {
            let _ = forward(shared, request, cut(request.body.clone())).await;
            Err(Closed("request body cut"))
        }
        Fault::CutResponse => match forward(shared, request, full(request.body.clone())).await {
            Ok(upstream) => Ok(cut_reply(upstream)),
            Err(_) => Ok(status_only(StatusCode::BAD_GATEWAY, None)),
        },
        Fault::Delay(wait) => {
            tokio::time::sleep(wait).await;
            Ok(forward_and_reply(shared, request).await)
        }
    }
}

async fn forward_and_reply(shared: &Shared, request: &Captured) -> Response<ProxyBody> {
    match forward(shared, request, full(request.body.clone())).await {
        Ok(upstream) => reply(upstream),
        Err(_) => status_only(StatusCode::BAD_GATEWAY, None),
    }
}

/// Sends one request upstream on a fresh connection and reads the whole response.
async fn forward(
    shared: &Shared,
    request: &Captured,
    body: ProxyBody,
) -> Result<Upstream, UpstreamError> {
    bump(&shared.counters.forwarded);
    let exchange = exchange(shared.upstream, request, body);
    let result = match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(UpstreamError::TimedOut(UPSTREAM_TIMEOUT)),
    };
    if let Err(error) = &result {
        bump(&shared.counters.upstream_errors);
        tracing::debug!(%error, path = %request.path, "forward failed");
    }
    result
}

async fn exchange(
    upstream: SocketAddr,
    request: &Captured,
    body: ProxyBody,
) -> Result<Upstream, UpstreamError> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|source| UpstreamError::Connect {
            addr: upstream,
            source,
        })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);

    let outgoing = upstream_request(upstream, request, body);
    let response = sender.send_request(outgoing).await;
    let result = match response {
        Ok(response) => read_upstream(response).await,
        Err(error) => Err(error.into()),
    };
    driver.abort();
    result
}

fn upstream_request(
    upstream: SocketAddr,
    request: &Captured,
    body: ProxyBody,
) -> Request<ProxyBody> {
    let mut outgoing = Request::new(body);
    *outgoing.method_mut() = request.method.clone();
    *outgoing.uri_mut() = request
        .path
        .parse()
        .unwrap_or_else(|_| hyper::Uri::from_static("/"));

    let headers = outgoing.headers_mut();
    copy_end_to_end(&request.headers, headers);
    headers.insert(
        HOST,
        HeaderValue::from_str(&upstream.to_string()).expect("socket address is a valid header"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(request.body.len()));
    outgoing
}

async fn read_upstream(response: Response<Incoming>) -> Result<Upstream, UpstreamError> {
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Upstream {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let hop = HOP_BY_HOP.contains(&name.as_str());
        if hop || name == HOST || name == CONTENT_LENGTH {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

fn reply(upstream: Upstream) -> Response<ProxyBody> {
    let length = upstream.body.len();
    let mut response = Response::new(full(upstream.body));
    *response.status_mut() = upstream.status;
    copy_end_to_end(&upstream.headers, response.headers_mut());
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// Returns the upstream's headers and full `Content-Length` with only half the body.
fn cut_reply(upstream: Upstream) -> Response<ProxyBody> {
    let length = upstream.body.len();
    let mut response = Response::new(cut(upstream.body));
    *response.status_mut() = upstream.status;
    copy_end_to_end(&upstream.headers, response.headers_mut());
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

fn status_only(status: StatusCode, retry_after_s: Option<u32>) -> Response<ProxyBody> {
    let message =
        format!(r#"{{"code":"injected_fault","message":"fault proxy answered {status}"}}"#);
    let mut response = Response::new(full(Bytes::from(message)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after_s {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Holds the request until the next request has been forwarded, or for
/// `REORDER_HOLD` when none comes.
async fn park(shared: &Shared) {
    let (release, wait) = oneshot::channel();
    let previous = lock(&shared.parked).replace(release);
    if let Some(previous) = previous {
        let _ = previous.send(());
    }
    let _ = tokio::time::timeout(REORDER_HOLD, wait).await;
}

fn release_parked(shared: &Shared) {
    if let Some(parked) = lock(&shared.parked).take() {
        let _ = parked.send(());
    }
}

fn remember(shared: &Shared, request: Captured) {
    if request.method == Method::GET {
        return;
    }
    let mut recent = lock(&shared.recent);
    if recent.len() == REPLAY_WINDOW {
        recent.pop_front();
    }
    recent.push_back(request);
}

/// Sends an older request upstream again in the background, so the upstream
/// sees a stale copy after newer requests.
fn replay_stale(shared: &Arc<Shared>) {
    let stale = {
        let recent = lock(&shared.recent);
        let index = lock(&shared.plan).pick(recent.len());
        recent.get(index).cloned()
    };
    let Some(stale) = stale else {
        return;
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let _ = forward(&shared, &stale, full(stale.body.clone())).await;
    });
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn cut(bytes: Bytes) -> ProxyBody {
    let half = bytes.slice(..bytes.len() / 2);
    CutBody {
        part: Some(half),
        full_length: bytes.len() as u64,
    }
    .boxed()
}

/// A body that yields its first part, then fails, so hyper aborts the
/// connection before the promised `Content-Length` is reached.
struct CutBody {
    part: Option<Bytes>,
    full_length: u64,
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.part.take() {
            Some(part) if !part.is_empty() => Poll::Ready(Some(Ok(Frame::data(part)))),
            _ => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "body cut by the fault proxy",
            )))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.full_length)
    }
}
