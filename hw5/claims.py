"""The original report's nine statements, each checked against the runs by a rule written down beside it.

A claim is split into parts, each a yes-or-no question the runs answer with
numbers.  The verdict follows from the parts alone:

* **holds** when every part holds, **partly holds** when some do, **does not
  hold** when none do;
* **not yet measurable** when a run the claim needs is missing, unfinished,
  trained on other data than CIFAR-10, or trained with settings other than the
  registry's (a shortened ``quick`` run, say).

Nothing here is a result: the numbers come from the runs, and a part's
"likely reason" is fixed text that is shown only when that part fails.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from hw5.experiments import EXPERIMENTS, differing_fields, run_name
from hw5.results import RunResults

HOLDS, PARTLY, FAILS, PENDING = "holds", "partly holds", "does not hold", "not yet measurable"

MARGIN = 0.01        # "better" / "worse": by at least 1 point, about two standard errors on 10,000 test images
SIGNIFICANT = 0.02   # "significantly better": by at least 2 points
CHANCE = 0.10        # ten classes

# Config fields that do not decide a run's numbers (or, for dataset, are checked on the data actually used).
NOT_DECIDING = {"name", "title", "figure", "dataset", "eval_batch_size", "log_every"}

REASONS = {
    "data": "our CIFAR-10 is rebuilt from a JPEG re-encoding of the original images, so its pixels differ "
            "slightly from the set the original used",
    "seed": "each panel is a single run (seed 0); differences of a point or two between runs are within "
            "what another seed or data order gives",
    "schedule": "the number of epochs and the learning-rate schedule are the assignment's, which the original "
                "may not have followed exactly",
}


@dataclass(frozen=True)
class Part:
    """One checkable piece of a claim, with the measured numbers that answer it."""
    text: str
    holds: bool
    reason: str = ""    # why our runs may disagree with the original here; shown only when the part fails


Runs = Callable[[str], RunResults]     # a panel's name -> the run it is drawn from


@dataclass(frozen=True)
class Claim:
    number: int
    statement: str                      # the original's statement, paraphrased
    panels: tuple[str, ...]             # the panels whose runs it needs
    rule: str                           # how the parts are decided, in words
    check: Callable[[Runs], list[Part]]


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    parts: list[Part] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)    # why not yet measurable


def pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def points(d: float) -> str:
    return "n/a" if not math.isfinite(d) else f"{100 * d:+.1f} points"


def loss(x: float) -> str:
    return "NaN" if not math.isfinite(x) else f"{x:.3f}"


def because(*keys: str, detail: str = "") -> str:
    return "; ".join(([detail] if detail else []) + [REASONS[k] for k in keys])


# ------------------------------------------------------------------ the claims' checks
def lazynet_trains(run: Runs) -> list[Part]:
    a = run("fig1a")
    test, train = a.final("test_acc"), a.final("train_acc")
    return [
        Part(f"LazyNet learns: final test accuracy {pct(test)} (needs at least {pct(2 * CHANCE)}, twice chance)",
             test >= 2 * CHANCE, because("data", detail="a data set whose labels do not match its images keeps "
                                                        "every network near chance")),
        Part(f"the gap is healthy: final training accuracy {pct(train)} against test {pct(test)}, "
             f"a gap of {points(train - test)} (needs at most +10 points)",
             train - test <= 0.10, because("data", "seed")),
    ]


def boringnet_plateaus(run: Runs) -> list[Part]:
    b = run("fig1b")
    end, mid = b.planned, b.planned // 2

    def second_half(key: str) -> tuple[float, str]:
        before, after = b.window_mean(key, mid), b.window_mean(key, end)
        return after - before, (f"mean of epochs {end - 4}-{end} {pct(after)} against epochs {mid - 4}-{mid} "
                                f"{pct(before)}, {points(after - before)}")

    train_rise, train_text = second_half("train_acc")
    test_rise, test_text = second_half("test_acc")
    return [
        Part(f"training accuracy keeps rising: {train_text} (needs at least +2 points)",
             train_rise >= 2 * MARGIN, because("seed", "schedule")),
        Part(f"test accuracy has plateaued: {test_text} (needs under +1 point; a fall counts as a plateau)",
             test_rise < MARGIN, because("data", "seed")),
    ]


def no_activations_in_between(run: Runs) -> list[Part]:
    a, b, c = (run(p).final("test_acc") for p in ("fig1a", "fig1b", "fig1c"))
    return [
        Part(f"worse than BoringNet with activations: final test {pct(c)} against {pct(b)} (needs at least 1 "
             "point lower)", c <= b - MARGIN, because("seed", "data")),
        Part(f"slightly better than LazyNet: {pct(c)} against {pct(a)}, {points(c - a)} (needs +1 to +10 points)",
             a + MARGIN <= c <= a + 0.10, because("seed", "data")),
    ]


def coolnet_wins(run: Runs) -> list[Part]:
    d = run("fig1d").final("test_acc")
    return [Part(f"CoolNet's final test accuracy {pct(d)} beats {run(p).title} ({pct(run(p).final('test_acc'))}) "
                 "by at least 1 point", d >= run(p).final("test_acc") + MARGIN, because("seed", "data"))
            for p in ("fig1a", "fig1b", "fig1c")]


def batch_32_best(run: Runs) -> list[Part]:
    sizes = {p: run(p) for p in ("fig1d", "fig1e", "fig1f")}
    accs = ", ".join(f"batch {r.config.get('batch_size')} {pct(r.final('test_acc'))}" for r in sizes.values())
    best = max(sizes, key=lambda p: _finite_or(sizes[p].final("test_acc"), -math.inf))
    f = sizes["fig1f"]
    end = f.planned
    before, after = f.window_mean("train_loss", end - 10), f.window_mean("train_loss", end)
    fall = 1 - after / before if before > 0 else math.nan
    return [
        Part(f"batch 32 has the best final test accuracy: {accs}", best == "fig1e",
             because("seed", detail="at a fixed learning rate of 0.01 for 50 epochs, batch 4 takes 8 times as "
                                    "many steps as batch 32")),
        Part(f"at batch 256 the training loss is still falling after {end} epochs: mean of epochs "
             f"{end - 4}-{end} {loss(after)} against epochs {end - 14}-{end - 10} {loss(before)}, "
             f"{_percent_fall(fall)} (needs a fall of at least 5%)",
             math.isfinite(fall) and fall >= 0.05, because("seed", "data")),
    ]


def lr_001_best(run: Runs) -> list[Part]:
    rates = {p: run(p) for p in ("fig2a", "fig2b", "fig2c", "fig2d")}
    name = {p: f"lr {r.config.get('lr'):g}" for p, r in rates.items()}
    accs = ", ".join(f"{name[p]} {pct(r.final('test_acc'))}" for p, r in rates.items())
    losses = ", ".join(f"{name[p]} {loss(r.final('train_loss'))}" for p, r in rates.items())
    best_acc = max(rates, key=lambda p: _finite_or(rates[p].final("test_acc"), -math.inf))
    best_loss = min(rates, key=lambda p: _finite_or(rates[p].final("train_loss"), math.inf))
    high = rates["fig2a"]
    later = high.series("train_loss")[1:]
    if high.diverged:
        around = Part(f"at lr 10 the training loss stays around 4.1: the run diverged (the loss became NaN or "
                      f"infinite) in epoch {high.done}", False,
                      because("seed", detail="the original's lr-10 run did not diverge"))
    else:
        low, top = (min(later), max(later)) if later else (math.nan, math.nan)
        around = Part(f"at lr 10 the training loss stays around 4.1: after the first epoch it lies between "
                      f"{loss(low)} and {loss(top)} (needs every epoch within 3.6-4.6)",
                      bool(later) and 3.6 <= low and top <= 4.6, because("seed", "data"))
    return [
        Part(f"lr 0.01 has the best final test accuracy: {accs}", best_acc == "fig2c", _why_not_001(rates[best_acc])),
        Part(f"lr 0.01 has the lowest final training loss: {losses}", best_loss == "fig2c",
             _why_not_001(rates[best_loss])),
        around,
    ]


def _why_not_001(winner: RunResults) -> str:
    """The likely reason another learning rate beat 0.01: which one depends on which rate won."""
    if winner.config.get("lr", 0) > 0.01:
        return because("seed", detail="with BatchNorm after every convolution, a larger learning rate stays "
                                      "stable, and in 50 epochs it gets further")
    return because("seed", "data")


def longer_overfits(run: Runs) -> list[Part]:
    short, long = run("fig1d"), run("fig2e")
    (best, epoch) = long.best_test_acc
    return [
        Part(f"150 epochs raise the training accuracy: {pct(long.final('train_acc'))} after {long.done} epochs "
             f"against {pct(short.final('train_acc'))} after {short.done} (needs at least 1 point more)",
             long.final("train_acc") >= short.final("train_acc") + MARGIN, because("schedule", "seed")),
        Part(f"but not the test accuracy: {pct(long.final('test_acc'))} against {pct(short.final('test_acc'))} "
             f"(needs under 1 point more; the 150-epoch run's best was {pct(best)} in epoch {epoch})",
             long.final("test_acc") < short.final("test_acc") + MARGIN,
             because("schedule", "data", detail="the learning rate, lowered by 10% every 50 epochs, lets the "
                                                "network keep improving on the test set")),
    ]


def flips_help(run: Runs) -> list[Part]:
    plain, flipped = run("fig3a"), run("fig3b")
    gain = flipped.final("test_acc") - plain.final("test_acc")
    return [
        Part(f"flips give significantly better test accuracy: {pct(flipped.final('test_acc'))} against "
             f"{pct(plain.final('test_acc'))}, {points(gain)} (needs at least +2 points)",
             gain >= SIGNIFICANT, because("seed", "data")),
        Part(f"with a higher training loss: {loss(flipped.final('train_loss'))} against "
             f"{loss(plain.final('train_loss'))}", flipped.final("train_loss") > plain.final("train_loss"),
             because("seed")),
    ]


def mse_slower(run: Runs) -> list[Part]:
    ce, mse = run("fig3c"), run("fig3d")
    target = 0.9 * min(ce.best_test_acc[0], mse.best_test_acc[0])
    e_ce, e_mse = ce.first_epoch_reaching("test_acc", target), mse.first_epoch_reaching("test_acc", target)
    m_ce, m_mse = _mean(ce.series("test_acc")), _mean(mse.series("test_acc"))
    return [
        Part(f"MSE reaches a common test accuracy later: {pct(target)} (90% of the lower of the two best) in "
             f"epoch {e_mse} against cross-entropy's epoch {e_ce}",
             e_ce is not None and e_mse is not None and e_mse > e_ce, because("seed", "data")),
        Part(f"MSE's test accuracy is lower over the run: mean over the epochs {pct(m_mse)} against "
             f"{pct(m_ce)} (needs at least 1 point lower)", m_mse <= m_ce - MARGIN, because("seed", "data")),
    ]


def _finite_or(x: float, default: float) -> float:
    return x if math.isfinite(x) else default


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _percent_fall(fall: float) -> str:
    return "n/a" if not math.isfinite(fall) else f"{'a fall' if fall >= 0 else 'a rise'} of {abs(100 * fall):.1f}%"


CLAIMS: list[Claim] = [
    Claim(1, "LazyNet trains, with a healthy gap between training and test accuracy.", ("fig1a",),
          "final test accuracy at least twice chance; final training accuracy at most 10 points above test.",
          lazynet_trains),
    Claim(2, "BoringNet's test accuracy plateaus while its training accuracy keeps rising.", ("fig1b",),
          "compare the mean of the last 5 epochs with the mean of the 5 epochs ending half-way: training "
          "accuracy up by at least 2 points, test accuracy up by less than 1 point.", boringnet_plateaus),
    Claim(3, "BoringNet without activations is worse than with them, but slightly better than LazyNet.",
          ("fig1a", "fig1b", "fig1c"),
          "final test accuracy at least 1 point below BoringNet's, and 1 to 10 points above LazyNet's.",
          no_activations_in_between),
    Claim(4, "CoolNet beats the fully connected networks.", ("fig1a", "fig1b", "fig1c", "fig1d"),
          "CoolNet's final test accuracy at least 1 point above each fully connected network's (one part each).",
          coolnet_wins),
    Claim(5, "Of batch sizes 4, 32 and 256, batch 32 performs best; at batch 256 the training loss has not "
             "saturated after 50 epochs.", ("fig1d", "fig1e", "fig1f"),
          "batch 32 has the highest final test accuracy of the three; batch 256's mean training loss over its "
          "last 5 epochs is at least 5% below that of 10 epochs earlier.", batch_32_best),
    Claim(6, "Of learning rates 10, 0.1, 0.01 and 0.0001, 0.01 is best in test accuracy and training loss; "
             "at lr 10 the loss stays around 4.1.", ("fig2a", "fig2b", "fig2c", "fig2d"),
          "lr 0.01 has the highest final test accuracy and the lowest final training loss of the four; every "
          "epoch of the lr-10 run after the first has a training loss within 4.1 ± 0.5, and it does not "
          "diverge.", lr_001_best),
    Claim(7, "Training for 150 epochs raises the training accuracy over the 50-epoch run, but not the test "
             "accuracy: the model overfits early.", ("fig2c", "fig2e"),
          "final training accuracy at least 1 point higher after 150 epochs; final test accuracy less than "
          "1 point higher.", longer_overfits),
    Claim(8, "Random horizontal flips give significantly better test accuracy, with a higher training loss.",
          ("fig3a", "fig3b"),
          "after 200 epochs, the run with flips has a final test accuracy at least 2 points higher and a higher "
          "final training loss.", flips_help),
    Claim(9, "MSE converges more slowly than cross-entropy.", ("fig3c", "fig3d"),
          "MSE first reaches 90% of the lower of the two runs' best test accuracies in a later epoch, and its "
          "test accuracy averaged over all epochs is at least 1 point lower.", mse_slower),
]


def not_ready(panel: str, runs: dict[str, RunResults]) -> str | None:
    """Why ``panel``'s run cannot yet test a claim, or None if it can."""
    name = run_name(panel)
    run = runs.get(name)
    if run is None:
        return f"`{name}` has not been run"
    if run.dataset != "cifar10":
        return f"`{name}` was trained on {run.dataset} data, not CIFAR-10"
    registry = EXPERIMENTS[name]
    changed = sorted(set(differing_fields(run.config, registry.to_dict())) - NOT_DECIDING)
    if run.planned != registry.epochs:
        changed.insert(0, "epochs")
    if changed:
        return (f"`{name}` was trained with other settings than the registry's ("
                + ", ".join(f"{k} {run.config.get(k)!r}, not {getattr(registry, k)!r}" for k in changed) + ")")
    if not run.complete:
        return f"`{name}` is at {run.progress}"
    return None


def judge(claim: Claim, runs: dict[str, RunResults]) -> Verdict:
    """The claim's verdict on these runs, by the rule in this module's docstring."""
    waiting = list(dict.fromkeys(filter(None, (not_ready(p, runs) for p in claim.panels))))
    if waiting:
        return Verdict(claim, PENDING, waiting=waiting)
    parts = claim.check(lambda panel: runs[run_name(panel)])
    held = sum(part.holds for part in parts)
    verdict = HOLDS if held == len(parts) else FAILS if held == 0 else PARTLY
    return Verdict(claim, verdict, parts)


def judge_all(runs: dict[str, RunResults]) -> list[Verdict]:
    return [judge(claim, runs) for claim in CLAIMS]
