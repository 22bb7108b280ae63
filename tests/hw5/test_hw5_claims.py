"""The claims' verdicts on made-up runs: every claim holding, each spoilt in turn, partly, and not yet measurable."""
from __future__ import annotations

import pytest
from hw5_fake_runs import WORLD, panel_run, world

from hw5.claims import CLAIMS, FAILS, HOLDS, PARTLY, PENDING, judge, judge_all
from hw5.experiments import PREFIX_OF, run_name
from hw5.report import claims_section
from hw5.results import load_runs


def drawn_from(panel):
    """The run folder a panel's records come from in a world without fig1d's own folder."""
    return PREFIX_OF.get(run_name(panel), run_name(panel))


def verdicts(runs_dir, **changes):
    world(runs_dir, **changes)
    return {v.claim.number: v for v in judge_all(load_runs(runs_dir))}


def test_every_claim_holds_where_the_runs_agree_with_the_original(runs_dir):
    result = verdicts(runs_dir)
    assert {n: v.verdict for n, v in result.items()} == {c.number: HOLDS for c in CLAIMS}
    assert all(part.holds and part.text for v in result.values() for part in v.parts)


# One change per claim that makes every part of it false.
SPOILERS = {
    1: {"fig1a": dict(test=(0.12, 0.15), train=(0.30, 0.40))},
    2: {"fig1b": dict(test=(0.30, 0.60, 30), train=(0.45, 0.85, 3))},
    3: {"fig1c": dict(test=(0.35, 0.55))},
    4: {"fig3a": dict(test=(0.20, 0.30))},                                # fig1d is fig3a's first 50 epochs
    5: {"fig1e": dict(test=(0.50, 0.60)), "fig1f": dict(loss=(2.0, 0.9, 3))},
    6: {"fig2b": dict(test=(0.50, 0.70), loss=(1.8, 1.0)), "fig2a": dict(loss=[8.0] * 50)},
    7: {"fig2e": dict(train=(0.48, 0.72), test=(0.48, 0.70, 30))},
    8: {"fig3b": dict(test=(0.45, 0.60), loss=(1.9, 0.9))},
    9: {"fig3d": dict(test=(0.55, 0.66, 3))},
    10: {"fig1a": dict(loss=(2.06, 2.2))},
    11: {"fig1f": dict(loss=(2.0, 1.5))},
    12: {"fig3b": dict(train=(0.45, 0.95, 30))},
}


@pytest.mark.parametrize("number", sorted(SPOILERS))
def test_each_claim_does_not_hold_when_its_runs_say_otherwise(runs_dir, number):
    result = verdicts(runs_dir, **SPOILERS[number])
    spoilt = result[number]
    assert spoilt.verdict == FAILS
    assert spoilt.parts and not any(part.holds for part in spoilt.parts)
    assert all(part.reason for part in spoilt.parts)          # each failing part says why it may differ
    untouched = [c.number for c in CLAIMS if not set(map(drawn_from, c.panels)) & set(SPOILERS[number])]
    assert untouched and all(result[n].verdict == HOLDS for n in untouched)


def test_partly_when_some_parts_hold(runs_dir):
    result = verdicts(runs_dir, fig1a=dict(train=(0.30, 0.50)),           # LazyNet trains, but a 17-point gap
                      fig2b=dict(test=(0.50, 0.70)))                      # lr 0.1 beats 0.01 on test accuracy
    assert result[1].verdict == PARTLY and [p.holds for p in result[1].parts] == [True, False]
    assert "+16.9 points" in result[1].parts[1].text                      # the numbers are the runs'
    assert result[6].verdict == PARTLY and [p.holds for p in result[6].parts] == [False, True, True]
    assert "lr 0.1 69.8%" in result[6].parts[0].text                      # the mean of epochs 46-50


def test_a_diverged_lr10_run_is_complete_and_its_part_fails(runs_dir):
    world(runs_dir)
    panel_run(runs_dir, "fig2a", **{**WORLD["fig2a"], "diverge_at": 7})
    v = judge(CLAIMS[5], load_runs(runs_dir))
    assert v.verdict == PARTLY and [p.holds for p in v.parts] == [True, True, False]
    assert "diverged" in v.parts[2].text and "epoch 7" in v.parts[2].text


@pytest.mark.parametrize("change, waiting", [
    ({"fig2e": None}, "`fig2e` has not been run"),
    ({"fig2e": dict(done=37)}, "`fig2e` is at epoch 37/150, stopped"),
    ({"fig2e": dict(dataset="synthetic")}, "`fig2e` was trained on synthetic data"),
    ({"fig2e": dict(epochs=2)}, "`fig2e` was trained with other settings than the registry's (epochs 2, not 150)"),
    ({"fig2e": dict(lr=0.1)}, "lr 0.1, not 0.01"),
    ({"fig3a": dict(done=10)}, "`fig1d` (`fig3a`'s first 50 epochs) is at epoch 10/50"),   # fig2c = fig1d
])
def test_not_yet_measurable_until_every_run_it_needs_is_complete_and_as_registered(runs_dir, change, waiting):
    v = verdicts(runs_dir, **change)[7]
    assert v.verdict == PENDING and not v.parts
    assert any(waiting in w for w in v.waiting)


def test_the_claims_section_shows_rules_numbers_contradictions_and_what_it_waits_for(runs_dir):
    world(runs_dir, fig1e=dict(test=(0.50, 0.60)), fig3d=None)
    runs = load_runs(runs_dir)
    text = claims_section(judge_all(runs), runs)
    assert "| 5 | Of batch sizes 4, 32 and 256" in text and "| partly holds |" in text
    assert "| 9 | MSE converges more slowly than cross-entropy. | not yet measurable |" in text
    assert "Waiting for: `fig3d` has not been run." in text
    assert "**no**: batch 32 has the best test accuracy: batch 4 65.8%, batch 32 59.9%" in text
    assert "*Contradicts the original; likely reason:* at a fixed learning rate" in text
    assert "Rule: batch 32 has the highest test accuracy (the mean over the last 5 epochs, averaged over" in text
    assert ("`fig3c` (= `fig1d`), `fig3a`'s first 50 epochs (50/50 epochs): test accuracy 65.8% over the last 5 "
            "epochs") in text


def test_claims_judge_the_mean_of_the_complete_seeds(runs_dir):
    """Flips gain 3 points on seed 0 but none on seeds 1 and 2: the mean gain, 1 point, is not significant."""
    world(runs_dir, fig3b=dict(test=(0.45, 0.69, 30)))                      # seed 0: +3 points
    assert judge(CLAIMS[7], load_runs(runs_dir)).parts[0].holds
    for seed in (1, 2):
        panel_run(runs_dir, f"fig3a-seed{seed}", **WORLD["fig3a"])
        panel_run(runs_dir, f"fig3b-seed{seed}", **{**WORLD["fig3b"], "test": (0.45, 0.66, 30)})   # +0 points
    panel_run(runs_dir, "fig3b-seed3", **{**WORLD["fig3b"], "test": (0.45, 0.99)}, done=20)      # still going
    v = judge(CLAIMS[7], load_runs(runs_dir))
    assert v.counted["fig3b"].seeds == (0, 1, 2) and v.counted["fig3a"].seeds == (0, 1, 2)
    assert not v.parts[0].holds and "+1.0 points (needs at least +2 points)" in v.parts[0].text
    assert v.not_counted == ["`fig3b-seed3` is at epoch 20/200, stopped"]
    section = claims_section([v], load_runs(runs_dir))
    assert "Not counted yet: `fig3b-seed3` is at epoch 20/200, stopped." in section
    assert "`fig3b` (mean of seeds 0, 1, 2, 200/200 epochs): test accuracy 67.0%" in section


def test_a_panel_whose_only_seeds_are_unfinished_is_not_yet_measurable(runs_dir):
    world(runs_dir, fig1e=None)
    panel_run(runs_dir, "fig1e-seed1", **WORLD["fig1e"], done=12)
    v = judge(CLAIMS[4], load_runs(runs_dir))
    assert v.verdict == PENDING and v.waiting == ["`fig1e-seed1` is at epoch 12/50, stopped"]


def test_seeded_panels_are_compared_seed_for_seed(runs_dir):
    """fig3a has seeds 0, 1, 2 and fig3b only seed 0: flips are judged on seed 0 against seed 0, and fig3a's
    other seeds are named as not counted; LazyNet, trained with one seed by design, does not pair fig1d down."""
    world(runs_dir, fig3b=dict(test=(0.45, 0.69, 30)))                      # seed 0: +3 points
    for seed in (1, 2):
        panel_run(runs_dir, f"fig3a-seed{seed}", **{**WORLD["fig3a"], "test": (0.45, 0.75, 30)})
    runs = load_runs(runs_dir)
    v = judge(CLAIMS[7], runs)
    assert v.counted["fig3a"].seeds == (0,) and v.counted["fig3b"].seeds == (0,)
    assert v.parts[0].holds and "+3.0 points" in v.parts[0].text
    assert v.not_counted == ["`fig3a-seed1` (the claim's other panels have no seed 1 yet)",
                             "`fig3a-seed2` (the claim's other panels have no seed 2 yet)"]
    coolnet_wins = judge(CLAIMS[3], runs)                                  # fig1a-fig1c: seed 0 by design
    assert coolnet_wins.counted["fig1d"].seeds == (0, 1, 2) and not coolnet_wins.not_counted
