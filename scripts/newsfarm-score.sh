#!/usr/bin/env bash
# One scored round of redline against newsfarm, with the release binary:
#   scripts/newsfarm-score.sh [SCENARIO] [STEPS] [SECONDS_PER_STEP]
# Serves SCENARIO on port 8800, runs `redline run --config config/newsfarm.toml`,
# advances the clock STEPS times, stops redline with SIGTERM, exports, and
# prints newsfarm's score. Output files land in target/newsfarm-SCENARIO/.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-small}
steps=${2:-24}
pace=${3:-4}
farm=${NEWSFARM_DIR:-../shared/newsfarm}
out=target/newsfarm-$scenario
rm -rf "$out" && mkdir -p "$out"

cargo build --release --quiet
python3 "$farm/newsfarm.py" serve --scenario "$scenario" --port 8800 --quiet &
farm_pid=$!
trap 'kill $farm_pid 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:8800/feeds.txt >/dev/null; do sleep 0.2; done

./target/release/redline run --config config/newsfarm.toml --data-dir "$out/data" \
  >"$out/alerts.jsonl" 2>"$out/redline.log" &
redline_pid=$!
sleep "$pace"
for _ in $(seq 1 "$steps"); do
  curl -sf -X POST 'http://127.0.0.1:8800/_control/advance?steps=1' >/dev/null
  sleep "$pace"
done
sleep $((pace * 3))   # a few revisit rounds for the last updates
kill -TERM "$redline_pid"
wait "$redline_pid"

curl -sf http://127.0.0.1:8800/_truth >"$out/truth.json"
./target/release/redline export --config config/newsfarm.toml --data-dir "$out/data" >"$out/export.jsonl"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
truth = json.load(open(f"{out}/truth.json"))["articles"]
stored = {json.loads(l)["url"] for l in open(f"{out}/export.jsonl")}
print(f"articles in truth {len(truth)}, stored {len(stored)}, truth articles stored {len(set(truth) & stored)}")
PY
python3 "$farm/newsfarm.py" score --truth "$out/truth.json" --alerts "$out/alerts.jsonl" --export "$out/export.jsonl"
