#!/usr/bin/env python3
"""List what a newsfarm run missed or over-reported, article by article.

    scripts/newsfarm-misses.py target/newsfarm-medium

Reads truth.json, alerts.jsonl and export.jsonl from the run directory that
scripts/newsfarm-score.sh writes, and prints on-topic updates with no alert
(by step and kind), duplicate update alerts, and articles whose stored version
count differs from the truth. For diagnosis; the score itself is newsfarm's.
"""
import collections
import json
import sys

run = sys.argv[1]
truth = json.load(open(f"{run}/truth.json"))
alerts = [json.loads(line) for line in open(f"{run}/alerts.jsonl") if line.strip()]
export = {}
for line in open(f"{run}/export.jsonl"):
    row = json.loads(line)
    export[row["url"]] = row
target = truth["target_topic"]

alerted = collections.defaultdict(list)
for a in alerts:
    if a.get("event") != "updated":
        continue
    alerted[a["url"]].append(a["version"])
    for copy in a.get("copies", []):
        alerted[copy["url"]].append(copy["version"])

def stored_url(url, art):
    return art.get("moved_to") if art.get("moved_to") in export else url

missed, duplicates, counts = [], [], []
for url, art in truth["articles"].items():
    updates = [v for v in art["versions"] if v["version"] > 1]
    seen = alerted.get(url, []) + alerted.get(art.get("moved_to", ""), [])
    dup = [v for v, n in collections.Counter(seen).items() if n > 1]
    if dup:
        duplicates.append((url, dup))
    if art["topic"] == target and len(set(seen)) < len(updates):
        steps = [(v["version"], v["step"], v["kind"]) for v in updates]
        missed.append((url, sorted(set(seen)), steps))
    row = export.get(stored_url(url, art))
    if row and row["versions"] != len(art["versions"]):
        counts.append((url, row["versions"], len(art["versions"])))

# Story updates (a wire version and the copy versions propagated from it) that
# more than one `updated` alert announced.
members = collections.defaultdict(set)
for url, art in truth["articles"].items():
    for v in art["versions"]:
        src = v.get("propagated_from")
        if src:
            members[(src["url"], src["version"])].add((url, v["version"]))
hits = collections.defaultdict(list)
for a in alerts:
    if a.get("event") != "updated":
        continue
    touched = {(a["url"], a["version"])} | {(c["url"], c["version"]) for c in a.get("copies", [])}
    for key, copies in members.items():
        if touched & (copies | {key}):
            hits[key].append((a["url"], a["version"], len(a.get("copies", []))))
split = {k: v for k, v in hits.items() if len(v) > 1}
print(f"story updates announced by more than one alert: {len(split)}")
for (url, version), alerted_by in split.items():
    print(f"  {url} v{version}: {alerted_by}")
print(f"on-topic articles with missed updates: {len(missed)}")
for url, seen, steps in missed:
    print(f"  {url}\n    alerted {seen}; truth {steps}")
print(f"duplicate update alerts: {len(duplicates)}")
for url, dup in duplicates:
    print(f"  {url} versions {dup}")
print(f"version counts differing: {len(counts)}")
for url, stored, true in counts:
    print(f"  {url} stored {stored} truth {true}")
