"""End-to-end benchmark of redline against newsfarm (run it through scripts/bench-e2e.sh).

Phases, all on one machine (newsfarm and redline share the cores):

1. ingest: newsfarm at step 0, redline started on an empty store; timed until the
   daemon's `articles_new` metric reaches the number of articles in the step-0
   truth. Prints articles/s, redline's CPU ms per article (utime+stime from
   /proc), newsfarm's CPU in the same window, and peak RSS (VmHWM).
2. latency: the clock is advanced STEPS times, one step every PACE seconds; each
   `updated` alert is matched by (URL, version) to the truth version it reports,
   and its `detected_at` is compared with the wall time the step was advanced.
   The same for `new` alerts of articles first listed at a step >= 1. Both again for
   the articles on the truth's target topic alone.
3. idle: no advancing; after the revisit window of the last new articles has
   passed (IDLE_WAIT seconds, default the config's revisit_stop_after + 15 s), a window
   of IDLE_SECONDS (default 30) in which feeds answer 304: CPU ms per feed poll,
   304 share, and bytes the daemon wrote to disk (/proc/PID/io write_bytes).
4. disk: redline stopped with SIGTERM; `du` of the data directory against the
   key and value bytes of every sled tree (examples/store-bytes).

PERF=FREQ records a perf profile of redline during the ingest (OUT/perf.data);
PERF_IDLE=FREQ one during the idle window (OUT/perf-idle.data);
INGEST_ONLY=1 stops after the ingest; CONFIG=FILE replaces config/newsfarm.toml;
REDLINE_BIN=PATH runs another build (a baseline); OUT=DIR moves the output files.
"""

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime

SCENARIO, STEPS, PACE = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
PORT = int(os.environ.get("NEWSFARM_PORT", "8820"))
FARM = os.environ.get("NEWSFARM_DIR", "../shared/newsfarm")
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", "30"))
OUT = os.environ.get("OUT", f"target/bench-e2e-{SCENARIO}")
CONTROL = f"http://127.0.0.1:{PORT}"
TICK = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def get(path):
    with urllib.request.urlopen(CONTROL + path, timeout=60) as response:
        return response.read()


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def write_bytes(pid):
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def metrics(sock_path):
    """The daemon's Prometheus metrics, summed over labels, by name."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: redline\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    body = b"".join(chunks).split(b"\r\n\r\n", 1)[-1].decode()
    values = {}
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        labels = ""
        if "{" in name:
            name, labels = name.split("{", 1)
        values[name] = values.get(name, 0.0) + float(value)
        if labels:
            values[f"{name}{{{labels}"] = float(value)
    return values


def url_key(url):
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    return path.rstrip("/")


def parse_time(text):
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def percentiles(values):
    if not values:
        return "none"
    values = sorted(values)

    def at(q):
        return values[min(len(values) - 1, int(q * len(values)))]

    return (
        f"n {len(values)} median {statistics.median(values):.2f} s "
        f"p90 {at(0.90):.2f} s p99 {at(0.99):.2f} s max {values[-1]:.2f} s"
    )


def revisit_span(config):
    """The config's revisit_stop_after in seconds ("90s", "3m", "1h"; default 2m)."""
    found = re.search(r'revisit_stop_after\s*=\s*"(\d+)([smh])"', config)
    if not found:
        return 120
    return int(found.group(1)) * {"s": 1, "m": 60, "h": 3600}[found.group(2)]


def record(freq, name, pid):
    """A perf profile of `pid` at `freq` Hz into OUT/name, when `freq` is set."""
    if not freq:
        return None
    return subprocess.Popen(["perf", "record", "-F", freq, "--call-graph", "dwarf,16384", "-o",
                             os.path.join(OUT, name), "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(perf):
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait()


def main():
    # SIGTERM unwinds like Ctrl-C, so that newsfarm and redline are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.makedirs(OUT, exist_ok=True)
    data = os.path.join(OUT, "data")
    subprocess.run(["rm", "-rf", data], check=True)
    farm = subprocess.Popen(
        ["python3", f"{FARM}/newsfarm.py", "serve", "--scenario", SCENARIO,
         "--port", str(PORT), "--no-faults", "--quiet"],
        stderr=open(os.path.join(OUT, "newsfarm.log"), "w"),
    )
    redline = None
    try:
        while True:
            try:
                get("/feeds.txt")
                break
            except OSError:
                time.sleep(0.2)
        truth0 = json.loads(get("/_truth"))
        target = len(truth0["articles"])
        config = open(os.environ.get("CONFIG", "config/newsfarm.toml")).read()
        idle_wait = float(os.environ.get("IDLE_WAIT", revisit_span(config) + 15))
        config = config.replace("127.0.0.1:8800", f"127.0.0.1:{PORT}")
        config_path = os.path.join(OUT, "newsfarm.toml")
        open(config_path, "w").write(config)
        alerts_path = os.path.join(OUT, "alerts.jsonl")
        log(f"newsfarm {SCENARIO} on port {PORT}: {target} articles at step 0")

        # 1. ingest
        farm_cpu0 = cpu_seconds(farm.pid)
        started = time.time()
        redline = subprocess.Popen(
            [os.environ.get("REDLINE_BIN", "./target/release/redline"), "run", "--config", config_path,
             "--data-dir", data],
            stdout=open(alerts_path, "w"),
            stderr=open(os.path.join(OUT, "redline.log"), "w"),
        )
        sock = os.path.join(data, "redline.sock")
        perf = record(os.environ.get("PERF"), "perf.data", redline.pid)
        stored, last_progress, last_count, t95 = 0, time.time(), -1, None
        while True:
            time.sleep(0.25)
            try:
                stored = int(metrics(sock).get("redline_articles_new_total", 0))
            except OSError:
                continue
            now = time.time()
            if t95 is None and stored >= 0.95 * target:
                t95 = now - started
            if stored != last_count:
                last_count, last_progress = stored, now
            if stored >= target or now - last_progress > 20:
                break
        elapsed = time.time() - started
        stop(perf)
        ingest_cpu = cpu_seconds(redline.pid)
        farm_cpu = cpu_seconds(farm.pid) - farm_cpu0
        hwm_ingest = status_kb(redline.pid, "VmHWM") / 1024
        print(f"ingest: {stored} of {target} step-0 articles stored in {elapsed:.1f} s: "
              f"{stored / elapsed:.0f} articles/s (95% after {t95 or float('nan'):.1f} s)")
        print(f"ingest: redline CPU {ingest_cpu:.1f} s = {1000 * ingest_cpu / max(stored, 1):.2f} ms "
              f"per article; newsfarm CPU {farm_cpu:.1f} s; peak RSS {hwm_ingest:.0f} MiB")

        if os.environ.get("INGEST_ONLY"):
            return

        # 2. latency
        advanced = {}
        rss = []
        for step in range(1, STEPS + 1):
            advanced[step] = time.time()
            req = urllib.request.Request(CONTROL + "/_control/advance?steps=1", method="POST")
            urllib.request.urlopen(req, timeout=60).read()
            time.sleep(PACE)
            rss.append(status_kb(redline.pid, "VmRSS") / 1024)
        log(f"advanced {STEPS} steps; waiting {idle_wait:.0f} s for the revisits to end")
        rss_steps = " ".join(f"{r:.0f}" for r in rss)
        print(f"memory: RSS after each step (MiB): {rss_steps}")

        # 3. idle
        deadline = time.time() + idle_wait
        while time.time() < deadline:
            time.sleep(10)
            rss.append(status_kb(redline.pid, "VmRSS") / 1024)
        perf = record(os.environ.get("PERF_IDLE"), "perf-idle.data", redline.pid)
        m0, c0, w0 = metrics(sock), cpu_seconds(redline.pid), write_bytes(redline.pid)
        time.sleep(IDLE_SECONDS)
        m1, c1, w1 = metrics(sock), cpu_seconds(redline.pid), write_bytes(redline.pid)

        stop(perf)

        def delta(name):
            return m1.get(name, 0) - m0.get(name, 0)

        polls = delta("redline_feeds_polled_total")
        not_modified = delta("redline_not_modified_total")
        responses = delta("redline_http_responses_total")
        print(f"idle: {IDLE_SECONDS:.0f} s window: {polls:.0f} feed polls, {responses:.0f} responses, "
              f"{not_modified:.0f} of them 304 ({100 * not_modified / max(responses, 1):.1f}%); "
              f"CPU {1000 * (c1 - c0):.0f} ms = {1000 * (c1 - c0) / max(polls, 1):.3f} ms per feed poll; "
              f"disk writes {w1 - w0} bytes")

        truth = json.loads(get("/_truth"))
        stats = json.loads(get("/_stats"))
        json.dump(stats, open(os.path.join(OUT, "stats.json"), "w"))
        hwm = status_kb(redline.pid, "VmHWM") / 1024
        total_cpu = cpu_seconds(redline.pid)
        redline.send_signal(signal.SIGTERM)
        redline.wait(timeout=120)
        redline = None

        by_path = {}
        for url, article in truth["articles"].items():
            by_path[url_key(url)] = article
            for alias in article.get("aliases", []) + [article.get("moved_to") or ""]:
                if alias:
                    by_path.setdefault(url_key(alias), article)
        update_lat, new_lat, expected_updates = [], [], 0
        # The same, for the articles on the target topic (those an alert is for).
        target_topic = truth.get("target_topic")
        update_on, new_on = [], []
        for article in truth["articles"].values():
            expected_updates += sum(1 for v in article["versions"] if 1 <= v["step"] <= STEPS and v["version"] > 1)
        seen = set()
        for line in open(alerts_path):
            try:
                alert = json.loads(line)
            except ValueError:
                log(f"not an alert: {line[:80]!r}")
                continue
            article = by_path.get(url_key(alert["url"]))
            if article is None:
                continue
            detected = parse_time(alert["detected_at"])
            if alert["event"] == "updated":
                version = next((v for v in article["versions"] if v["version"] == alert["version"]), None)
                key = (article["id"], alert["version"])
                if version and version["step"] in advanced and key not in seen:
                    seen.add(key)
                    update_lat.append(detected - advanced[version["step"]])
                    if article.get("topic") == target_topic:
                        update_on.append(update_lat[-1])
            elif alert["event"] == "new" and article["first_listed_step"] in advanced:
                new_lat.append(detected - advanced[article["first_listed_step"]])
                if article.get("topic") == target_topic:
                    new_on.append(new_lat[-1])
        print(f"latency, update published -> updated alert ({len(update_lat)} of {expected_updates} "
              f"truth updates at steps 1-{STEPS} matched by URL and version): {percentiles(update_lat)}")
        print(f"latency, article listed -> new alert: {percentiles(new_lat)}")
        print(f"latency on topic {target_topic}: updates {percentiles(update_on)}; "
              f"new articles {percentiles(new_on)}")
        print(f"memory: RSS every 10 s while idle (MiB): {' '.join(f'{r:.0f}' for r in rss[STEPS:])}; "
              f"peak RSS over the run {hwm:.0f} MiB; redline CPU over the run {total_cpu:.1f} s")

        # 4. disk
        du = int(subprocess.run(["du", "-sb", data], capture_output=True, text=True).stdout.split()[0])
        trees = json.loads(subprocess.run(["./target/release/examples/store-bytes", data],
                                          capture_output=True, text=True, check=True).stdout)
        held = sum(t["key_bytes"] + t["value_bytes"] for t in trees.values())
        articles = trees.get("articles", {}).get("entries", 0)
        versions = trees.get("versions", {}).get("entries", 0)
        print(f"disk: data dir {du / 2**20:.1f} MiB, records held {held / 2**20:.1f} MiB "
              f"(on disk / held = {du / max(held, 1):.2f}); {articles} articles, {versions} versions: "
              f"{du / max(articles, 1):.0f} bytes on disk per article, {du / max(versions, 1):.0f} per version")
        for name, t in sorted(trees.items()):
            print(f"disk:   tree {name:<12} {t['entries']:>7} entries {(t['key_bytes'] + t['value_bytes']) / 2**20:8.2f} MiB")
    finally:
        if redline is not None:
            redline.kill()
        farm.terminate()
        farm.wait()


main()
