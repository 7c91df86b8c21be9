//! Slow and idle clients against a real server on loopback: header and
//! body reads time out, and open connections are capped.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use redvest_server::serve::{serve_with, ServeLimits};
use redvest_server::RouterLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Generous bound for the server to act after a one-second limit.
const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
    _server: TestServer,
}

async fn start(max_connections: usize) -> Running {
    let server = TestServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections,
        router: RouterLimits {
            body_read_timeout: Duration::from_secs(1),
        },
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(serve_with(
        listener,
        server.store.clone(),
        async {
            stopped.await.ok();
        },
        limits,
    ));
    Running {
        address,
        stop,
        serving,
        _server: server,
    }
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.serving.await.unwrap().unwrap();
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_headers_disconnected() {
    let running = start(16).await;
    let mut stream = TcpStream::connect(running.address).await.unwrap();
    stream
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();

    let received = read_to_close(&mut stream).await;

    assert!(!received.contains("200 OK"), "{received}");
    running.stop().await;
}

#[tokio::test]
async fn slow_body_gets_408() {
    let running = start(16).await;
    let mut stream = TcpStream::connect(running.address).await.unwrap();
    let head = "POST /v1/session HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100000\r\n\r\n{\"phone\":";
    stream.write_all(head.as_bytes()).await.unwrap();

    let received = read_to_close(&mut stream).await;

    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("request_timeout"), "{received}");
    running.stop().await;
}

#[tokio::test]
async fn connections_capped() {
    let running = start(2).await;
    let idle_1 = TcpStream::connect(running.address).await.unwrap();
    let idle_2 = TcpStream::connect(running.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(running.address).await.unwrap();
    third
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();

    let mut first_byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), third.peek(&mut first_byte)).await;
    let received = read_to_close(&mut third).await;

    assert!(
        early.is_err(),
        "a third connection was served beside two open ones"
    );
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    drop((idle_1, idle_2));
    running.stop().await;
}
