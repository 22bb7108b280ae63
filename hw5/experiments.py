"""The registry of experiments: one named configuration per panel of the report.

Every experiment is the assignment's defaults (:class:`Config`) with a few
fields changed, so the registry reads as a list of exactly what each panel
varies.  Any field can be overridden afterwards (``--set key=value``).
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any


@dataclass
class Config:
    """One training run.  The defaults are the assignment's."""

    name: str
    title: str = ""                  # the panel caption in the report
    figure: str = ""                 # which report figure the run is a panel of ("fig1")
    model: str = "coolnet"           # lazynet | boringnet | coolnet
    activation: bool = True          # BoringNet: ReLU between layers, or none
    epochs: int = 50
    batch_size: int = 4
    lr: float = 0.01
    momentum: float = 0.0            # plain SGD
    lr_step: int = 0                 # StepLR step_size in epochs; 0 keeps the rate constant
    lr_gamma: float = 1.0            # StepLR factor
    loss: str = "cross_entropy"      # cross_entropy | mse (on one-hot targets)
    flip: bool = False               # random horizontal flips of training images
    dataset: str = "auto"            # cifar10 | synthetic | auto (CIFAR-10 if found, else synthetic)
    data_dir: str | None = None      # CIFAR-10 root; None: $MINITORCH_DATA or ~/.cache/minitorch
    train_size: int | None = None    # use only the first N training images (None: all)
    test_size: int | None = None     # use only the first N test images (None: all)
    eval_batch_size: int = 1000
    log_every: int = 250             # iterations per point of the iteration loss curve
    seed: int = 0                    # model initialisation and data order
    device: str = "cpu"
    capture: bool = True             # train through minitorch.capture: replays are bit-identical to eager steps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Rebuild a saved config, ignoring fields this version no longer has; ValueError on a wrong type."""
        types = field_types()
        values = {k: v for k, v in data.items() if k in types}
        for key, value in values.items():
            if not _has_type(value, types[key]):
                raise ValueError(f"field {key!r} is {value!r}, not of type {_type_name(types[key])}")
        return cls(**values)


# What a resumed run may change: none of it alters the numbers of the epochs already run.
RESUMABLE = frozenset({"epochs", "device", "data_dir", "capture"})


def differing_fields(saved: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """The config fields, besides the resumable ones, on which two saved configs disagree."""
    fields = {f.name for f in dataclasses.fields(Config)} - RESUMABLE
    return sorted(k for k in fields if k in saved and saved.get(k) != other.get(k))


def _panel(name: str, title: str, **changes: Any) -> Config:
    return Config(name=name, title=title, figure=name[:4], **changes)


EXPERIMENTS: dict[str, Config] = {c.name: c for c in [
    _panel("fig1a", "LazyNet", model="lazynet"),
    _panel("fig1b", "BoringNet", model="boringnet"),
    _panel("fig1c", "BoringNet without activations", model="boringnet", activation=False),
    _panel("fig1d", "CoolNet, batch size 4", batch_size=4),
    _panel("fig1e", "CoolNet, batch size 32", batch_size=32),
    _panel("fig1f", "CoolNet, batch size 256", batch_size=256),
    _panel("fig2a", "CoolNet, learning rate 10", lr=10.0),
    _panel("fig2b", "CoolNet, learning rate 0.1", lr=0.1),
    _panel("fig2c", "CoolNet, learning rate 0.01", lr=0.01),
    _panel("fig2d", "CoolNet, learning rate 0.0001", lr=0.0001),
    _panel("fig2e", "CoolNet, 150 epochs, lr x0.9 every 50 epochs", epochs=150, lr_step=50, lr_gamma=0.9),
    _panel("fig3a", "CoolNet, 200 epochs", epochs=200),
    _panel("fig3b", "CoolNet, 200 epochs, random flips", epochs=200, flip=True),
    _panel("fig3c", "CoolNet, cross-entropy loss", loss="cross_entropy"),
    _panel("fig3d", "CoolNet, MSE loss", loss="mse"),
]}

FIGURES: dict[str, list[str]] = {}
for _config in EXPERIMENTS.values():
    FIGURES.setdefault(_config.figure, []).append(_config.name)


def _training(config: Config) -> dict[str, Any]:
    """What decides a run's numbers: everything but its name and captions."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in ("name", "title", "figure")}


# Panels that are exactly an earlier panel's run (fig2c and fig3c are fig1d's settings): trained once, under
# the earlier name, and drawn from that run wherever they appear.
SAME_AS: dict[str, str] = {}
for _config in EXPERIMENTS.values():
    for _earlier in EXPERIMENTS.values():
        if _earlier.name < _config.name and _earlier.name not in SAME_AS and _training(_earlier) == _training(_config):
            SAME_AS[_config.name] = _earlier.name


def learning_rates(config: Config, epochs: int) -> list[float]:
    """The learning rate of each of the first ``epochs`` epochs (StepLR: times lr_gamma every lr_step epochs)."""
    step = config.lr_step
    return [config.lr * config.lr_gamma ** ((e - 1) // step) if step else config.lr for e in range(1, epochs + 1)]


def _is_prefix(short: Config, long: Config) -> bool:
    """Whether ``short``'s run is exactly the first ``short.epochs`` epochs of ``long``'s: everything that decides
    the numbers agrees, but for the epoch count and a schedule that changes the rate only after those epochs."""
    if long.epochs <= short.epochs:
        return False
    schedule = ("epochs", "lr_step", "lr_gamma")
    same = {k: v for k, v in _training(short).items() if k not in schedule}
    return (same == {k: v for k, v in _training(long).items() if k not in schedule}
            and learning_rates(short, short.epochs) == learning_rates(long, short.epochs))


# Panels whose run is the start of a longer panel's run (fig1d is fig3a's first 50 epochs): the report draws
# them from that run, so one setting always shows one curve, and `run all` trains only the longer run.  Of
# several longer runs, the one agreeing on the most fields (fig3a, not the decayed fig2e) and then the longest.
PREFIX_OF: dict[str, str] = {}
for _config in EXPERIMENTS.values():
    _longer = [c for c in EXPERIMENTS.values()
               if c.name not in SAME_AS and _config.name not in SAME_AS and _is_prefix(_config, c)]
    if _longer:
        PREFIX_OF[_config.name] = min(_longer, key=lambda c: (
            sum(_training(c)[k] != _training(_config)[k] for k in ("lr_step", "lr_gamma")), -c.epochs, c.name)).name


# Seeds.  A panel's own run (``fig3a``) has seed 0; the run ``fig3a-seed1`` is the same panel with seed 1.
# The panels behind the report's close calls (batch size, decay, flips, and fig1f's gap to PyTorch) are
# trained with every seed in SEEDS, and the report shows their mean and spread.
SEEDS = (0, 1, 2)
SEEDED = ("fig1e", "fig1f", "fig2e", "fig3a", "fig3b")   # fig1d is fig3a's first 50 epochs
_SEED_SUFFIX = "-seed"


def seeded_name(panel: str, seed: int) -> str:
    """The run of ``panel`` with ``seed``: the panel's own name for seed 0, ``<panel>-seed<N>`` otherwise."""
    return panel if seed == 0 else f"{panel}{_SEED_SUFFIX}{seed}"


def split_seed(name: str) -> tuple[str, int]:
    """``"fig3a-seed2"`` -> ``("fig3a", 2)``; ``"fig3a"`` -> ``("fig3a", 0)``; KeyError for an unknown panel."""
    panel, sep, number = name.partition(_SEED_SUFFIX)
    if panel not in EXPERIMENTS or (sep and not (number.isdigit() and number == str(int(number)) != "0")):
        raise KeyError(f"unknown experiment {name!r}; `python -m hw5 list` shows them: {', '.join(EXPERIMENTS)} "
                       f"(add {_SEED_SUFFIX}N for seed N, e.g. fig3a{_SEED_SUFFIX}1)")
    return panel, int(number) if sep else 0


def seed_runs() -> list[str]:
    """The runs beyond seed 0 that the report's seed statistics need (``fig1d-seed1`` ...)."""
    return [seeded_name(panel, seed) for seed in SEEDS if seed for panel in SEEDED]


def run_name(panel: str) -> str:
    """The name of the run that a panel is drawn from (``fig2c`` -> ``fig1d``, ``fig2c-seed1`` -> ``fig1d-seed1``)."""
    base, seed = split_seed(panel)
    return seeded_name(SAME_AS.get(base, base), seed)


def is_seeded(panel: str) -> bool:
    """Whether the panel is meant to have every seed in SEEDS (its own run, or the longer run it is the start of)."""
    base = run_name(panel)
    return base in SEEDED or PREFIX_OF.get(base) in SEEDED


def get_experiment(name: str) -> Config:
    """A fresh copy of the registered config ``name`` (``<panel>-seed<N>``: the panel's, with seed N)."""
    panel, seed = split_seed(name)
    return dataclasses.replace(EXPERIMENTS[panel], name=name, seed=seed)


def field_types() -> dict[str, Any]:
    return typing.get_type_hints(Config)


def _has_type(value: Any, kind: Any) -> bool:
    """isinstance for the field types used here (``int | None`` and the like; an int is a float too)."""
    kinds = typing.get_args(kind) or (kind,)
    if isinstance(value, bool):
        return bool in kinds
    return any(isinstance(value, (int, float) if k is float else k) for k in kinds)


def _type_name(kind: Any) -> str:
    return " or ".join("none" if k is type(None) else k.__name__ for k in (typing.get_args(kind) or (kind,)))


def parse_value(key: str, text: str) -> Any:
    """Turn the text of ``--set key=text`` into the type the field declares."""
    types = field_types()
    if key not in types:
        raise KeyError(f"unknown config field {key!r}; fields: {', '.join(types)}")
    kind = types[key]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    optional = len(args) < len(typing.get_args(kind))
    if optional:
        if text.lower() in ("none", "null", ""):
            return None
        kind = args[0]
    if kind is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}: expected true or false, got {text!r}")
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{key}: expected {kind.__name__}, got {text!r}") from None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"lr=0.1"`` -> ``("lr", 0.1)``."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--set expects key=value, got {text!r}")
    key = key.strip().replace("-", "_")
    return key, parse_value(key, value.strip())


def with_overrides(config: Config, overrides: dict[str, Any]) -> Config:
    """``config`` with some fields replaced, validated."""
    unknown = set(overrides) - set(field_types())
    if unknown:
        raise KeyError(f"unknown config field(s) {sorted(unknown)}")
    return validate(dataclasses.replace(config, **overrides))


# The largest epoch count a run may plan: far beyond any experiment here (a CoolNet epoch takes 20-30 s, so
# this is years), and small enough for every number derived from it (the plots' axes) to stay a float.
MAX_EPOCHS = 100_000

# The most images ``train_size`` and ``test_size`` may ask for: CIFAR-10's (a larger size only means all of
# them there), and what the synthetic set generates at most, rather than run out of memory.
MAX_IMAGES = {"train_size": 50_000, "test_size": 10_000}


def validate(config: Config) -> Config:
    """Reject settings that would only fail later, in the middle of a run (or in the report after it)."""
    problems = []
    if config.model.lower() not in ("lazynet", "boringnet", "coolnet"):
        problems.append(f"model must be lazynet, boringnet or coolnet, not {config.model!r}")
    if config.loss not in ("cross_entropy", "mse"):
        problems.append(f"loss must be cross_entropy or mse, not {config.loss!r}")
    if config.dataset not in ("cifar10", "synthetic", "auto"):
        problems.append(f"dataset must be cifar10, synthetic or auto, not {config.dataset!r}")
    if config.device not in ("cpu", "cuda"):
        problems.append(f"device must be cpu or cuda, not {config.device!r}")
    for key in ("epochs", "batch_size", "eval_batch_size", "log_every"):
        if getattr(config, key) <= 0:
            problems.append(f"{key} must be positive, got {getattr(config, key)}")
    if config.epochs > MAX_EPOCHS:
        problems.append(f"epochs must be at most {MAX_EPOCHS}, got {config.epochs}")
    for key, most in MAX_IMAGES.items():
        size = getattr(config, key)
        if size is not None and not 0 < size <= most:
            problems.append(f"{key} must be from 1 to {most} (or none: all images), got {size}")
    for key in ("lr", "momentum", "lr_gamma"):   # what SGD and StepLR accept: finite, not negative
        value = getattr(config, key)
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"{key} must be a finite number, not negative, got {value}")
    if config.lr_step < 0:
        problems.append(f"lr_step must not be negative, got {config.lr_step}")
    if problems:
        raise ValueError(f"{config.name}: " + "; ".join(problems))
    return config
