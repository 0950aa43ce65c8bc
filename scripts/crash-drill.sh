#!/usr/bin/env bash
# Crash drill: redline ingests newsfarm while it is killed with SIGKILL at random
# moments and started again on the same store, then a last run drains it.
#   scripts/crash-drill.sh [SCENARIO] [KILLS] [EARLY_KILLS] [SEED]
# newsfarm starts at step START_STEP (default 20: about 1,400 articles on medium),
# so that the first full ingest is long; the first EARLY_KILLS (default 8) kills
# fall within 0.3-2.5 s of a start, without moving newsfarm's clock: inside that
# ingest, when writes are densest.
# Each later run advances the clock one step after a random 0-2 s and is killed
# 1-6 s later (revisits, new articles, story windows). The last run advances
# 3 more steps, waits until every alert is delivered to the webhook receiver
# (scripts/webhook-receiver.py, answering 500 to 10 % of requests) and stops
# with SIGTERM. scripts/crash-drill-check.py then checks the store and the alerts.
# Ports: newsfarm on NEWSFARM_PORT (8830), the receiver on HOOK_PORT (8831).
# Output files land in target/crash-drill/.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-medium}
kills=${2:-24}
early=${3:-8}
seed=${4:-$RANDOM}
port=${NEWSFARM_PORT:-8830}
hook_port=${HOOK_PORT:-8831}
start_step=${START_STEP:-20}
farm=${NEWSFARM_DIR:-../shared/newsfarm}
out=target/crash-drill
rm -rf "$out" && mkdir -p "$out"
sed "s/127.0.0.1:8800/127.0.0.1:$port/" config/newsfarm.toml >"$out/config.toml"
export REDLINE_HOOK_SECRET=drill-secret-$seed
RANDOM=$seed

cargo build --release --quiet
python3 "$farm/newsfarm.py" serve --scenario "$scenario" --port "$port" --quiet --latency-ms 20-60 \
  --start-step "$start_step" \
  2>"$out/newsfarm.log" &
farm_pid=$!
python3 scripts/webhook-receiver.py --port "$hook_port" --fail-rate 0.1 --seed "$seed" \
  --secret-env REDLINE_HOOK_SECRET --log "$out/received.jsonl" >"$out/receiver.log" 2>&1 &
hook_pid=$!
redline_pid=
trap 'kill $farm_pid $hook_pid 2>/dev/null || true; [ -z "$redline_pid" ] || kill -KILL "$redline_pid" 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/feeds.txt" >/dev/null; do sleep 0.2; done
until curl -s -o /dev/null "http://127.0.0.1:$hook_port/"; do sleep 0.2; done

redline=(./target/release/redline --config "$out/config.toml" --data-dir "$out/data")
run=0
start_redline() {
  run=$((run + 1))
  "${redline[@]}" run --webhook "http://127.0.0.1:$hook_port/hook" \
    --webhook-secret-env REDLINE_HOOK_SECRET \
    >"$out/alerts.$run.jsonl" 2>"$out/redline.$run.log" &
  redline_pid=$!
}
# A random delay between $1 and $2 seconds, to the millisecond.
pause() { sleep "$(awk -v lo="$1" -v hi="$2" -v r="$RANDOM$RANDOM" 'BEGIN { srand(r); printf "%.3f", lo + rand() * (hi - lo) }')"; }
advance() { curl -sS --retry 5 --retry-all-errors -X POST "http://127.0.0.1:$port/_control/advance?steps=1" >/dev/null; }
articles() { cat "$out"/alerts.*.jsonl | grep -c '"event":"new"' || true; }

for kill in $(seq 1 "$kills"); do
  start_redline
  if [ "$kill" -le "$early" ]; then
    pause 0.3 2.5
  else
    pause 0 2
    advance
    pause 1 6
  fi
  kill -KILL "$redline_pid"
  wait "$redline_pid" 2>/dev/null || true
  echo "kill $kill: run $run killed with SIGKILL ($(articles) new alerts so far)" | tee -a "$out/progress.log"
done

start_redline
for _ in 1 2 3; do
  pause 4 6
  advance
done
# Queued for the webhook, or still held for their story window (released later).
pending() { "${redline[@]}" alerts pending --limit 1000000 | grep -c -e ' webhook:' -e '^held until' || true; }
for _ in $(seq 1 120); do
  sleep 5
  left=$(pending)
  echo "$(date +%T) webhook alerts pending: $left" >>"$out/progress.log"
  [ "$left" -eq 0 ] && break
done
kill -TERM "$redline_pid"
status=0
wait "$redline_pid" || status=$?
redline_pid=
echo "final run $run stopped with SIGTERM, exit status $status" | tee -a "$out/progress.log"

"${redline[@]}" db check >"$out/db-check.txt" 2>&1 || true
"${redline[@]}" export --history >"$out/export.jsonl"
"${redline[@]}" alerts pending --limit 1000000 >"$out/pending.txt"
"${redline[@]}" alerts failed >"$out/failed.txt"
python3 scripts/crash-drill-check.py "$out" --kills "$kills" --final-status "$status"
