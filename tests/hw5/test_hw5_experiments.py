"""The registry: one experiment per panel, each differing from the defaults in what its panel varies."""
from __future__ import annotations

import pytest

from hw5.experiments import (
    EXPERIMENTS,
    FIGURES,
    Config,
    get_experiment,
    parse_assignment,
    parse_value,
    with_overrides,
)


def test_assignment_defaults():
    c = Config(name="x")
    assert (c.lr, c.momentum, c.batch_size, c.epochs, c.loss, c.seed) == (0.01, 0.0, 4, 50, "cross_entropy", 0)


def test_one_experiment_per_panel():
    assert list(EXPERIMENTS) == ["fig1a", "fig1b", "fig1c", "fig1d", "fig1e", "fig1f",
                                 "fig2a", "fig2b", "fig2c", "fig2d", "fig2e",
                                 "fig3a", "fig3b", "fig3c", "fig3d"]
    assert FIGURES["fig1"] == ["fig1a", "fig1b", "fig1c", "fig1d", "fig1e", "fig1f"]
    assert all(c.figure == name[:4] for name, c in EXPERIMENTS.items())


def _changes(name):
    """The fields in which an experiment differs from the defaults (captions aside)."""
    base, config = Config(name=name).to_dict(), EXPERIMENTS[name].to_dict()
    return {k: v for k, v in config.items() if base[k] != v and k not in ("title", "figure")}


@pytest.mark.parametrize("name, changes", [
    ("fig1a", {"model": "lazynet"}),
    ("fig1b", {"model": "boringnet"}),
    ("fig1c", {"model": "boringnet", "activation": False}),
    ("fig1d", {}),
    ("fig1e", {"batch_size": 32}),
    ("fig1f", {"batch_size": 256}),
    ("fig2a", {"lr": 10.0}),
    ("fig2b", {"lr": 0.1}),
    ("fig2c", {}),
    ("fig2d", {"lr": 0.0001}),
    ("fig2e", {"epochs": 150, "lr_step": 50, "lr_gamma": 0.9}),
    ("fig3a", {"epochs": 200}),
    ("fig3b", {"epochs": 200, "flip": True}),
    ("fig3c", {}),
    ("fig3d", {"loss": "mse"}),
])
def test_each_experiment_changes_only_what_its_panel_varies(name, changes):
    assert _changes(name) == changes
    assert EXPERIMENTS[name].model == changes.get("model", "coolnet")


def test_get_experiment_returns_a_copy():
    c = get_experiment("fig1a")
    c.lr = 5.0
    assert EXPERIMENTS["fig1a"].lr == 0.01


def test_unknown_experiment():
    with pytest.raises(KeyError, match="unknown experiment 'fig9z'"):
        get_experiment("fig9z")


def test_overrides_are_applied_and_validated():
    c = with_overrides(get_experiment("fig1e"), {"epochs": 3, "lr": 0.5})
    assert (c.epochs, c.lr, c.batch_size) == (3, 0.5, 32)
    with pytest.raises(ValueError, match="epochs must be positive"):
        with_overrides(c, {"epochs": 0})
    with pytest.raises(ValueError, match="loss must be"):
        with_overrides(c, {"loss": "hinge"})
    with pytest.raises(KeyError, match="unknown config field"):
        with_overrides(c, {"learning_rate": 1})


@pytest.mark.parametrize("text, expected", [
    ("lr=0.5", ("lr", 0.5)),
    ("epochs=7", ("epochs", 7)),
    ("flip=true", ("flip", True)),
    ("activation=no", ("activation", False)),
    ("train_size=none", ("train_size", None)),
    ("train_size=500", ("train_size", 500)),
    ("data_dir=/tmp/x", ("data_dir", "/tmp/x")),
    ("batch-size=8", ("batch_size", 8)),
])
def test_parse_assignment_converts_to_the_field_type(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("key, text, error", [
    ("epochs", "two", ValueError), ("flip", "maybe", ValueError), ("nope", "1", KeyError),
])
def test_parse_value_rejects_bad_input(key, text, error):
    with pytest.raises(error):
        parse_value(key, text)


def test_config_round_trips_through_a_dict():
    c = with_overrides(get_experiment("fig3b"), {"train_size": 10})
    assert Config.from_dict({**c.to_dict(), "data": {"name": "synthetic"}}) == c
