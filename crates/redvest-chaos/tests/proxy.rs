//! The fault proxy against a tiny local upstream that records every
//! complete request it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use redvest_chaos::{Fault, FaultPlan, Profile, Proxy, ProxyConfig};
use tokio::net::TcpListener;

/// Body size of every upstream response, large enough that a cut body is visible.
const REPLY_BYTES: usize = 400;

/// A local upstream that stores the body of every request it read whole.
struct Upstream {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stored = bodies.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let stored = stored.clone();
                let service =
                    hyper::service::service_fn(move |request| record(stored.clone(), request));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self { addr, bodies }
    }

    fn received(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn record(
    stored: Arc<Mutex<Vec<String>>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = request.into_body().collect().await?.to_bytes();
    stored
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&body).into_owned());
    Ok(Response::new(Full::new(Bytes::from(vec![
        b'x';
        REPLY_BYTES
    ]))))
}

async fn proxy_for(upstream: &Upstream, seed: u64, profile: &str) -> Proxy {
    let config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.addr,
        seed,
        profile: profile.parse().unwrap(),
        path_prefix: None,
    };
    Proxy::start(config).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// What the client saw: a status with a body read whole, or a transport error.
#[derive(Debug, PartialEq)]
enum Seen {
    Reply(u16),
    Failed,
}

async fn post(client: &reqwest::Client, proxy: &Proxy, body: &str) -> Seen {
    let Ok(response) = client
        .post(format!("{}/v1/push", proxy.url()))
        .body(body.to_owned())
        .send()
        .await
    else {
        return Seen::Failed;
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) if status != 200 || bytes.len() == REPLY_BYTES => Seen::Reply(status),
        _ => Seen::Failed,
    }
}

#[tokio::test]
async fn clean_profile_passes_through() {
    let upstream = Upstream::start().await;
    let proxy = proxy_for(&upstream, 1, "clean").await;

    let seen = post(&client(), &proxy, "batch-1").await;

    assert_eq!(seen, Seen::Reply(200));
    assert_eq!(upstream.received(), vec!["batch-1".to_owned()]);
}

#[tokio::test]
async fn each_fault_alone() {
    // (profile, what the client sees, complete requests the upstream reads)
    let cases = [
        ("drop_request=1", Seen::Failed, 0),
        ("drop_response=1", Seen::Failed, 1),
        ("duplicate=1", Seen::Reply(200), 2),
        ("reorder=1", Seen::Reply(200), 1),
        ("server_error=1", Seen::Reply(500), 0),
        ("cut_request=1", Seen::Failed, 0),
        ("cut_response=1", Seen::Failed, 1),
        ("delay=1,max_delay_ms=50", Seen::Reply(200), 1),
    ];

    for (profile, expected_seen, expected_upstream) in cases {
        let upstream = Upstream::start().await;
        let proxy = proxy_for(&upstream, 1, profile).await;

        let seen = post(&client(), &proxy, "batch-1").await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        assert_eq!(seen, expected_seen, "client view with {profile}");
        assert_eq!(
            upstream.received().len(),
            expected_upstream,
            "upstream view with {profile}"
        );
    }
}

#[tokio::test]
async fn unavailable_sometimes_sends_retry_after() {
    let upstream = Upstream::start().await;
    let proxy = proxy_for(&upstream, 5, "unavailable=1").await;
    let client = client();

    let mut with_header = 0;
    for _ in 0..20 {
        let response = client
            .get(format!("{}/v1/health", proxy.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        with_header += usize::from(response.headers().contains_key("retry-after"));
    }

    assert_eq!(with_header as u64, proxy.counts().unavailable_retry_after);
    assert!(with_header > 0, "no 503 carried Retry-After");
    assert!(with_header < 20, "every 503 carried Retry-After");
    assert!(upstream.received().is_empty());
}

#[tokio::test]
async fn replay_resends_an_older_request() {
    let upstream = Upstream::start().await;
    let proxy = proxy_for(&upstream, 2, "replay=1").await;
    let client = client();

    for n in 0..5 {
        post(&client, &proxy, &format!("batch-{n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let received = upstream.received();
    assert_eq!(proxy.counts().replay, 5);
    // The first request has no older one to replay.
    assert_eq!(
        received.len(),
        9,
        "each request once plus four replays: {received:?}"
    );
}

#[tokio::test]
async fn reorder_lets_a_later_request_overtake() {
    let seed = (0..10_000)
        .find(|&seed| first_faults(seed, "reorder=0.5") == [Fault::Reorder, Fault::None])
        .unwrap();
    let upstream = Upstream::start().await;
    let proxy = proxy_for(&upstream, seed, "reorder=0.5").await;
    let client = client();

    let first = {
        let client = client.clone();
        let url = proxy.url();
        tokio::spawn(async move {
            client
                .post(format!("{url}/v1/push"))
                .body("first")
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(&client, &proxy, "second").await;
    first.await.unwrap().unwrap();

    assert_eq!(
        upstream.received(),
        vec!["second".to_owned(), "first".to_owned()]
    );
}

fn first_faults(seed: u64, profile: &str) -> [Fault; 2] {
    let mut plan = FaultPlan::new(seed, profile.parse().unwrap());
    [plan.next_fault(), plan.next_fault()]
}

#[tokio::test]
async fn heal_makes_hostile_proxy_clean() {
    let upstream = Upstream::start().await;
    let proxy = proxy_for(&upstream, 9, "hostile").await;
    let client = client();
    for n in 0..30 {
        post(&client, &proxy, &format!("noisy-{n}")).await;
    }
    let before = proxy.counts();

    proxy.heal();
    let mut seen = Vec::new();
    for n in 0..30 {
        seen.push(post(&client, &proxy, &format!("clean-{n}")).await);
    }
    let after = proxy.counts();

    assert!(
        before.total_faults() > 0,
        "the hostile profile injected nothing"
    );
    assert!(seen.iter().all(|s| *s == Seen::Reply(200)), "{seen:?}");
    assert_eq!(after.total_faults(), before.total_faults());
    assert_eq!(after.requests, before.requests + 30);
}

#[tokio::test]
async fn same_seed_same_outcomes() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let upstream = Upstream::start().await;
        let proxy = proxy_for(&upstream, 42, "hostile,delay=0,reorder=0,replay=0").await;
        let client = client();
        let mut seen = Vec::new();
        for n in 0..40 {
            seen.push(post(&client, &proxy, &format!("batch-{n}")).await);
        }
        runs.push((seen, proxy.counts()));
    }

    assert_eq!(runs[0].0, runs[1].0);
    assert_eq!(runs[0].1, runs[1].1);
}

#[test]
fn named_profiles_parse() {
    for name in ["clean", "flaky", "hostile"] {
        assert_eq!(
            name.parse::<Profile>().ok(),
            Profile::named(name),
            "profile {name}"
        );
    }
}
