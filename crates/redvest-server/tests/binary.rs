//! The real `redvest-server` binary: serving on port 0, graceful shutdown
//! on SIGTERM, and `audit-verify` exit codes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use common::*;

const BINARY: &str = env!("CARGO_BIN_EXE_redvest-server");

/// The server process, killed on drop if a test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serves_on_port_zero_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--seed-demo", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut first_line = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let address = first_line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();

    let health = http_get(&address, "/v1/health");
    let signal = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    let exit = running.0.wait().unwrap();

    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"epoch\""), "{health}");
    assert!(signal.success());
    assert!(exit.success(), "graceful shutdown exits with 0, got {exit}");
}

#[tokio::test]
async fn audit_verify_exit_codes() {
    let server = TestServer::start();
    let volunteer = server.sign_in(VOLUNTEER_A).await;
    server
        .push(&volunteer, 1, &[lead(volunteer.member.id, "x", vec![])])
        .await;
    let verify = || {
        Command::new(BINARY)
            .arg("audit-verify")
            .arg("--data")
            .arg(server.dir.path())
            .output()
            .unwrap()
    };

    let intact = verify();
    let conn = rusqlite::Connection::open(server.db_path()).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET to_state = 'approved' WHERE id = 1",
    )
    .unwrap();
    let broken = verify();
    let report = String::from_utf8_lossy(&broken.stdout);

    assert!(intact.status.success());
    assert!(!broken.status.success());
    assert!(report.contains("row 1"), "{report}");
}

#[test]
fn reset_epoch_prints_new_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let before = redvest_server::SqliteStore::open(dir.path()).unwrap();
    let old = redvest_server::Storage::epoch(&before).unwrap();
    drop(before);

    let output = Command::new(BINARY)
        .arg("reset-epoch")
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    let after = redvest_server::SqliteStore::open(dir.path()).unwrap();

    assert!(output.status.success());
    assert_ne!(redvest_server::Storage::epoch(&after).unwrap(), old);
}
