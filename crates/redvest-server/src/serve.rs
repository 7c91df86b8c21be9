//! Running the API on a TCP listener until a shutdown signal arrives, with
//! the background sweeps beside it. The accept loop is hyper's HTTP/1
//! connection builder, so that header reads time out and the number of
//! open connections is capped, which `axum::serve` does not offer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::api::{router_with, RouterLimits};
use crate::store::Storage;
use crate::sweep::{run_sweeps, SWEEP_INTERVAL};

/// Time a client has to send a request's headers. A client that sends them
/// slower is disconnected, so slow clients cannot hold connections open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections served at once; further clients wait in the listen
/// backlog. It stays below the usual limit of 1024 open files.
pub const MAX_CONNECTIONS: usize = 900;
/// Pause after a failed accept (for example, out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connection limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub router: RouterLimits,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            router: RouterLimits::default(),
        }
    }
}

/// Serves the API on `listener` with the default limits until `shutdown`
/// completes, then lets requests in flight finish. The sweeps run at start
/// and every five minutes until then. Handlers see the peer address, which
/// the sign-in limit counts by.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, store, shutdown, ServeLimits::default()).await
}

/// Serves like [`serve`] with the given limits.
pub async fn serve_with(
    listener: TcpListener,
    store: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, max_connections = limits.max_connections, "serving");
    let sweeps = tokio::spawn(run_sweeps(store.clone(), SWEEP_INTERVAL));
    let app = router_with(store, limits.router);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);

    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%address, %error, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = serve_connection(stream, peer, app.clone(), limits, closed.clone());
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }

    drop(listener);
    closing.send_replace(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _drained = permits.acquire_many(all).await;
    sweeps.abort();
    tracing::info!(%address, "sweeps stopped");
    tracing::info!(%address, "stopped");
    Ok(())
}

/// Serves one connection until the client closes it, a header read times
/// out, or the server shuts down (then the request in flight finishes).
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ServeLimits,
    mut closed: watch::Receiver<bool>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%peer, %error, "cannot disable Nagle's algorithm");
    }
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    let closing = async move {
        // An error means the server dropped the sender, which also closes.
        let _ = closed.wait_for(|closed| *closed).await.map(|_| ());
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT, shutting down"),
        () = terminate => tracing::info!("received SIGTERM, shutting down"),
    }
}
