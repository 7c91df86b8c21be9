//! Running the API on a TCP listener until a shutdown signal arrives, with
//! the shift sweep beside it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::router;
use crate::store::Storage;
use crate::sweep::{run_sweeps, SWEEP_INTERVAL};

/// Serves the API on `listener` until `shutdown` completes, then lets
/// requests in flight finish. The shift sweep runs at start and every five
/// minutes until then. Handlers see the peer address, which the sign-in
/// limit counts by.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving");
    let sweeps = tokio::spawn(run_sweeps(store.clone(), SWEEP_INTERVAL));
    let app = router(store).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeps.abort();
    tracing::info!(%address, "shift sweep stopped");
    tracing::info!(%address, "stopped");
    served
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
