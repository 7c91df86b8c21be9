#!/usr/bin/env python3
"""Benchmark the Rust photo pipeline against Pillow doing the same steps.

For every input, the Rust example `photo_bench` (release build) and a
Pillow worker (this script with --pillow-worker) each run in their own
child process: one untimed warm-up, then ITERATIONS timed runs. Wall time
is the median of the timed runs; peak memory is the child's max RSS as
GNU time (/usr/bin/time) reports it. Both sides decode (Pillow with Image.draft() for DCT scaling),
apply the EXIF orientation, downscale to the long edge, save JPEG quality
80 named by SHA-256 with fsync and rename, and make a 320 px thumbnail.

Usage:
  python3 bench/photo/bench.py [--photos DIR] [--iterations N] [--rounds N] [--write-doc]

Needs Pillow (pip install pillow) and GNU time. --write-doc replaces the "Photo
pipeline" section of docs/BENCHMARKS.md with the table printed here.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUST_BIN = REPO / "target" / "release" / "examples" / "photo_bench"
DOC = REPO / "docs" / "BENCHMARKS.md"
SECTION = "## Photo pipeline"
LONG_EDGE = 1600
THUMB_EDGE = 320
QUALITY = 80


def fit(size, long_edge):
    """Return size scaled so its longer side is long_edge, never enlarged."""
    width, height = size
    longest = max(width, height)
    if longest <= long_edge:
        return size
    return (max(1, round(width * long_edge / longest)), max(1, round(height * long_edge / longest)))


def write_atomic(directory, files):
    """Write each (name, data) through a synced temporary file and a rename,
    then sync the folder once, as the Rust store does."""
    for name, data in files:
        temp = directory / f".{name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, directory / name)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def pillow_pipeline(path, store, long_edge):
    """Run Pillow's fastest equivalent of the Rust pipeline once."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        exif = image.getexif()
        exif.get_ifd(0x8825)  # GPS, which the Rust side reads too
        if image.format == "JPEG":
            # draft() picks the largest DCT scale that stays at or above this size.
            image.draft("RGB", fit(image.size, long_edge))
        upright = ImageOps.exif_transpose(image)
        upright = upright.convert("RGB")
        upright.thumbnail((long_edge, long_edge))
        photo = io.BytesIO()
        upright.save(photo, "JPEG", quality=QUALITY)
        thumb_image = upright.copy()
        thumb_image.thumbnail((THUMB_EDGE, THUMB_EDGE))
        thumb = io.BytesIO()
        thumb_image.save(thumb, "JPEG", quality=QUALITY)

    digest = hashlib.sha256(photo.getvalue()).hexdigest()
    write_atomic(store, [(f"{digest}.thumb.jpg", thumb.getvalue()), (f"{digest}.jpg", photo.getvalue())])
    return {"bytes": len(photo.getvalue()), "width": upright.width, "height": upright.height}


def pillow_worker(args):
    """Time the Pillow pipeline in this process and print one JSON line."""
    store = Path(args.store)
    result = pillow_pipeline(args.input, store, args.long_edge)
    times = []
    for _ in range(args.iterations):
        started = time.perf_counter()
        result = pillow_pipeline(args.input, store, args.long_edge)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    result.update(median_ms=times[len(times) // 2], min_ms=times[0], runs=args.iterations + 1)
    print(json.dumps(result))


def run_child(command):
    """Run command under /usr/bin/time, returning its JSON output, max RSS
    in MB and CPU seconds.

    GNU time forks a small process for the command, so the max RSS is the
    command's own. wait4() on a child of this script would report this
    script's RSS at fork time when that is larger, because Linux keeps the
    pre-exec peak.
    """
    with tempfile.NamedTemporaryFile("r") as usage:
        completed = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", usage.name, *command], capture_output=True
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {completed.stderr.decode(errors='replace')}")
        max_rss_kb, user_s, system_s = usage.read().split()[-3:]
    result = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    result["peak_mb"] = int(max_rss_kb) / 1024
    result["cpu_s"] = float(user_s) + float(system_s)
    return result


def generate_12mp(path):
    """Write a 4032x3024 camera-like JPEG (gradient, noise, shapes), quality 92."""
    from PIL import Image, ImageDraw
    import random

    width, height = 4032, 3024
    rng = random.Random(12)
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    red = Image.blend(gradient, noise, 0.5)
    green = Image.blend(gradient.transpose(Image.Transpose.ROTATE_180), noise, 0.3)
    image = Image.merge("RGB", (red, green, noise))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x, y, x + rng.randrange(300), y + rng.randrange(300)], fill=colour)
    image.save(path, quality=92)


def machine():
    """Describe the CPU as nproc and the model name from /proc/cpuinfo."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def bench_inputs(photos_dir, scratch):
    """List (label, path): the generated 12 MP JPEG and every real photo."""
    generated = scratch / "generated_12mp.jpg"
    generate_12mp(generated)
    inputs = [("generated 4032x3024 q92", generated)]
    if photos_dir and photos_dir.is_dir():
        for path in sorted(photos_dir.rglob("*")):
            if path.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"}:
                inputs.append((str(path.relative_to(photos_dir)), path))
    return inputs


def measure(label, path, scratch, iterations, rounds):
    """Run both sides on one input, alternating for `rounds` rounds so load
    from other processes hits both alike, and return a table row."""
    from PIL import Image

    with Image.open(path) as image:
        size = image.size
    rust_store = scratch / "rust"
    pillow_store = scratch / "pillow"
    for store in (rust_store, pillow_store):
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir()
    rust_runs, pillow_runs = [], []
    for _ in range(rounds):
        rust_runs.append(run_child([str(RUST_BIN), str(path), str(rust_store), str(iterations), str(LONG_EDGE)]))
        pillow_runs.append(
            run_child(
                [sys.executable, __file__, "--pillow-worker", str(path), str(pillow_store), str(iterations), str(LONG_EDGE)]
            )
        )
    return {
        "input": label,
        "input_size": f"{size[0]}x{size[1]}",
        "input_bytes": path.stat().st_size,
        "rust": combine(rust_runs),
        "pillow": combine(pillow_runs),
    }


def combine(runs):
    """Merge the child results of several rounds: median of the medians,
    the fastest run, the highest peak and the mean CPU time per run."""
    medians = sorted(run["median_ms"] for run in runs)
    merged = dict(runs[-1])
    merged["median_ms"] = medians[len(medians) // 2]
    merged["min_ms"] = min(run["min_ms"] for run in runs)
    merged["peak_mb"] = max(run["peak_mb"] for run in runs)
    merged["cpu_ms_per_run"] = sum(run["cpu_s"] for run in runs) * 1000 / sum(run["runs"] for run in runs)
    return merged


def table(rows, command, iterations, rounds):
    """Format the rows as the Markdown section for docs/BENCHMARKS.md."""
    from PIL import __version__ as pillow_version, features

    turbo = features.check_feature("libjpeg_turbo")
    lines = [
        SECTION,
        "",
        f"Command: `{command}`  ",
        "Inputs: a generated 4032x3024 JPEG (gradient, noise and shapes, quality 92) and every JPEG, PNG"
        " and WebP under PHOTOS_DIR.  ",
        f"Machine: {machine()}; Python {platform.python_version()}, Pillow {pillow_version}"
        f" (libjpeg-turbo: {turbo}); Rust release build of `photo_bench`.  ",
        f"Timing: each side runs in its own child process, one untimed warm-up then {iterations} timed"
        f" runs, and the two sides alternate for {rounds} rounds in the same session. Rust ms and"
        " Pillow ms are the median of the round medians, min is the fastest single run. Peak MB is the child's max RSS"
        " from GNU time (the Pillow figure includes the Python interpreter, about 10 MB). CPU ms is user+sys time per run"
        " averaged over all runs, warm-up included. Wall time includes 2 file fsyncs and 1 folder"
        " fsync per photo on both sides, which depend on the disk. Ratio is Rust ms / Pillow ms (below 1 means"
        " Rust is faster). Long edge 1600, quality 80, thumbnail 320.",
        "",
        "| input | size | input bytes | Rust ms | Pillow ms | ratio | Rust min | Pillow min | Rust CPU ms"
        " | Pillow CPU ms | Rust peak MB | Pillow peak MB | Rust output bytes | Pillow output bytes | output size |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        rust, pillow = row["rust"], row["pillow"]
        ratio = rust["median_ms"] / pillow["median_ms"]
        lines.append(
            f"| {row['input']} | {row['input_size']} | {row['input_bytes']} | {rust['median_ms']:.1f}"
            f" | {pillow['median_ms']:.1f} | {ratio:.2f} | {rust['min_ms']:.1f} | {pillow['min_ms']:.1f}"
            f" | {rust['cpu_ms_per_run']:.1f} | {pillow['cpu_ms_per_run']:.1f} | {rust['peak_mb']:.1f}"
            f" | {pillow['peak_mb']:.1f} | {rust['bytes']} | {pillow['bytes']}"
            f" | {rust['width']}x{rust['height']} |"
        )
    return "\n".join(lines) + "\n"


def write_section(section):
    """Replace or append the photo section of docs/BENCHMARKS.md."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        rest = text[end + 1 :] if end >= 0 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=None, help="folder of real photos to add (searched recursively)")
    parser.add_argument("--iterations", type=int, default=7, help="timed runs per input and side")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both sides per input")
    parser.add_argument("--write-doc", action="store_true", help="write the table into docs/BENCHMARKS.md")
    parser.add_argument("--pillow-worker", nargs=4, metavar=("INPUT", "STORE", "ITERATIONS", "LONG_EDGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.pillow_worker:
        input_path, store, iterations, long_edge = args.pillow_worker
        pillow_worker(argparse.Namespace(input=input_path, store=store, iterations=int(iterations), long_edge=int(long_edge)))
        return
    if not RUST_BIN.exists():
        sys.exit(f"missing {RUST_BIN}: run `cargo build --release -p redvest-core --example photo_bench` first")

    # The photo folder is machine-specific, so the table shows it as PHOTOS_DIR.
    shown_args = ["PHOTOS_DIR" if args.photos and arg == str(args.photos) else arg for arg in sys.argv[1:]]
    command = "python3 bench/photo/bench.py " + " ".join(shown_args)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        rows = []
        for label, path in bench_inputs(args.photos, scratch):
            rows.append(measure(label, path, scratch, args.iterations, args.rounds))
            print(f"{label}: rust {rows[-1]['rust']['median_ms']:.1f} ms, pillow {rows[-1]['pillow']['median_ms']:.1f} ms", file=sys.stderr)
    section = table(rows, command.strip(), args.iterations, args.rounds)
    print(section)
    if args.write_doc:
        write_section(section)


if __name__ == "__main__":
    main()
