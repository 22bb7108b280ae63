"""A PyTorch tutorial-style script (cifar_tutorial.py, next to this file) ports by changing its imports only.

The script trains LeNet with BatchNorm and Dropout using Adam, a cosine schedule, label smoothing and
gradient clipping, evaluates with ``torch.max(outputs.data, 1)``, saves and reloads the state_dict, and
gathers the predictions with ``torch.cat`` of per-batch ``argmax``.  (PyTorch's official tutorial itself:
test_official_tutorial.py.)
The test rewrites its import lines (``torch`` -> ``minitorch``, ``torchvision`` -> ``minitorch.vision``)
and runs it on a tiny CIFAR-10 written in the official format (no download).  When torch is installed,
the unported script also runs on torch (with minitorch.vision standing in for torchvision, which is not
installed here; tutorial/torchvision_standin hands its samples to torch as torch Tensors), which shows
that the script really is PyTorch code and that the checks below can pass.
"""
from __future__ import annotations

import math
import os
import pickle
import re

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "cifar_tutorial.py")
EPOCHS = 2
IMPORT = re.compile(r"^(?P<indent>\s*)(?:import (?P<module>[\w.]+)(?: as (?P<alias>\w+))?"
                    r"|from (?P<source>[\w.]+) import (?P<names>.+))$")


def rename(module: str, mapping: dict[str, str]) -> str:
    root, dot, rest = module.partition(".")
    return mapping[root] + dot + rest if root in mapping else module


def port(source: str, mapping: dict[str, str]) -> str:
    """Rewrite the import lines of ``source`` by ``mapping`` (top-level package -> replacement), keeping the
    names they bind: ``import torch`` becomes ``import minitorch as torch``."""
    lines = []
    for line in source.splitlines():
        m = IMPORT.match(line)
        if m and m["module"] and m["module"].partition(".")[0] in mapping:
            if m["alias"] is None and "." in m["module"]:
                raise ValueError(f"port: {line.strip()!r} binds its top-level package; add 'as <name>'")
            alias = m["alias"] or m["module"]
            line = f"{m['indent']}import {rename(m['module'], mapping)} as {alias}"
        elif m and m["source"] and m["source"].partition(".")[0] in mapping:
            line = f"{m['indent']}from {rename(m['source'], mapping)} import {m['names']}"
        lines.append(line)
    return "\n".join(lines) + "\n"


MINITORCH = {"torch": "minitorch", "torchvision": "minitorch.vision"}


def write_tiny_cifar(root: str, per_batch: int = 40, test_rows: int = 40) -> None:
    """root/cifar-10-batches-py as the official archive lays it out, with random images."""
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = test_rows if name == "test_batch" else per_batch
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batch, f, protocol=4)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [c.encode() for c in ("airplane", "automobile", "bird", "cat", "deer", "dog",
                                                           "frog", "horse", "ship", "truck")]}, f, protocol=4)


def run_script(source: str, tmp_path, monkeypatch, capsys, workers: int = 2) -> str:
    write_tiny_cifar(str(tmp_path / "data"))
    for key, value in dict(CIFAR_ROOT=tmp_path / "data", EPOCHS=EPOCHS, BATCH_SIZE=16, NUM_WORKERS=workers,
                           CHECKPOINT=tmp_path / "cifar_net.pth").items():
        monkeypatch.setenv(key, str(value))
    exec(compile(source, SCRIPT, "exec"), {"__name__": "__main__"})
    return capsys.readouterr().out


def check_output(out: str) -> None:
    """Every epoch reports a finite loss, the lr follows the cosine to 0, and the reloaded network scores
    exactly what it scored before it was saved."""
    epochs = re.findall(r"\[epoch (\d+)\] loss: (\S+)  val accuracy: (\S+) %  lr: (\S+)", out)
    assert [int(e[0]) for e in epochs] == list(range(1, EPOCHS + 1)), out
    for _, loss, val, _ in epochs:
        assert math.isfinite(float(loss)) and 0 <= float(val) <= 100, out
    lrs = [float(e[3]) for e in epochs]
    expected = [1e-3 * (1 + math.cos(math.pi * (e + 1) / EPOCHS)) / 2 for e in range(EPOCHS)]
    np.testing.assert_allclose(lrs, expected, atol=1e-6)
    final = re.search(r"Accuracy of the network on the 40 test images: (\S+) % \(before saving: (\S+) %\)", out)
    assert final and final[1] == final[2], out
    cat = re.search(r"argmax accuracy: (\S+) % over (\d+) predictions of dtype (\S+)", out)  # torch.cat, argmax
    assert cat and cat[1] == final[1] and cat[2] == "40" and cat[3].endswith("int64"), out


def test_port_changes_only_the_import_lines():
    source = open(SCRIPT).read()
    ported = port(source, MINITORCH)
    pairs = list(zip(source.splitlines(), ported.splitlines(), strict=False))
    assert len(pairs) == len(source.splitlines()) == len(ported.splitlines())
    changed = [(a, b) for a, b in pairs if a != b]
    assert len(changed) == 7
    assert all(IMPORT.match(a) and IMPORT.match(b) for a, b in changed)
    assert "import minitorch as torch" in ported and "import minitorch.vision.transforms as transforms" in ported
    assert "from minitorch.utils.data import DataLoader, random_split" in ported
    assert not re.search(r"^\s*(import|from) torch", ported, re.M)


def test_tutorial_runs_on_minitorch_with_only_its_imports_changed(tmp_path, monkeypatch, capsys):
    check_output(run_script(port(open(SCRIPT).read(), MINITORCH), tmp_path, monkeypatch, capsys))


def test_tutorial_is_pytorch_code(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    source = port(open(SCRIPT).read(), {"torchvision": "tutorial.torchvision_standin"})
    check_output(run_script(source, tmp_path, monkeypatch, capsys, workers=0))  # torch's worker processes: slow
