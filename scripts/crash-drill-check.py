#!/usr/bin/env python3
"""Checks what scripts/crash-drill.sh left in its output directory.

    scripts/crash-drill-check.py target/crash-drill --kills 24 --final-status 0

Reads the stdout alerts of every run (alerts.N.jsonl), the webhook receiver's
log (received.jsonl), `redline export --history` (export.jsonl), `redline db
check` (db-check.txt), `alerts pending` and `alerts failed`, and the daemon logs
(redline.N.log). Prints one line per check and a RESULT line; exits 1 when a
check fails.

An alert is known by (event, id, version, detected_at): a version stored once has
one first-seen time, so the same alert printed again after a kill (delivery is at
least once) has the same key, while a version lost and detected again does not.
"""
import argparse
import glob
import json
import os
import re
from datetime import datetime


def key(alert):
    return (alert["event"], alert["id"], alert["version"], alert["detected_at"])


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_number(path):
    return int(re.search(r"\.(\d+)\.[a-z]+$", path).group(1))


def stdout_alerts(out):
    """Every alert line of every run, in run order, and the unreadable lines."""
    alerts, bad = [], 0
    for path in sorted(glob.glob(f"{out}/alerts.*.jsonl"), key=run_number):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    alerts.append(json.loads(line))
                except json.JSONDecodeError:
                    bad += 1  # a line cut short by SIGKILL
    return alerts, bad


def check_stored(alerts, export):
    """Alerted versions missing from the store, or stored with another identity."""
    rows = {row["id"]: row for row in export}
    missing, different = [], []
    for a in alerts:
        if a["event"] == "source":
            continue
        row = rows.get(a["id"])
        history = {v["number"]: v for v in (row or {}).get("history", [])}
        stored = history.get(a["version"])
        if stored is None:
            missing.append(a)
        elif a["event"] in ("new", "updated") and (
            instant(stored["first_seen"]) != instant(a["detected_at"]) or stored["title"] != a["title"]
        ):
            different.append(a)
    return missing, different


def check_webhook(emitted, received):
    """Compares the distinct alerts emitted with what the receiver accepted."""
    delivered = {}
    for r in received:
        if r["status"] == 200:
            delivered.setdefault(r["delivery"], set()).add(key(r["alert"]))
    got = set().union(*delivered.values()) if delivered else set()
    return {
        "ids": len(delivered),
        "shared_ids": sum(len(keys) > 1 for keys in delivered.values()),
        "never_delivered": len(emitted - got),
        "never_emitted": len(got - emitted),
        "bad_signatures": sum(not r["signature_ok"] for r in received),
        "requests": len(received),
    }


def panics(out):
    count = 0
    for path in glob.glob(f"{out}/redline.*.log"):
        with open(path, encoding="utf-8", errors="replace") as f:
            count += sum("panicked" in line for line in f)
    return count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--kills", type=int, required=True)
    p.add_argument("--final-status", type=int, required=True)
    args = p.parse_args()
    out = args.out
    failures = []

    def report(ok, line):
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
        if not ok:
            failures.append(line)

    runs = len(glob.glob(f"{out}/alerts.*.jsonl"))
    report(args.final_status == 0, f"kills: {args.kills} SIGKILLs, {runs} runs on one store; final run exit status {args.final_status}")
    db_check = open(f"{out}/db-check.txt", encoding="utf-8").read().strip()
    report(db_check.startswith("ok"), f"store opens; db check: {db_check.splitlines()[-1] if db_check else '(no output)'}")
    report(panics(out) == 0, f"panics in the daemon logs: {panics(out)}")

    alerts, bad = stdout_alerts(out)
    distinct = {}
    for a in alerts:
        distinct.setdefault(key(a), a)
    print(f"     stdout: {len(alerts)} alert lines in {runs} runs, {len(distinct)} distinct alerts, "
          f"{len(alerts) - len(distinct)} printed again after a kill (at least once), {bad} cut short")

    export = read_jsonl(f"{out}/export.jsonl")
    missing, different = check_stored(distinct.values(), export)
    versioned = sum(a["event"] != "source" for a in distinct.values())
    report(not missing and not different,
           f"alerted versions stored: {versioned - len(missing) - len(different)} of {versioned} "
           f"(missing {len(missing)}, stored with another first-seen time or title {len(different)}); "
           f"store holds {len(export)} articles, {sum(r['versions'] for r in export)} versions")
    for a in (missing + different)[:5]:
        print(f"     e.g. {a['event']} {a['id']} v{a['version']} {a['detected_at']} {a['url']}")

    news = {}
    for k in distinct:
        if k[0] == "new":
            news[k[1]] = news.get(k[1], 0) + 1
    twice = {i: n for i, n in news.items() if n > 1}
    report(not twice, f"articles announced as new more than once: {len(twice)} (of {len(news)} announced)")
    for i in list(twice)[:5]:
        print(f"     e.g. {i}: {twice[i]} distinct new alerts")

    hook = check_webhook(set(distinct), read_jsonl(f"{out}/received.jsonl"))
    ok = hook["ids"] == len(distinct) and not hook["never_delivered"] and not hook["never_emitted"] \
        and not hook["shared_ids"] and not hook["bad_signatures"]
    report(ok, f"webhook: {len(distinct)} distinct alerts emitted, {hook['ids']} distinct delivery ids delivered "
               f"({hook['requests']} requests), never delivered {hook['never_delivered']}, "
               f"delivered but never on stdout {hook['never_emitted']}, delivery ids with two alerts "
               f"{hook['shared_ids']}, bad signatures {hook['bad_signatures']}")
    pending = open(f"{out}/pending.txt", encoding="utf-8").read().strip()
    failed = open(f"{out}/failed.txt", encoding="utf-8").read().strip()
    report(not pending, f"alerts pending after the last run: {len(pending.splitlines())}")
    report(not failed, f"alerts failed: {len(failed.splitlines())}")
    print(f"RESULT {'ok' if not failures else 'FAILED'}: {len(failures)} checks failed")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
