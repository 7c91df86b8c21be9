//! The simulated phones: each signs in as its own member, then pushes its
//! clock-ins in small batches at times spread over the peak, with fixes
//! scattered around the load sites the way real phones report them.
//!
//! The schedule is open-loop: a batch is sent at its planned time whatever
//! other devices wait for, so a slow server shows up as latency, not as a
//! gentler load. Batches of one device go one after another.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redvest_proto::geo::Fix;
use redvest_proto::records::{ClockIn, Monotonic, Record, RecordBody};
use redvest_proto::wire::{Fence, PushOutcome, PushResponse, SignInRequest, SignInResponse, Site};
use redvest_proto::Stamp;
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::stats::PhaseStats;
use crate::LoadError;

/// Sign-ins in flight at once: phones sign in before the peak, not in it,
/// and each one costs the server an argon2 check.
const SIGN_IN_CONCURRENCY: usize = 16;
/// Maximum wait for one response before it counts as timed out.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Metres per degree of latitude, for scattering fixes around a site.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// Settings of one load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub devices: usize,
    /// Clock-ins over all devices.
    pub clock_ins: usize,
    /// Most clock-ins in one push; each batch takes 1 to this many.
    pub max_batch: usize,
    /// The span the batches are spread over; zero sends them all at once.
    pub spread: Duration,
    /// Seed of the random schedule and positions, for repeatable runs.
    pub seed: u64,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub sign_in: PhaseStats,
    pub push: PhaseStats,
    /// Clock-ins the devices sent.
    pub clock_ins_sent: usize,
    /// Clock-ins the server acknowledged as stored.
    pub clock_ins_stored: usize,
    /// Clock-ins the server returned as conflicts or rejections.
    pub clock_ins_rejected: usize,
    pub devices_signed_in: usize,
}

impl LoadReport {
    /// Stored clock-ins per second over the push phase.
    pub fn clock_ins_per_second(&self) -> f64 {
        let seconds = self.push.elapsed.as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        self.clock_ins_stored as f64 / seconds
    }
}

/// Checks that `url` names a loopback host and returns it parsed.
pub fn loopback_url(url: &str) -> Result<Url, LoadError> {
    let parsed = Url::parse(url).map_err(|error| LoadError::Url {
        url: url.to_owned(),
        reason: error.to_string(),
    })?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(LoadError::NotLoopback(url.to_owned()));
    }
    Ok(parsed)
}

/// Signs every device in, then plays the clock-in peak.
pub async fn run(
    base: &Url,
    phones: &[String],
    password: &str,
    sites: &[Site],
    config: &LoadConfig,
) -> Result<LoadReport, LoadError> {
    let signed_in = sign_in_devices(base, phones, password, config).await?;
    Ok(push_clock_ins(base, signed_in, sites, config).await)
}

/// The devices that signed in, ready to push.
pub struct SignedIn {
    client: Client,
    sessions: Vec<Session>,
    stats: PhaseStats,
}

/// Signs in `config.devices` devices, one member each.
pub async fn sign_in_devices(
    base: &Url,
    phones: &[String],
    password: &str,
    config: &LoadConfig,
) -> Result<SignedIn, LoadError> {
    if phones.len() < config.devices {
        return Err(LoadError::TooFewMembers {
            devices: config.devices,
            members: phones.len(),
        });
    }
    let client = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(config.devices)
        .no_proxy()
        .build()?;

    tracing::info!(devices = config.devices, "signing in");
    let (sessions, stats) = sign_in_all(&client, base, &phones[..config.devices], password).await;
    if sessions.is_empty() {
        return Err(LoadError::NoSession {
            failed: stats.error_count(),
        });
    }
    Ok(SignedIn {
        client,
        sessions,
        stats,
    })
}

/// Plays the clock-in peak with the signed-in devices.
pub async fn push_clock_ins(
    base: &Url,
    signed_in: SignedIn,
    sites: &[Site],
    config: &LoadConfig,
) -> LoadReport {
    let SignedIn {
        client,
        sessions,
        stats: sign_in,
    } = signed_in;
    let devices_signed_in = sessions.len();

    tracing::info!(
        devices = devices_signed_in,
        clock_ins = config.clock_ins,
        "pushing clock-ins"
    );
    let plans = plan_devices(sessions, config);
    let outcome = push_all(&client, base, sites, plans).await;
    tracing::info!(stored = outcome.stored, "load finished");

    LoadReport {
        sign_in,
        push: outcome.stats,
        clock_ins_sent: outcome.sent,
        clock_ins_stored: outcome.stored,
        clock_ins_rejected: outcome.rejected,
        devices_signed_in,
    }
}

/// A signed-in device.
#[derive(Clone)]
struct Session {
    token: String,
    member_id: Uuid,
    device_id: Uuid,
}

async fn sign_in_all(
    client: &Client,
    base: &Url,
    phones: &[String],
    password: &str,
) -> (Vec<Session>, PhaseStats) {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(SIGN_IN_CONCURRENCY));
    let mut tasks = Vec::with_capacity(phones.len());
    for phone in phones {
        let request = SignInRequest {
            phone: phone.clone(),
            password: password.to_owned(),
            device_id: Uuid::now_v7(),
        };
        let (client, url, permits) = (
            client.clone(),
            endpoint(base, "v1/session"),
            permits.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            sign_in(&client, url, request).await
        }));
    }

    let mut sessions = Vec::with_capacity(phones.len());
    let mut stats = PhaseStats::default();
    for task in tasks {
        match task.await {
            Ok((Ok(session), latency)) => {
                sessions.push(session);
                stats.latencies.push(latency);
            }
            Ok((Err(cause), _)) => stats.record_error(cause),
            Err(error) => stats.record_error(format!("task failed: {error}")),
        }
    }
    stats.finish(started.elapsed());
    (sessions, stats)
}

async fn sign_in(
    client: &Client,
    url: Url,
    request: SignInRequest,
) -> (Result<Session, String>, Duration) {
    let device_id = request.device_id;
    let started = Instant::now();
    let response = client.post(url).json(&request).send().await;
    let result = match response {
        Ok(response) if response.status() == StatusCode::OK => response
            .json::<SignInResponse>()
            .await
            .map(|body| Session {
                token: body.token,
                member_id: body.member.id,
                device_id,
            })
            .map_err(|error| format!("sign-in body unreadable: {error}")),
        Ok(response) => Err(format!("sign-in http {}", response.status().as_u16())),
        Err(error) => Err(transport_cause(&error)),
    };
    (result, started.elapsed())
}

/// One device's batches, each with its planned send time after the start.
struct DevicePlan {
    session: Session,
    batches: Vec<(Duration, usize)>,
    rng: StdRng,
}

/// Deals the clock-ins out over the devices, cuts each device's share into
/// batches and gives every batch a random send time within the spread.
fn plan_devices(sessions: Vec<Session>, config: &LoadConfig) -> Vec<DevicePlan> {
    let devices = sessions.len();
    sessions
        .into_iter()
        .enumerate()
        .map(|(index, session)| {
            let mut rng =
                StdRng::seed_from_u64(config.seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
            let share =
                config.clock_ins / devices + usize::from(index < config.clock_ins % devices);
            let batches = plan_batches(&mut rng, share, config);
            DevicePlan {
                session,
                batches,
                rng,
            }
        })
        .collect()
}

fn plan_batches(rng: &mut StdRng, share: usize, config: &LoadConfig) -> Vec<(Duration, usize)> {
    let mut sizes = Vec::new();
    let mut left = share;
    while left > 0 {
        let size = rng.gen_range(1..=config.max_batch.max(1)).min(left);
        sizes.push(size);
        left -= size;
    }

    let spread_ms = config.spread.as_millis() as u64;
    let mut times: Vec<Duration> = sizes
        .iter()
        .map(|_| Duration::from_millis(rng.gen_range(0..=spread_ms)))
        .collect();
    times.sort_unstable();
    times.into_iter().zip(sizes).collect()
}

#[derive(Default)]
struct PushOutcomeTotals {
    stats: PhaseStats,
    sent: usize,
    stored: usize,
    rejected: usize,
}

async fn push_all(
    client: &Client,
    base: &Url,
    sites: &[Site],
    plans: Vec<DevicePlan>,
) -> PushOutcomeTotals {
    let started = tokio::time::Instant::now();
    let sites: Arc<[Site]> = sites.into();
    let tasks: Vec<_> = plans
        .into_iter()
        .map(|plan| {
            let (client, url, sites) = (client.clone(), endpoint(base, "v1/push"), sites.clone());
            tokio::spawn(play_device(client, url, sites, plan, started))
        })
        .collect();

    let mut totals = PushOutcomeTotals::default();
    for task in tasks {
        match task.await {
            Ok(device) => {
                totals.stats.merge(device.stats);
                totals.sent += device.sent;
                totals.stored += device.stored;
                totals.rejected += device.rejected;
            }
            Err(error) => totals.stats.record_error(format!("task failed: {error}")),
        }
    }
    totals.stats.finish(started.elapsed());
    totals
}

/// The body of `POST /v1/push`, with the device clock at sending so the
/// server can tell offline delay from clock skew.
#[derive(Serialize)]
struct PushBody<'a> {
    device_id: Uuid,
    batch_seq: i64,
    sent_at: Stamp,
    records: &'a [Record],
}

async fn play_device(
    client: Client,
    url: Url,
    sites: Arc<[Site]>,
    mut plan: DevicePlan,
    started: tokio::time::Instant,
) -> PushOutcomeTotals {
    let mut totals = PushOutcomeTotals::default();
    let boot_id = Uuid::new_v4().to_string();
    let booted = Instant::now();
    for (batch_seq, (offset, size)) in plan.batches.iter().enumerate() {
        tokio::time::sleep_until(started + *offset).await;
        let records: Vec<Record> = (0..*size)
            .map(|_| clock_in(&mut plan.rng, &plan.session, &sites, &boot_id, booted))
            .collect();
        let body = PushBody {
            device_id: plan.session.device_id,
            batch_seq: batch_seq as i64 + 1,
            sent_at: shanghai_now(),
            records: &records,
        };
        totals.sent += records.len();
        push_batch(&client, &url, &plan.session, &body, &mut totals).await;
    }
    totals
}

async fn push_batch(
    client: &Client,
    url: &Url,
    session: &Session,
    body: &PushBody<'_>,
    totals: &mut PushOutcomeTotals,
) {
    let request_started = Instant::now();
    let response = client
        .post(url.clone())
        .bearer_auth(&session.token)
        .json(body)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(error) => return totals.stats.record_error(transport_cause(&error)),
    };

    let status = response.status();
    let parsed = response.json::<PushResponse>().await;
    let latency = request_started.elapsed();
    match parsed {
        Ok(acknowledged) if status.is_success() || status == StatusCode::CONFLICT => {
            totals.stats.latencies.push(latency);
            count_results(&acknowledged, totals);
        }
        Ok(_) | Err(_) => totals
            .stats
            .record_error(format!("push http {}", status.as_u16())),
    }
}

fn count_results(acknowledged: &PushResponse, totals: &mut PushOutcomeTotals) {
    for result in &acknowledged.results {
        match &result.outcome {
            PushOutcome::Stored { .. } => totals.stored += 1,
            PushOutcome::Conflict { .. } | PushOutcome::Rejected { .. } => {
                totals.rejected += 1;
                totals
                    .stats
                    .record_error(format!("record {}", outcome_name(&result.outcome)));
            }
        }
    }
}

fn outcome_name(outcome: &PushOutcome) -> &'static str {
    match outcome {
        PushOutcome::Stored { .. } => "stored",
        PushOutcome::Conflict { .. } => "conflict",
        PushOutcome::Rejected { .. } => "rejected",
    }
}

/// Builds one clock-in at a random load site with a plausible fix. Most
/// fixes lie inside the fence with 5–20 m accuracy. Some lie at the edge or
/// have poor accuracy, a few are far away, and about 1 in 100 is mocked.
fn clock_in(
    rng: &mut StdRng,
    session: &Session,
    sites: &[Site],
    boot_id: &str,
    booted: Instant,
) -> Record {
    let site = &sites[rng.gen_range(0..sites.len())];
    let now = shanghai_now();
    let (centre, radius_m) = fence_centre(&site.fence);
    let distance_m = match rng.gen_range(0..100) {
        0..85 => rng.gen_range(0.0..radius_m * 0.8),
        85..95 => rng.gen_range(radius_m..radius_m + 60.0),
        _ => rng.gen_range(300.0..800.0),
    };
    let accuracy_m = match rng.gen_range(0..100) {
        0..80 => rng.gen_range(5.0..20.0),
        80..95 => rng.gen_range(20.0..50.0),
        _ => rng.gen_range(60.0..150.0),
    };
    let bearing = rng.gen_range(0.0..std::f64::consts::TAU);
    let (lat, lon) = offset(
        centre,
        distance_m * bearing.cos(),
        distance_m * bearing.sin(),
    );
    let fix_age = TimeDelta::milliseconds(rng.gen_range(500..8_000));
    let mut fix = Fix::new(lat, lon, Some(accuracy_m), now.utc - fix_age, "fused");
    fix.mock = rng.gen_range(0..100) == 0;

    Record {
        id: Uuid::now_v7(),
        member_id: session.member_id,
        captured_at: now,
        body: RecordBody::ClockIn(ClockIn {
            site_id: site.id,
            fix: Some(fix),
            fix_requested_at: Some(Stamp {
                utc: now.utc - TimeDelta::seconds(10),
                offset_min: now.offset_min,
            }),
            monotonic: Some(Monotonic {
                boot_id: boot_id.to_owned(),
                millis: booted.elapsed().as_millis() as i64,
            }),
        }),
    }
}

/// Returns a fence's centre (lat, lon) and a radius that covers most of it.
fn fence_centre(fence: &Fence) -> ((f64, f64), f64) {
    match fence {
        Fence::Circle { lat, lon, radius_m } => ((*lat, *lon), *radius_m),
        Fence::Polygon { ring } => {
            let count = ring.len().max(1) as f64;
            let lat = ring.iter().map(|point| point.0).sum::<f64>() / count;
            let lon = ring.iter().map(|point| point.1).sum::<f64>() / count;
            // The demo polygons are about 100 m across.
            ((lat, lon), 30.0)
        }
    }
}

fn offset((lat, lon): (f64, f64), east_m: f64, north_m: f64) -> (f64, f64) {
    let lon_scale = METRES_PER_DEGREE * lat.to_radians().cos();
    (lat + north_m / METRES_PER_DEGREE, lon + east_m / lon_scale)
}

fn shanghai_now() -> Stamp {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Stamp::from_local(Utc::now().with_timezone(&offset))
}

fn endpoint(base: &Url, path: &str) -> Url {
    base.join(path)
        .expect("a fixed relative path joins any base url")
}

fn transport_cause(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    }
}
