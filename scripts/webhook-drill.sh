#!/usr/bin/env bash
# Delivery drill: redline against newsfarm with a webhook receiver that is down
# for the first 2 minutes and then answers 500 to 30 % of requests; redline is
# killed with SIGKILL mid-run and started again.
#   scripts/webhook-drill.sh [SCENARIO] [STEPS] [SECONDS_PER_STEP] [KILL_AT_STEP]
# Ports: newsfarm on NEWSFARM_PORT (8840), the receiver on HOOK_PORT (8870).
# At the end it waits until the webhook queue is empty, stops redline and checks
# the receiver's log against every alert redline wrote to stdout: each received,
# one alert per delivery id, per-story order, every signature valid.
# Output files land in target/webhook-drill/.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-medium}
steps=${2:-40}
pace=${3:-8}
kill_at=${4:-20}
port=${NEWSFARM_PORT:-8840}
hook_port=${HOOK_PORT:-8870}
farm=${NEWSFARM_DIR:-../shared/newsfarm}
out=target/webhook-drill
rm -rf "$out" && mkdir -p "$out"
sed "s/127.0.0.1:8800/127.0.0.1:$port/" config/newsfarm.toml >"$out/config.toml"
export REDLINE_HOOK_SECRET=drill-secret-$RANDOM

cargo build --release --quiet
python3 "$farm/newsfarm.py" serve --scenario "$scenario" --port "$port" --quiet --latency-ms 20-60 \
  2>"$out/newsfarm.log" &
farm_pid=$!
python3 scripts/webhook-receiver.py --port "$hook_port" --down-for 120 --fail-rate 0.3 \
  --secret-env REDLINE_HOOK_SECRET --log "$out/received.jsonl" >"$out/receiver.log" 2>&1 &
hook_pid=$!
trap 'kill $farm_pid $hook_pid 2>/dev/null || true; pkill -KILL -f "redline run --config $out" 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/feeds.txt" >/dev/null; do sleep 0.2; done

redline=(./target/release/redline)
start_redline() {
  "${redline[@]}" run --config "$out/config.toml" --data-dir "$out/data" \
    --webhook "http://127.0.0.1:$hook_port/hook" --webhook-secret-env REDLINE_HOOK_SECRET \
    >>"$out/alerts.jsonl" 2>>"$out/redline.log" &
  redline_pid=$!
}
start_redline
sleep "$pace"
for step in $(seq 1 "$steps"); do
  curl -sS --retry 5 --retry-all-errors -X POST "http://127.0.0.1:$port/_control/advance?steps=1" >/dev/null
  if [ "$step" -eq "$kill_at" ]; then
    kill -KILL "$redline_pid"
    wait "$redline_pid" 2>/dev/null || true
    echo "step $step: redline killed with SIGKILL and started again" | tee -a "$out/progress.log"
    start_redline
  fi
  sleep "$pace"
done

# Queued for the webhook, or still held for their story window (released later).
pending() { "${redline[@]}" alerts pending --limit 1000000 --config "$out/config.toml" --data-dir "$out/data" | grep -c -e ' webhook:' -e '^held until' || true; }
for _ in $(seq 1 360); do
  left=$(pending)
  echo "$(date +%T) webhook alerts pending: $left" >>"$out/progress.log"
  [ "$left" -eq 0 ] && break
  sleep 5
done
kill -TERM "$redline_pid"
wait "$redline_pid"
"${redline[@]}" alerts failed --config "$out/config.toml" --data-dir "$out/data" >"$out/failed.txt"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
emitted = [json.loads(l) for l in open(f"{out}/alerts.jsonl") if l.strip()]
received = [json.loads(l) for l in open(f"{out}/received.jsonl") if l.strip()]
key = lambda a: (a["event"], a["id"], a["version"])
want = {key(a) for a in emitted}
ok = [r for r in received if r["status"] == 200]
got = {key(r["alert"]) for r in ok}
by_id = {}
for r in received:
    by_id.setdefault(r["delivery"], set()).add(json.dumps(r["alert"], sort_keys=True))
first, order_breaks = {}, 0
for r in ok:
    first.setdefault(r["delivery"], r)
last_per_story = {}
for d, r in sorted(first.items(), key=lambda kv: kv[1]["t"]):
    story = r["alert"].get("cluster") or r["alert"]["id"]
    if last_per_story.get(story, "") > d:
        order_breaks += 1
    last_per_story[story] = max(d, last_per_story.get(story, ""))
failed = open(f"{out}/failed.txt").read().strip()
print(f"alerts written to stdout {len(emitted)} (distinct {len(want)})")
print(f"webhook requests {len(received)}, answered 500 {len(received) - len(ok)}, delivered {len(ok)}, distinct delivery ids {len(first)}")
print(f"alerts never received {len(want - got)}; received but never emitted {len(got - want)}")
print(f"delivery ids carrying more than one alert {sum(len(v) > 1 for v in by_id.values())}")
print(f"per-story order breaks {order_breaks}")
print(f"bad signatures {sum(not r['signature_ok'] for r in received)}")
print(f"failed list: {'empty' if not failed else failed}")
PY
grep -E "killed|pending: 0" "$out/progress.log" | head -3
