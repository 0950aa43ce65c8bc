#!/usr/bin/env python3
"""How long new articles took to be stored after newsfarm listed them.

    scripts/newsfarm-late-new.py target/newsfarm-medium [SECONDS]

Reads truth.json, progress.log (the time of each step) and redline.log (its
"new article" lines) from the run directory that scripts/newsfarm-score.sh
writes. Prints the median, p90 and p99 of the delay from the step that listed
an article to its "new article" log line, and how many took longer than
SECONDS (default 8, one step of `medium 60 8`: an edit at the next step may
then come before the first fetch). With fetch traces in the log
(RUST_LOG=...,redline::fetch=trace), prints for each late article the log lines
of its host in between, to see what held it up. For diagnosis only.
"""
import json
import re
import sys

run = sys.argv[1]
limit = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLOCK = re.compile(r"T(\d+):(\d+):([\d.]+)Z")


def seconds(h, m, s):
    return int(h) * 3600 + int(m) * 60 + float(s)


truth = json.load(open(f"{run}/truth.json"))
steps = {}
for line in open(f"{run}/progress.log"):
    m = re.match(r"step (\d+) (\d+):(\d+):(\d+)", line)
    if m:
        steps[int(m[1])] = seconds(m[2], m[3], m[4])

lines, stored = [], {}
for line in open(f"{run}/redline.log"):
    line = ANSI.sub("", line).rstrip()
    m = CLOCK.search(line)
    if not m:
        continue
    at = seconds(m[1], m[2], m[3])
    lines.append((at, line))
    url = re.search(r"url=(\S+)", line)
    if "new article" in line and url:
        ids = re.findall(r"\d{6}", url[1])
        if ids:
            stored.setdefault(ids[-1], at)

late = []
delays = []
for article in truth["articles"].values():
    step = article["first_listed_step"]
    if not step or step not in steps or article["id"] not in stored:
        continue
    delay = stored[article["id"]] - steps[step]
    delays.append(delay)
    if delay > limit:
        late.append((delay, article))
delays.sort()
n = len(delays)
if not n:
    sys.exit("no new article found after step 0")
print(
    f"new articles listed after step 0: {n}; stored after median {delays[n // 2]:.2f} s, "
    f"p90 {delays[int(n * 0.9)]:.2f} s, p99 {delays[int(n * 0.99)]:.2f} s; "
    f"later than {limit:g} s: {len(late)}"
)
outlets = truth["outlets"]
for delay, article in sorted(late, key=lambda x: -x[0]):
    host = outlets[article["outlet"]]["host"]
    listed = steps[article["first_listed_step"]]
    edits = [(v["step"], v["kind"]) for v in article["versions"]][1:4]
    print(
        f"== {article['id']} {article['outlet']} ({article['topic']}) listed at step "
        f"{article['first_listed_step']}, stored after {delay:.1f} s; next edits {edits}"
    )
    for at, line in lines:
        if listed - 1 <= at <= listed + delay + 0.1 and (f"{host}:" in line or f"{host}/" in line):
            text = re.sub(r"^\S+\s+", "", line)[:240]
            print(f"  {at - listed:6.2f} {text}")
