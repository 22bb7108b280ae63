"""The original report's statements, each checked against the runs by a rule written down beside it.

A claim is split into parts, each a yes-or-no question the runs answer with
numbers.  The verdict follows from the parts alone:

* **holds** when every part holds, **partly holds** when some do, **does not
  hold** when none do;
* **not yet measurable** when a panel it needs has no run that is complete,
  trained on CIFAR-10 and with the registry's settings (a shortened ``quick``
  run, say, does not count).

Every number a rule compares is the mean over the seeds counted (the complete
runs of the panel whose seed every other seeded panel of the claim has too, so
that seeds are compared with the same seeds; :func:`hw5.results.seed_mean`), and accuracies and losses
are compared on their mean over the last 5 epochs, so that neither one seed
nor one epoch's noise decides a verdict.  The margins are the same everywhere:
"better" or "worse" by at least 1 point, "significantly" by at least 2.

Nothing here is a result: the numbers come from the runs, and a part's
"likely reason" is fixed text that is shown only when that part fails.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from hw5.experiments import PREFIX_OF, differing_fields, get_experiment, is_seeded, run_name, split_seed
from hw5.results import RunResults, seed_mean, seeds_of

HOLDS, PARTLY, FAILS, PENDING = "holds", "partly holds", "does not hold", "not yet measurable"

MARGIN = 0.01        # "better" / "worse": by at least 1 point, about two standard errors on 10,000 test images
SIGNIFICANT = 0.02   # "significantly better" / "significantly worse": by at least 2 points
CHANCE = 0.10        # ten classes
WIDTH = 5            # epochs in the window whose mean a rule compares ("last-5-epoch mean")

# Config fields that do not decide a run's numbers (or, for dataset, are checked on the data actually used).
NOT_DECIDING = {"name", "title", "figure", "dataset", "eval_batch_size", "log_every"}

REASONS = {
    "data": "our CIFAR-10 is rebuilt from a JPEG re-encoding of the original images, so its pixels differ "
            "slightly from the set the original used",
    "seed": "differences of a point or two are within what another seed or data order gives (the seeds' "
            "spread is in the results table where a panel has several)",
    "schedule": "the number of epochs and the learning-rate schedule are the assignment's, which the original "
                "may not have followed exactly",
}


@dataclass(frozen=True)
class Part:
    """One checkable piece of a claim, with the measured numbers that answer it."""
    text: str
    holds: bool
    reason: str = ""    # why our runs may disagree with the original here; shown only when the part fails


Runs = Callable[[str], RunResults]     # a panel's name -> its seeds' mean run (see seed_mean)


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
    counted: dict[str, RunResults] = field(default_factory=dict)   # panel -> the seeds' mean run judged
    not_counted: list[str] = field(default_factory=list)           # seed runs left out, and why


def pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def points(d: float) -> str:
    return "n/a" if not math.isfinite(d) else f"{100 * d:+.1f} points"


def loss(x: float) -> str:
    return "NaN" if not math.isfinite(x) else f"{x:.3f}"


def because(*keys: str, detail: str = "") -> str:
    return "; ".join(([detail] if detail else []) + [REASONS[k] for k in keys])


def last5(run: RunResults, key: str = "test_acc") -> float:
    """The mean of ``key`` over the run's last 5 planned epochs: the number every rule compares."""
    return run.window_mean(key, run.planned, WIDTH)


def window(run: RunResults) -> str:
    """Which epochs :func:`last5` averages, in words."""
    return f"epochs {run.planned - WIDTH + 1}-{run.planned}"


# ------------------------------------------------------------------ the claims' checks
def lazynet_trains(run: Runs) -> list[Part]:
    a = run("fig1a")
    test, train = last5(a), last5(a, "train_acc")
    return [
        Part(f"LazyNet learns: test accuracy {pct(test)} (mean of {window(a)}; needs at least {pct(2 * CHANCE)}, "
             "twice chance)", test >= 2 * CHANCE,
             because("data", detail="a data set whose labels do not match its images keeps every network near "
                                    "chance")),
        Part(f"the gap is healthy: training accuracy {pct(train)} against test {pct(test)}, a gap of "
             f"{points(train - test)} (needs at most +10 points)", train - test <= 0.10, because("data", "seed")),
    ]


def lazynet_loss_falls(run: Runs) -> list[Part]:
    a = run("fig1a")
    losses = [v for v in a.series("train_loss") if math.isfinite(v)]
    steps = len(losses) - 1
    falls = sum(after < before for before, after in zip(losses, losses[1:], strict=False))
    blocks = [_mean(losses[i:i + 10]) for i in range(0, len(losses), 10)]
    rises = [i for i in range(1, len(blocks)) if blocks[i] >= blocks[i - 1]]
    block_text = ", ".join(loss(b) for b in blocks)
    return [
        Part(f"the training loss falls from epoch to epoch: in {falls} of {steps} steps, rises in "
             f"{steps - falls} (needs a fall in at least 90% of them)", steps > 0 and falls >= 0.9 * steps,
             because("seed", detail="a linear model at learning rate 0.01 and batch size 4 reaches its loss floor "
                                    "within a few epochs, and the epoch means then only wobble about it")),
        Part(f"and over the whole run: the mean of every 10 epochs is below the previous 10's ({block_text})",
             len(blocks) > 1 and not rises,
             because("seed", detail="the loss is on a plateau, where 10-epoch means still differ by noise")),
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
             train_rise >= SIGNIFICANT, because("seed", "schedule")),
        Part(f"test accuracy has plateaued: {test_text} (needs under +1 point; a fall counts as a plateau)",
             test_rise < MARGIN, because("data", "seed")),
    ]


def no_activations_in_between(run: Runs) -> list[Part]:
    a, b, c = (last5(run(p)) for p in ("fig1a", "fig1b", "fig1c"))
    return [
        Part(f"significantly worse than BoringNet with activations: test accuracy {pct(c)} against {pct(b)}, "
             f"{points(c - b)} (needs at least 2 points lower)", c <= b - SIGNIFICANT, because("seed", "data")),
        Part(f"slightly better than LazyNet: {pct(c)} against {pct(a)}, {points(c - a)} (needs at least +1 point, "
             f"and less than its distance to BoringNet, {points(b - c)[1:]}: nearer LazyNet than BoringNet)",
             c >= a + MARGIN and c - a < b - c, because("seed", "data")),
    ]


def coolnet_wins(run: Runs) -> list[Part]:
    d = last5(run("fig1d"))
    return [Part(f"CoolNet's test accuracy {pct(d)} beats {run(p).title} ({pct(last5(run(p)))}) by at least "
                 "1 point", d >= last5(run(p)) + MARGIN, because("seed", "data"))
            for p in ("fig1a", "fig1b", "fig1c")]


def batch_32_best(run: Runs) -> list[Part]:
    sizes = {p: run(p) for p in ("fig1d", "fig1e", "fig1f")}
    accs = ", ".join(f"batch {r.config.get('batch_size')} {pct(last5(r))}" for r in sizes.values())
    best = max(sizes, key=lambda p: _finite_or(last5(sizes[p]), -math.inf))
    f = sizes["fig1f"]
    end = f.planned
    before, after = f.window_mean("train_loss", end - 10), f.window_mean("train_loss", end)
    fall = 1 - after / before if before > 0 else math.nan
    return [
        Part(f"batch 32 has the best test accuracy: {accs}", best == "fig1e",
             because("seed", detail="at a fixed learning rate of 0.01 for 50 epochs, batch 4 takes 8 times as "
                                    "many steps as batch 32")),
        Part(f"at batch 256 the training loss is still falling after {end} epochs: mean of epochs "
             f"{end - 4}-{end} {loss(after)} against epochs {end - 14}-{end - 10} {loss(before)}, "
             f"{_percent_fall(fall)} (needs a fall of at least 5%)",
             math.isfinite(fall) and fall >= 0.05, because("seed", "data")),
    ]


def batch_4_loss_high(run: Runs) -> list[Part]:
    sizes = {p: run(p) for p in ("fig1d", "fig1e", "fig1f")}
    losses = ", ".join(f"batch {r.config.get('batch_size')} {loss(last5(r, 'train_loss'))}" for r in sizes.values())
    worst = max(sizes, key=lambda p: _finite_or(last5(sizes[p], "train_loss"), -math.inf))
    return [Part(f"batch 4 has the highest training loss: {losses}", worst == "fig1d",
                 because("seed", detail="at batch 4 the mean over an epoch's mini-batches is taken over noisier "
                                        "steps, but it still falls as far as at the larger batches"))]


def lr_001_best(run: Runs) -> list[Part]:
    rates = {p: run(p) for p in ("fig2a", "fig2b", "fig2c", "fig2d")}
    name = {p: f"lr {r.config.get('lr'):g}" for p, r in rates.items()}
    accs = ", ".join(f"{name[p]} {pct(last5(r))}" for p, r in rates.items())
    losses = ", ".join(f"{name[p]} {loss(last5(r, 'train_loss'))}" for p, r in rates.items())
    best_acc = max(rates, key=lambda p: _finite_or(last5(rates[p]), -math.inf))
    best_loss = min(rates, key=lambda p: _finite_or(last5(rates[p], "train_loss"), math.inf))
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
        Part(f"lr 0.01 has the best test accuracy: {accs}", best_acc == "fig2c", _why_not_001(rates[best_acc])),
        Part(f"lr 0.01 has the lowest training loss: {losses}", best_loss == "fig2c", _why_not_001(rates[best_loss])),
        around,
    ]


def _why_not_001(winner: RunResults) -> str:
    """The likely reason another learning rate beat 0.01: which one depends on which rate won."""
    if winner.config.get("lr", 0) > 0.01:
        return because("seed", detail="with BatchNorm after every convolution, a larger learning rate stays "
                                      "stable, and in 50 epochs it gets further")
    return because("seed", "data")


def longer_overfits(run: Runs) -> list[Part]:
    short, long = run("fig2c"), run("fig2e")
    (best, epoch) = long.best_test_acc
    curve = "seeds' mean curve" if len(long.seeds) > 1 else "run"
    return [
        Part(f"150 epochs raise the training accuracy: {pct(last5(long, 'train_acc'))} over {window(long)} "
             f"against {pct(last5(short, 'train_acc'))} over {window(short)} (needs at least 1 point more)",
             last5(long, "train_acc") >= last5(short, "train_acc") + MARGIN, because("schedule", "seed")),
        Part(f"but not the test accuracy: {pct(last5(long))} against {pct(last5(short))}, "
             f"{points(last5(long) - last5(short))} (needs under 1 point more; the 150-epoch {curve}'s best was "
             f"{pct(best)} in epoch {epoch})", last5(long) < last5(short) + MARGIN,
             because("schedule", "seed", detail="the learning rate, lowered by 10% every 50 epochs, lets the "
                                                "network keep improving on the test set")),
    ]


def flips_help(run: Runs) -> list[Part]:
    plain, flipped = run("fig3a"), run("fig3b")
    gain = last5(flipped) - last5(plain)
    return [
        Part(f"flips give significantly better test accuracy: {pct(last5(flipped))} against {pct(last5(plain))}, "
             f"{points(gain)} (needs at least +2 points)", gain >= SIGNIFICANT, because("seed", "data")),
        Part(f"with a higher training loss: {loss(last5(flipped, 'train_loss'))} against "
             f"{loss(last5(plain, 'train_loss'))}", last5(flipped, "train_loss") > last5(plain, "train_loss"),
             because("seed")),
    ]


def flips_less_overfitting(run: Runs) -> list[Part]:
    plain, flipped = run("fig3a"), run("fig3b")
    gap = {p: last5(r, "train_acc") - last5(r) for p, r in (("plain", plain), ("flipped", flipped))}
    return [Part(f"flips shrink the gap between training and test accuracy: {points(gap['flipped'])} with flips "
                 f"against {points(gap['plain'])} without (needs at least 1 point smaller)",
                 gap["flipped"] <= gap["plain"] - MARGIN, because("seed", "data"))]


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


LAST5 = "the mean over the last 5 epochs, averaged over the seeds counted"

CLAIMS: list[Claim] = [
    Claim(1, "LazyNet trains, with a healthy gap between training and test accuracy.", ("fig1a",),
          f"test accuracy ({LAST5}) at least twice chance; training accuracy at most 10 points above test.",
          lazynet_trains),
    Claim(2, "BoringNet's test accuracy plateaus while its training accuracy keeps rising.", ("fig1b",),
          "compare the mean of the last 5 epochs with the mean of the 5 epochs ending half-way: training "
          "accuracy up by at least 2 points, test accuracy up by less than 1 point.", boringnet_plateaus),
    Claim(3, "BoringNet without activations is significantly worse than with them, but slightly better than "
             "LazyNet.", ("fig1a", "fig1b", "fig1c"),
          f"test accuracy ({LAST5}) at least 2 points below BoringNet's (\"significantly\"), and at least 1 point "
          "above LazyNet's but nearer LazyNet's than BoringNet's (\"slightly\": the gain over LazyNet is under half "
          "the distance from LazyNet to BoringNet).", no_activations_in_between),
    Claim(4, "CoolNet beats the fully connected networks.", ("fig1a", "fig1b", "fig1c", "fig1d"),
          f"CoolNet's test accuracy ({LAST5}) at least 1 point above each fully connected network's (one part each).",
          coolnet_wins),
    Claim(5, "Of batch sizes 4, 32 and 256, batch 32 performs best; at batch 256 the training loss has not "
             "saturated after 50 epochs.", ("fig1d", "fig1e", "fig1f"),
          f"batch 32 has the highest test accuracy ({LAST5}) of the three; batch 256's mean training loss over its "
          "last 5 epochs is at least 5% below that of 10 epochs earlier.", batch_32_best),
    Claim(6, "Of learning rates 10, 0.1, 0.01 and 0.0001, 0.01 is best in test accuracy and training loss; "
             "at lr 10 the loss stays around 4.1.", ("fig2a", "fig2b", "fig2c", "fig2d"),
          f"lr 0.01 has the highest test accuracy and the lowest training loss of the four ({LAST5}); every "
          "epoch of the lr-10 run after the first has a training loss within 4.1 ± 0.5, and it does not "
          "diverge.", lr_001_best),
    Claim(7, "Training for 150 epochs raises the training accuracy over the 50-epoch run, but not the test "
             "accuracy: the model overfits early.", ("fig2c", "fig2e"),
          f"training accuracy ({LAST5}) at least 1 point higher after 150 epochs than after 50; test accuracy "
          "less than 1 point higher.", longer_overfits),
    Claim(8, "Random horizontal flips give significantly better test accuracy, with a higher training loss.",
          ("fig3a", "fig3b"),
          f"after 200 epochs, the run with flips has a test accuracy ({LAST5}) at least 2 points higher and a "
          "higher training loss (the same mean).", flips_help),
    Claim(9, "MSE converges more slowly than cross-entropy.", ("fig3c", "fig3d"),
          "on the seeds' mean curves, MSE first reaches 90% of the lower of the two runs' best test accuracies in "
          "a later epoch, and its test accuracy averaged over all epochs is at least 1 point lower.", mse_slower),
    Claim(10, "LazyNet's loss is decreasing throughout.", ("fig1a",),
          "the training loss (the epoch's mean over its mini-batches) falls from one epoch to the next in at least "
          "90% of the steps, and every 10 epochs' mean is below the previous 10 epochs'.", lazynet_loss_falls),
    Claim(11, "At batch size 4 the loss does not decrease sufficiently.", ("fig1d", "fig1e", "fig1f"),
          f"batch 4 has the highest training loss ({LAST5}) of batch sizes 4, 32 and 256.", batch_4_loss_high),
    Claim(12, "Random flips alleviate the problem of overfitting.", ("fig3a", "fig3b"),
          f"the gap between training and test accuracy ({LAST5}) is at least 1 point smaller with flips.",
          flips_less_overfitting),
]


def not_ready(run: RunResults) -> str | None:
    """Why this run (one seed of a panel) cannot be counted in a claim yet, or None if it can."""
    name = f"`{run.name}`" + (f" (`{run.folder}`'s first {run.planned} epochs)" if run.is_prefix else "")
    if run.dataset != "cifar10":
        return f"{name} was trained on {run.dataset} data, not CIFAR-10"
    registry = get_experiment(run.name)
    changed = sorted(set(differing_fields(run.config, registry.to_dict())) - NOT_DECIDING)
    if run.planned != registry.epochs:
        changed.insert(0, "epochs")
    if changed:
        return (f"{name} was trained with other settings than the registry's ("
                + ", ".join(f"{k} {run.config.get(k)!r}, not {getattr(registry, k)!r}" for k in changed) + ")")
    if not run.complete:
        return f"{name} is at {run.progress}"
    return None


def missing(panel: str) -> str:
    name = run_name(panel)
    base = split_seed(name)[0]
    longer = f" (nor `{PREFIX_OF[base]}`, whose first {get_experiment(name).epochs} epochs it is)" \
        if base in PREFIX_OF else ""
    return f"`{name}` has not been run{longer}"


def judge(claim: Claim, runs: dict[str, RunResults]) -> Verdict:
    """The claim's verdict on these runs (a :func:`hw5.results.views` result), by the module docstring's rule.

    Each panel is judged on the mean of its seeds that can be counted and that every other seeded panel
    of the claim has too (paired seeds); seeds still running, trained otherwise, or without a partner are
    named and left out.  A panel with no seed that can be counted leaves the claim not yet
    measurable."""
    ready: dict[str, list[RunResults]] = {}
    waiting: list[str] = []
    not_counted: list[str] = []
    for panel in claim.panels:
        judged = [(run, not_ready(run)) for run in seeds_of(runs, panel)]
        ready[panel] = [run for run, reason in judged if reason is None]
        reasons = [reason for _, reason in judged if reason]
        if ready[panel]:
            not_counted += reasons
        else:
            waiting += reasons or [missing(panel)]
    if waiting:
        return Verdict(claim, PENDING, waiting=list(dict.fromkeys(waiting)),
                       not_counted=list(dict.fromkeys(not_counted)))
    # The seeded panels are compared seed for seed: a seed counts only where every seeded panel of the
    # claim has it ready, so that a mean over three seeds is never set against one seed's luck.  (A panel
    # trained with one seed by design, like LazyNet, is compared with the others' means.)
    seed_sets = [{run.seed for run in seeds} for panel, seeds in ready.items() if is_seeded(panel)]
    common = set.intersection(*seed_sets) if seed_sets else set()
    counted: dict[str, RunResults] = {}
    for panel, seeds in ready.items():
        paired = [run for run in seeds if run.seed in common or not is_seeded(panel)] or seeds
        not_counted += [f"`{run.name}` (the claim's other panels have no seed {run.seed} yet)"
                        for run in seeds if run not in paired]
        counted[panel] = seed_mean(paired)
    not_counted = list(dict.fromkeys(not_counted))
    parts = claim.check(lambda panel: counted[panel])
    held = sum(part.holds for part in parts)
    verdict = HOLDS if held == len(parts) else FAILS if held == 0 else PARTLY
    return Verdict(claim, verdict, parts, counted=counted, not_counted=not_counted)


def judge_all(runs: dict[str, RunResults]) -> list[Verdict]:
    return [judge(claim, runs) for claim in CLAIMS]
