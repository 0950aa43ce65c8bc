#!/usr/bin/env bash
# End-to-end benchmark of the release redline against newsfarm:
#   scripts/bench-e2e.sh [SCENARIO] [STEPS] [SECONDS_PER_STEP]
# Serves SCENARIO (default large) with --no-faults on NEWSFARM_PORT (default 8820),
# runs `redline run` with config/newsfarm.toml (its port replaced), and prints:
# the first full ingest (articles/s until every article of the step-0 truth is
# stored, CPU ms per article, peak RSS), the latency from each clock advance to
# the `updated` alert for the updates it published (median, p90, p99), the idle
# cost of feed polls when nothing changes (CPU ms per poll, 304 share, store
# bytes written), RSS per step, and the store's bytes on disk against the bytes
# of the records it holds. Details: scripts/bench_e2e.py. Output files land in
# target/bench-e2e-SCENARIO/. Env: NEWSFARM_DIR, NEWSFARM_PORT, IDLE_WAIT, IDLE_SECONDS,
# CONFIG, INGEST_ONLY, PERF, PERF_IDLE, REDLINE_BIN, OUT (see scripts/bench_e2e.py).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin redline --example store-bytes
exec python3 scripts/bench_e2e.py "${1:-large}" "${2:-20}" "${3:-6}"
