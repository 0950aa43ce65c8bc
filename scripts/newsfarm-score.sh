#!/usr/bin/env bash
# One scored round of redline against newsfarm, with the release binary:
#   scripts/newsfarm-score.sh [SCENARIO] [STEPS] [SECONDS_PER_STEP]
# Serves SCENARIO on port NEWSFARM_PORT (default 8800; extra serve flags in
# NEWSFARM_SERVE_ARGS, e.g. "--latency-ms 20-60"), runs `redline run` with
# config/newsfarm.toml (its port rewritten when NEWSFARM_PORT is set),
# advances the clock STEPS times, stops redline with SIGTERM, exports, and prints
# newsfarm's politeness verdict and score, the articles ingested against the
# truth, any U+FFFD in text from legacy-charset outlets, and `redline db stats`.
# Output files land in target/newsfarm-SCENARIO/.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-small}
steps=${2:-24}
pace=${3:-5}
farm=${NEWSFARM_DIR:-../shared/newsfarm}
port=${NEWSFARM_PORT:-8800}
out=target/newsfarm-$scenario
rm -rf "$out" && mkdir -p "$out"
config="$out/newsfarm.toml"
sed "s#127.0.0.1:8800#127.0.0.1:$port#" config/newsfarm.toml >"$config"

cargo build --release --quiet
# shellcheck disable=SC2086
python3 "$farm/newsfarm.py" serve --scenario "$scenario" --port "$port" --quiet ${NEWSFARM_SERVE_ARGS:-} \
  2>"$out/newsfarm.log" &
farm_pid=$!
trap 'kill $farm_pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/feeds.txt" >/dev/null; do sleep 0.2; done

/usr/bin/time -v -o "$out/time.txt" ./target/release/redline run --config "$config" \
  --data-dir "$out/data" >"$out/alerts.jsonl" 2>"$out/redline.log" &
redline_pid=$!
sleep "$pace"
for step in $(seq 1 "$steps"); do
  curl -sS --retry 5 --retry-all-errors -X POST "http://127.0.0.1:$port/_control/advance?steps=1" >/dev/null \
    || echo "advance to step $step failed" >&2
  echo "step $step $(date +%T)" >>"$out/progress.log"
  sleep "$pace"
done
sleep $((pace * 3))   # a few revisit rounds for the last updates
# SIGTERM to redline itself (its parent is /usr/bin/time), then wait for both.
pkill -TERM -P "$redline_pid" -x redline
wait "$redline_pid" || { echo "redline exited with an error" >&2; exit 1; }

curl -sf "http://127.0.0.1:$port/_truth" >"$out/truth.json"
curl -sf "http://127.0.0.1:$port/_stats" >"$out/stats.json"
./target/release/redline export --config "$config" --data-dir "$out/data" --with-text >"$out/export.jsonl"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
truth = json.load(open(f"{out}/truth.json"))
rows = [json.loads(l) for l in open(f"{out}/export.jsonl")]
stored = {r["url"] for r in rows}
articles = truth["articles"]
print(f"articles in truth {len(articles)}, stored {len(stored)}, truth articles stored {len(set(articles) & stored)}")
legacy = {o for o, p in truth["outlets"].items() if p.get("charset", "utf-8") != "utf-8"}
legacy_rows = [r for r in rows if r["url"].split("/")[3] in legacy]
bad = [r["url"] for r in legacy_rows if "\ufffd" in r.get("text", "")]
print(f"legacy-charset outlets {len(legacy)}, their articles {len(legacy_rows)}, with U+FFFD {len(bad)}")
PY
python3 "$farm/newsfarm.py" politeness --stats "$out/stats.json" --max-inflight-per-host 1 --min-conditional-share 0.95 || true
python3 "$farm/newsfarm.py" score --truth "$out/truth.json" --alerts "$out/alerts.jsonl" --export "$out/export.jsonl"
grep -E "Maximum resident|Elapsed|User time|System time" "$out/time.txt"
./target/release/redline db stats --config "$config" --data-dir "$out/data"
./target/release/redline db check --config "$config" --data-dir "$out/data" || true
du -sb "$out/data"
