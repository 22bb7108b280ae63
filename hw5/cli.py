"""The command line: ``python -m hw5 list | run | report | quick``.

    python -m hw5 list
    python -m hw5 run fig1a fig2 --epochs 5 --jobs 2     # a figure's name runs all its panels
    python -m hw5 run all --cluster tcp://HOST:8786       # on a Dask cluster (see hw5.cluster)
    python -m hw5 run fig3a --resume
    python -m hw5 report
    python -m hw5 quick                                   # `make run`: a short version of everything
"""
from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import minitorch as mt
from hw5.cluster import ClusterError, ClusterSpec, SchedulerUnreachable, parse_cluster
from hw5.data import DataDamaged, DataUnavailable
from hw5.experiments import (
    EXPERIMENTS,
    FIGURES,
    PREFIX_OF,
    RESUMABLE,
    SAME_AS,
    Config,
    get_experiment,
    parse_assignment,
    run_name,
    seed_runs,
    seeded_name,
    split_seed,
    with_overrides,
)
from hw5.process import INTERRUPTED, SWEEP_TASK, thread_report
from hw5.results import saved_config
from hw5.runfiles import CONFIG, RunFiles, RunStateError, find_runs
from hw5.train import check_not_clobbering, train

# `quick`: fig. 1's three networks with the assignment's settings, but for 2 epochs instead of 50.
QUICK_RUNS = ["fig1a", "fig1b", "fig1d"]
QUICK_EPOCHS = 2

# run's options that are shorthands for `--set field=value`
SHORTHANDS = ("epochs", "batch_size", "lr", "device", "data_dir", "dataset", "seed")


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


class SetupError(Exception):
    """Something this machine lacks (a GPU): reported in one line, exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse without prefix matching (``--ep`` is not ``--epochs``), and a hint for ``--batch_size``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def options(self) -> set[str]:
        """Every option string of this parser and its subcommands."""
        known: set[str] = set()
        for action in self._actions:
            known.update(action.option_strings)
            for sub in (action.choices or {}).values() if isinstance(action, argparse._SubParsersAction) else ():
                known.update(sub.options())
        return known

    def error(self, message: str) -> NoReturn:
        known = self.options()
        for word in message.split():
            option = word.split("=", 1)[0]
            if option.startswith("--") and "_" in option and option.replace("_", "-") in known:
                message += f" (did you mean {option.replace('_', '-')}?)"
                break
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m hw5", description="The hw5 CIFAR-10 experiments on minitorch.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    commands.add_parser("list", help="the registered experiments and how far each has run").add_argument(
        "--runs-dir", default="runs")

    run = commands.add_parser("run", help="train experiments (by name, or a figure's name for all its panels)")
    run.add_argument("names", nargs="+", metavar="NAME",
                     help="fig1a ... fig3d (fig3a-seed1: with seed 1), fig1/fig2/fig3, all, or seeds (every "
                          "seeded panel's seeds 1 and 2)")
    run.add_argument("--epochs", type=int, help="default: the experiment's (50, 150 or 200)")
    run.add_argument("--batch-size", type=int, help="default: the experiment's (4, 32 or 256)")
    run.add_argument("--lr", type=float, help="default: the experiment's (0.01 for most)")
    run.add_argument("--device", choices=["cpu", "cuda"], help="default: cpu")
    run.add_argument("--data-dir", help="the folder holding cifar-10-batches-py "
                                        "(default: $MINITORCH_DATA or ~/.cache/minitorch)")
    run.add_argument("--dataset", choices=["cifar10", "synthetic", "auto"],
                     help="auto (default): CIFAR-10 if found or downloadable, else the synthetic set")
    run.add_argument("--seed", type=int, help="initial weights and data order (default: 0)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override any config field, e.g. --set train_size=5000 (repeatable)")
    run.add_argument("--jobs", type=int, help="experiments to run at once, on a local Dask cluster of this many "
                                              "single-threaded workers, each experiment in its own process")
    run.add_argument("--cluster", metavar="ADDRESS", help="run the experiments on a Dask cluster: tcp://HOST:PORT "
                                                          "(a running `dask scheduler`) or slurm:N (N Slurm jobs)")
    run.add_argument("--dashboard", action="store_true", help="serve Dask's dashboard for --jobs/--cluster slurm:N")
    run.add_argument("--resume", action="store_true", help="continue from each run's last checkpoint")
    run.add_argument("--overwrite", action="store_true", help="discard what an earlier run of the same name left")
    run.add_argument("--runs-dir", default="runs", help="where runs/<name>/ go (default: runs)")
    run.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")

    report = commands.add_parser("report", help="write REPORT.md and the figures from the runs found")
    report.add_argument("--runs-dir", default="runs")
    report.add_argument("--out", default="report")
    report.add_argument("--readme", metavar="PATH", help="also rewrite the results section of this README")

    quick = commands.add_parser("quick", help="fig. 1's three networks for 2 epochs each, then the report "
                                              "(into its own runs folder, under the same rules as run)")
    quick.add_argument("--runs-dir", default=os.path.join("runs", "quick"))
    quick.add_argument("--out", default=os.path.join("report", "quick"))
    quick.add_argument("--dataset", choices=["cifar10", "synthetic", "auto"], default="auto")
    quick.add_argument("--data-dir")
    quick.add_argument("--jobs", type=int, default=1)
    quick.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="passed on to run, e.g. --set train_size=5000 on a slow machine")
    quick.add_argument("--resume", action="store_true", help="continue the runs an earlier quick left")
    quick.add_argument("--overwrite", action="store_true", help="discard the runs an earlier quick left")
    return parser


# ------------------------------------------------------------------ list
def cmd_list(args: argparse.Namespace) -> int:
    check_paths(args)
    print(f"{'name':<7} {'model':<10} {'epochs':>6} {'batch':>5} {'lr':>7}  {'what':<38} progress")
    damaged: list[str] = []
    for name, c in EXPERIMENTS.items():
        try:
            state = f"= {run_name(name)}" if name in SAME_AS else _progress(RunFiles(args.runs_dir, name))
        except RunStateError as exc:   # the others are still listed; the problem follows the table
            state = "damaged (see below)"
            damaged.append(str(exc))
        print(f"{name:<7} {c.model:<10} {c.epochs:>6} {c.batch_size:>5} {c.lr:>7g}  {c.title:<38} {state}")
    print("\nfigures: " + "; ".join(f"{fig} = {' '.join(names)}" for fig, names in FIGURES.items()))
    print("the same run: " + "; ".join(f"{panel} = {run}" for panel, run in SAME_AS.items()), flush=True)
    if damaged:
        raise RunStateError(damaged[0] if len(damaged) == 1 else
                            f"{len(damaged)} runs are damaged; the first: {damaged[0]}")
    return 0


def _progress(files: RunFiles) -> str:
    if not files.exists():
        return "-"
    epochs = files.epochs()
    planned = saved_config(files).epochs
    diverged = " (diverged)" if epochs and epochs[-1].get("diverged") else ""
    return f"{len(epochs)}/{planned} epochs{diverged}"


# ------------------------------------------------------------------- run
def expand_names(names: Sequence[str]) -> list[str]:
    """The runs to train: a figure's name ("fig2") stands for all its panels, "all" for every panel and
    "seeds" for the extra seeds of the seeded panels; a panel that is another's run (fig2c = fig1d) is
    trained under that name, once.  "all" trains a panel that is the start of a longer one (fig1d, the
    first 50 epochs of fig3a) as that longer run only; named on its own, it trains its own folder."""
    out: list[str] = []
    for name in names:
        every = list(dict.fromkeys(PREFIX_OF.get(run_name(p), p) for p in EXPERIMENTS))
        group = {"all": every, "seeds": seed_runs()}.get(name) or FIGURES.get(name, [name])
        for item in group:
            try:
                split_seed(item)
            except KeyError:
                raise UsageError(f"unknown experiment {item!r}; known: {', '.join(EXPERIMENTS)}, each with "
                                 f"-seedN for another seed (or a figure: {', '.join(FIGURES)}; all; seeds)") from None
            if run_name(item) not in out:
                out.append(run_name(item))
    return out


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields the command line sets, shorthands and --set alike."""
    overrides: dict[str, Any] = {}
    for key in SHORTHANDS:
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    flags = set(overrides)
    given: dict[str, str] = {}   # each --set's text by key: a setting is given once (or as its flag and the same)
    for text in args.set:
        try:
            key, value = parse_assignment(text)
        except (KeyError, ValueError) as exc:
            raise UsageError(exc.args[0]) from None
        if key == "name":
            raise UsageError("--set name=... is not allowed: the name picks the experiment")
        if key in given:
            raise UsageError(f"--set {key}= is given twice (--set {given[key]}, --set {text}); give it once")
        if key in flags and overrides[key] != value:
            raise UsageError(f"--set {text} contradicts --{key.replace('_', '-')} {overrides[key]}")
        given[key] = text
        overrides[key] = value
    for key, value in overrides.items():
        if isinstance(value, float) and not math.isfinite(value):
            option = f"--{key.replace('_', '-')}" if key in flags else f"--set {key}="
            raise UsageError(f"{option} must be a finite number, got {value}")
    return overrides


def check_paths(args: argparse.Namespace) -> None:
    """Folder names must be text: a path with bytes that are not UTF-8 cannot be written into a run's records
    or shown, so it is refused here, before anything is written.  An empty name is refused too: it would
    quietly mean the current folder."""
    for option in ("runs_dir", "out", "data_dir"):
        path = getattr(args, option, None)
        if path is None:
            continue
        if not path:
            raise UsageError(f"--{option.replace('_', '-')} is empty; name a folder (. for the current one)")
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"--{option.replace('_', '-')} {ascii(path)[1:-1]} is not valid UTF-8 text; rename "
                             "the folder, or choose another") from None


def resolve_config(name: str, overrides: dict[str, Any], runs_dir: str, resume: bool) -> Config:
    """The registry's config (or, when resuming, the run's saved one) with the overrides applied.

    A resumed run may be given more epochs or another device or data folder, but nothing
    that would make its checkpoint describe a different experiment.
    """
    files = RunFiles(runs_dir, name)
    base = saved_config(files) if resume and files.exists() else get_experiment(name)
    if resume and files.exists():
        changed = sorted(k for k, v in overrides.items() if k not in RESUMABLE and getattr(base, k, v) != v)
        if changed:
            raise UsageError(f"{name}: cannot change {', '.join(changed)} of a run being resumed "
                             f"(it was {', '.join(f'{k}={getattr(base, k)}' for k in changed)}); "
                             "drop --resume to start it afresh")
    try:
        return with_overrides(base, overrides)
    except (KeyError, ValueError) as exc:
        raise UsageError(exc.args[0]) from None


def child_arguments(args: argparse.Namespace, absolute: bool = True) -> list[str]:
    """The options to hand on to each ``python -m hw5 run NAME`` child of a sweep.

    Paths are made absolute: the children run in other folders, maybe on other machines.
    """
    where = os.path.abspath if absolute else (lambda path: path)
    out = ["--runs-dir", where(args.runs_dir)]
    for option in SHORTHANDS:
        value = getattr(args, option)
        if value is not None:
            value = where(value) if option == "data_dir" else value
            out += [f"--{option.replace('_', '-')}", str(value)]
    for text in args.set:
        out += ["--set", text]
    flags = [f"--{flag}" for flag in ("resume", "overwrite", "quiet") if getattr(args, flag)]
    return out + flags


def cluster_spec(args: argparse.Namespace, count: int) -> ClusterSpec | None:
    """The Dask cluster ``--jobs``/``--cluster`` ask for, or None to train in this process, one run after another."""
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.cluster:
        if args.jobs is not None:
            raise UsageError("--jobs and --cluster exclude each other: a cluster's workers set how many run at once")
        try:
            return parse_cluster(args.cluster)
        except ValueError as exc:
            raise UsageError(exc.args[0]) from None
    if args.jobs is not None and args.jobs > 1 and count > 1:
        return ClusterSpec("local", workers=min(args.jobs, count))
    if args.dashboard:
        raise UsageError("--dashboard needs a cluster: --jobs N with several experiments, or --cluster")
    return None


def continue_command(args: argparse.Namespace, spec: ClusterSpec, names: list[str]) -> str:
    """The command that continues a sweep of ``names`` (each resumes, or starts if it never did)."""
    options = child_arguments(args, absolute=False)
    if os.path.normpath(args.runs_dir) == "runs":
        options = options[2:]
    options += [] if args.resume else ["--resume"]
    options += spec.options() + (["--dashboard"] if args.dashboard else [])
    return shlex.join(["python", "-m", "hw5", "run", *names, *options])


def apply_seed(names: list[str], overrides: dict[str, Any]) -> list[str]:
    """``--seed N`` trains each run's seed-N version (``fig1d --seed 1`` is ``fig1d-seed1``): a run's seed is
    part of its name, so another seed never writes over seed 0's records."""
    if "seed" not in overrides:
        return names
    seed, out = overrides["seed"], []
    if seed < 0:
        raise UsageError(f"--seed must not be negative, got {seed}")
    for name in names:
        panel, own = split_seed(name)
        if own and own != seed:
            raise UsageError(f"{name} is seed {own}'s run; --seed {seed} contradicts it")
        out.append(seeded_name(panel, seed))
    return list(dict.fromkeys(out))


def cmd_run(args: argparse.Namespace) -> int:
    check_paths(args)
    overrides = overrides_from(args)
    names = apply_seed(expand_names(args.names), overrides)
    configs = [resolve_config(name, overrides, args.runs_dir, args.resume) for name in names]
    spec = cluster_spec(args, len(names))
    if any(c.device == "cuda" for c in configs) and not mt.cupy_available():
        raise SetupError("--device cuda needs CuPy and an NVIDIA GPU (pip install -e \".[gpu]\"); "
                         "neither is usable here")
    for name in names:   # before anything trains: a run that would refuse later refuses now
        files = RunFiles(args.runs_dir, name)
        if os.path.isdir(files.dir):
            with files.lock(probe=True):   # another process writing it: refused here, naming its pid
                pass
        if not args.overwrite:
            check_not_clobbering(files, args.resume)
    if spec is not None:
        from hw5.sweep import run_sweep  # Dask is imported only by the commands that use it

        return run_sweep(names, child_arguments(args), spec, args.runs_dir, {c.name: c.epochs for c in configs},
                         again=lambda rest: continue_command(args, spec, rest), dashboard=args.dashboard)
    if os.environ.get(SWEEP_TASK):  # a sweep's training process: say what thread pools it got
        print(thread_report(), flush=True)
    for index, config in enumerate(configs):
        result = train(config, args.runs_dir, resume=args.resume, quiet=args.quiet, overwrite=args.overwrite)
        if result.status == "interrupted":
            rest = names[index + 1:]
            if rest:
                print(f"not started: {' '.join(rest)}", flush=True)
            return INTERRUPTED
    return 0


# ---------------------------------------------------------------- report
def cmd_report(args: argparse.Namespace) -> int:
    check_paths(args)
    if not find_runs(args.runs_dir):
        raise UsageError(f"no runs in {args.runs_dir} (no folder there holds a {CONFIG}); nothing to report, "
                         f"and {os.path.join(args.out, 'REPORT.md')} is left as it is")
    from hw5.report import write_report  # matplotlib is imported only by the commands that draw
    try:
        path = write_report(args.runs_dir, args.out, readme=getattr(args, "readme", None))
    except ValueError as exc:   # a README without the results section's markers
        raise UsageError(exc.args[0]) from None
    print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------- quick
def run_options(names: Sequence[str], **fields: Any) -> argparse.Namespace:
    """The options of ``run NAMES`` at their defaults, with ``fields`` changed: how other commands run experiments."""
    options = build_parser().parse_args(["run", *names])
    unknown = set(fields) - set(vars(options))
    if unknown:
        raise TypeError(f"run has no option(s) {sorted(unknown)}")
    vars(options).update(fields)
    return options


def cmd_quick(args: argparse.Namespace) -> int:
    start = time.monotonic()
    print(f"quick: LazyNet, BoringNet and CoolNet ({', '.join(QUICK_RUNS)}) for {QUICK_EPOCHS} epochs each, "
          f"then the report", flush=True)
    check_paths(args)
    status = cmd_run(run_options(QUICK_RUNS, epochs=QUICK_EPOCHS, runs_dir=args.runs_dir, dataset=args.dataset,
                                 data_dir=args.data_dir, jobs=args.jobs, set=args.set,
                                 resume=args.resume, overwrite=args.overwrite))   # records are kept, as by run
    if status != 0:
        return status
    status = cmd_report(argparse.Namespace(runs_dir=args.runs_dir, out=args.out))
    print(f"quick: done in {time.monotonic() - start:.0f}s; open {os.path.join(args.out, 'REPORT.md')}")
    return status


COMMANDS = {"list": cmd_list, "run": cmd_run, "report": cmd_report, "quick": cmd_quick}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (problems the user can fix are one line, no traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, RunStateError, SchedulerUnreachable, DataDamaged) as exc:
        print(f"python -m hw5 {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only folder, a full disk: the system's words and the file
        where = f": {exc.filename}" if exc.filename else ""
        print(f"python -m hw5 {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except (DataUnavailable, SetupError, ClusterError) as exc:
        print(f"python -m hw5 {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return INTERRUPTED
