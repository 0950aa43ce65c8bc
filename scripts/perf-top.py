#!/usr/bin/env python3
"""Top entries of a perf profile, by self and by inclusive share of samples.

    perf script -i perf.data | scripts/perf-top.py [COMMS] [MUST] [SKIP] [N_SELF] [N_INCL]

COMMS: comma-separated thread-name prefixes to keep ("" = all); MUST: a regex a
stack must contain to count (threads named sled* always count, as they do the
store's writes); SKIP: a regex that drops a stack. Symbols lose their hash suffix.
"""
import collections
import re
import sys

args = sys.argv[1:] + [""] * 5
keep = [c for c in args[0].split(",") if c]
must = re.compile(args[1]) if args[1] else None
skip = re.compile(args[2]) if args[2] else None
n_self = int(args[3] or 25)
n_incl = int(args[4] or 60)
selfc, incl = collections.Counter(), collections.Counter()
total = 0


def clean(sym):
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    return re.sub(r"::h[0-9a-f]{16}$", "", sym)[:150]


def flush(comm, frames):
    global total
    if not frames or (keep and not any(comm.startswith(k) for k in keep)):
        return
    text = "\n".join(frames)
    if must and not comm.startswith("sled") and not must.search(text):
        return
    if skip and skip.search(text):
        return
    total += 1
    selfc[frames[0]] += 1
    for f in set(frames):
        incl[f] += 1


comm, frames = None, []
for line in sys.stdin:
    if not line.strip():
        flush(comm, frames)
        comm, frames = None, []
    elif not line.startswith((" ", "\t")):
        comm, frames = line.split()[0], []
    else:
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            frames.append(clean(parts[1].rsplit(" (", 1)[0]))
flush(comm, frames)
print(f"samples {total}")
print("--- self")
for s, n in selfc.most_common(n_self):
    print(f"{100 * n / max(total, 1):5.1f}% {s}")
print("--- inclusive")
for s, n in incl.most_common(n_incl):
    print(f"{100 * n / max(total, 1):5.1f}% {s}")
