"""Run the fuzzer against live PyTorch: ``python -m tests.fuzz --cases 12000`` (from the repository root).

Prints the cases, mismatches, raises (minitorch raising where PyTorch works) and lenient cases (minitorch
working where PyTorch raises), by family, and the first cases of each kind; exits with status 1 when any
case is a mismatch or a raise.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from . import GENERATORS, Framework, classify, make_case, schedule
from .core import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="how many cases (default 2000)")
    parser.add_argument("--start", type=int, default=0, help="the first round's seed (default 0)")
    parser.add_argument("--only", nargs="*", default=None, help="generator or family names to run")
    parser.add_argument("--show", type=int, default=40, help="how many failing cases to print")
    parser.add_argument("--kinds", nargs="*", default=["mismatch", "raises", "lenient"],
                        help="which kinds of failing cases to print (mismatch, raises, lenient)")
    parser.add_argument("--case", default=None, help="NAME:SEED: run one case and print both outcomes")
    args = parser.parse_args(argv)
    if args.case:
        name, _, seed = args.case.partition(":")
        case = make_case(name, int(seed))
        mine, theirs = run(case, Framework("minitorch")), run(case, Framework("torch"))
        print(f"{case.note}\ninputs: {case.inputs}\nminitorch: {mine}\ntorch:     {theirs}\n{classify(mine, theirs)}")
        return 0
    names = sorted(GENERATORS)
    if args.only:
        names = [n for n in names if n in args.only or GENERATORS[n][0] in args.only]
        if not names:
            parser.error(f"--only: no generator or family named {args.only}")
    mt, torch = Framework("minitorch"), Framework("torch")
    counts: Counter = Counter()
    by_family: dict[str, Counter] = {}
    shown = 0
    groups: dict[tuple[str, str, str], int] = {}  # (kind, generator, op): count; the first of each is printed
    began = time.perf_counter()
    for name, seed in schedule(args.cases, args.start, names):
        family = GENERATORS[name][0]
        case = make_case(name, seed)
        kind, detail = classify(run(case, mt), run(case, torch))
        counts[kind] += 1
        by_family.setdefault(family, Counter())[kind] += 1
        if kind in args.kinds:
            group = (kind, name, case.note.split(" ")[0])
            groups[group] = groups.get(group, 0) + 1
            if groups[group] == 1 and shown < args.show:
                shown += 1
                print(f"{kind:8} {name}:{seed}  [{case.note}]  {detail}")
    total = sum(counts.values())
    print(f"\n{total} cases in {time.perf_counter() - began:.0f} s: {counts['mismatch']} mismatches, "
          f"{counts['raises']} raises where PyTorch works, {counts['lenient']} lenient (PyTorch raises)")
    if groups:
        print("by kind, generator and op:", ", ".join(f"{k[0]} {k[1]} {k[2]}: {v}" for k, v in sorted(groups.items())))
    for family in sorted(by_family):
        c = by_family[family]
        print(f"  {family:12} {sum(c.values()):6} cases  {c['mismatch']:4} mismatches  {c['raises']:4} raises  "
              f"{c['lenient']:4} lenient")
    return 1 if counts["mismatch"] or counts["raises"] else 0


if __name__ == "__main__":
    sys.exit(main())
