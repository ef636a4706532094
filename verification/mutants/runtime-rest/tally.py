#!/usr/bin/env python3
"""Final mutation verdicts for runsvdir's, svlogd's and PID 1's executors (docs/assurance.md,
"Runtime executors: runsvdir, svlogd, PID 1").

Input: the current mutant list (`cargo mutants --config .cargo/mutants-runtime-rest.toml
--list`, one name per line, on stdin) and the outcome lists kept beside this script, one
directory per run, oldest first (each holds caught/missed/timeout/unviable.txt as
cargo-mutants wrote them). A later run's verdict replaces an earlier one. Source edits
between runs move line numbers, so a mutant is matched by file, description (the name
without line:column) and its rank among equal descriptions in the file (ranked in the
whole mutant list of the tree the run ran on, `tree.txt`); mutants of code edited after
a run were re-checked by a later run, whose verdict wins.

Prints caught / missed / timeout / unviable, the score (caught / viable; a timeout is not
caught) and every mutant not caught.
"""
import os
import re
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = ["pass-stage", "pass-main", "recheck-stage", "recheck-joint", "recheck-svlogd-edits", "recheck-late"]


def key_list(names):
    """(file, description, rank) for each name, in order."""
    seen = defaultdict(int)
    out = []
    for n in names:
        m = re.match(r"^([^:]+):(\d+):(\d+): (.*)$", n)
        if not m:
            continue
        f, desc = m.group(1), m.group(4)
        k = (f, desc)
        out.append((n, (f, desc, seen[k])))
        seen[k] += 1
    return out


def load(run):
    d = os.path.join(HERE, run)
    verdicts = {}
    for v in ["caught", "missed", "timeout", "unviable"]:
        p = os.path.join(d, v + ".txt")
        if os.path.exists(p):
            for n in open(p).read().splitlines():
                if n.strip():
                    verdicts[n.strip()] = v
    # Ranks come from the whole mutant list of the tree the run ran on (`tree.txt`; for a
    # full pass its own `list.txt`), so a re-check of a few mutants ranks them rightly.
    tree = os.path.join(d, "tree.txt")
    order = [l.strip() for l in open(tree if os.path.exists(tree) else os.path.join(d, "list.txt"))]
    return {k: verdicts[n] for n, k in key_list(order) if n in verdicts}


current = [l.strip() for l in sys.stdin if l.strip()]
ckeys = key_list(current)
final = {}
for run in RUNS:
    if not os.path.isdir(os.path.join(HERE, run)):
        continue
    by_key = load(run)
    for n, k in ckeys:
        if k in by_key:
            final[n] = (by_key[k], run)
counts = defaultdict(int)
for n, _ in ckeys:
    counts[final.get(n, ("unjudged", ""))[0]] += 1
viable = counts["caught"] + counts["missed"] + counts["timeout"]
print(f"mutants {len(ckeys)}: caught {counts['caught']}, missed {counts['missed']}, timeout {counts['timeout']}, unviable {counts['unviable']}, unjudged {counts['unjudged']}")
if viable:
    print(f"score (caught / viable, timeouts not caught): {100 * counts['caught'] / viable:.1f} % ({counts['caught']}/{viable})")
per_file = defaultdict(lambda: defaultdict(int))
for n, (f, _, _) in ckeys:
    per_file[f][final.get(n, ("unjudged", ""))[0]] += 1
for f, c in sorted(per_file.items()):
    v = c["caught"] + c["missed"] + c["timeout"]
    print(f"  {f}: {sum(c.values())} mutants, {c['unviable']} unviable, caught {c['caught']}/{v}")
for n, _ in ckeys:
    v, run = final.get(n, ("unjudged", ""))
    if v not in ("caught", "unviable"):
        print(f"  {v:9} {n}   [{run}]")
