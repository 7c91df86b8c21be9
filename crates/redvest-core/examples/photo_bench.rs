//! Runs the photo pipeline on one file several times and prints one JSON
//! line with the median and fastest wall time. `bench/photo/bench.py` runs
//! it as a child process per input so each run's peak memory is its own.
//!
//! Usage: photo_bench INPUT STORE_DIR [ITERATIONS] [LONG_EDGE]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use redvest_core::photo::{process_file, PhotoOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        bail!("usage: photo_bench INPUT STORE_DIR [ITERATIONS] [LONG_EDGE]");
    }
    let input = PathBuf::from(&args[0]);
    let store_dir = PathBuf::from(&args[1]);
    let iterations: usize = parse_arg(&args, 2, 5).context("ITERATIONS must be a whole number")?;
    let long_edge: u32 = parse_arg(&args, 3, 1600).context("LONG_EDGE must be a whole number")?;
    if iterations == 0 {
        bail!("ITERATIONS must be at least 1");
    }
    let opts = PhotoOptions {
        long_edge,
        ..Default::default()
    };

    // The first run warms the page cache and the allocator; it is not timed.
    let mut photo = process_file(&input, &store_dir, &opts)?;
    let mut times_ms = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        photo = process_file(&input, &store_dir, &opts)?;
        times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times_ms.sort_by(f64::total_cmp);

    let position = match photo.exif_position {
        Some((lat, lon)) => format!("[{lat:.6}, {lon:.6}]"),
        None => "null".to_string(),
    };
    let taken_at = match photo.taken_at {
        Some(time) => format!("\"{}\"", time.local),
        None => "null".to_string(),
    };
    println!(
        "{{\"median_ms\": {:.2}, \"min_ms\": {:.2}, \"runs\": {}, \"bytes\": {}, \"width\": {}, \"height\": {}, \"exif_position\": {position}, \"taken_at\": {taken_at}}}",
        times_ms[times_ms.len() / 2],
        times_ms[0],
        iterations + 1,
        photo.bytes,
        photo.width,
        photo.height
    );
    Ok(())
}

fn parse_arg<T: std::str::FromStr>(args: &[String], index: usize, default: T) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match args.get(index) {
        Some(text) => Ok(text.parse()?),
        None => Ok(default),
    }
}
