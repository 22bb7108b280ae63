"""PyTorch's official "Training a Classifier" tutorial (official_cifar10_tutorial.py, next to this file) runs on
minitorch with only its import lines changed.

The script reads ``./data`` and writes ``./cifar_net.pth``, so it runs in a temporary folder holding a tiny
CIFAR-10 in the official format (200 training images, 40 test images covering every class, so that its
per-class accuracies divide by a nonzero count).  When torch is installed the unported script runs on torch too
(with tutorial/torchvision_standin for torchvision), which shows the script and the checks are sound.
"""
from __future__ import annotations

import os
import pickle
import re

import numpy as np
import pytest
from test_tutorial_port import MINITORCH, port

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "official_cifar10_tutorial.py")
CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_cifar(folder: str, train_rows: int = 40, test_rows: int = 40) -> None:
    os.makedirs(folder)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = test_rows if name == "test_batch" else train_rows
        labels = [i % 10 for i in range(n)] if name == "test_batch" else [int(v) for v in rng.integers(0, 10, n)]
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": labels}, f, protocol=4)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [c.encode() for c in CLASSES]}, f, protocol=4)


def run(source: str, tmp_path, monkeypatch, capsys) -> str:
    import matplotlib

    matplotlib.use("Agg")  # the tutorial calls plt.show()
    write_cifar(str(tmp_path / "data" / "cifar-10-batches-py"))
    monkeypatch.chdir(tmp_path)
    exec(compile(source, SCRIPT, "exec"), {"__name__": "__main__"})
    return capsys.readouterr().out


def check(out: str, tmp_path) -> None:
    lines = out.splitlines()
    assert len(lines[0].split()) == 4 and set(lines[0].split()) <= set(CLASSES), out  # the first batch's labels
    assert "Finished Training" in lines and (tmp_path / "cifar_net.pth").exists(), out
    truth = re.search(r"^GroundTruth:  (.*)$", out, re.M)
    assert truth and truth[1].split() == list(CLASSES[:4]), out  # the test set's labels cycle through the classes
    predicted = re.search(r"^Predicted:  (.*)$", out, re.M)
    assert predicted and len(predicted[1].split()) == 4 and set(predicted[1].split()) <= set(CLASSES), out
    accuracy = re.search(r"^Accuracy of the network on the 10000 test images: (\d+) %$", out, re.M)
    assert accuracy and 0 <= int(accuracy[1]) <= 100, out
    per_class = re.findall(r"^Accuracy for class: (\w+)\s* is (\S+) %$", out, re.M)
    assert [c for c, _ in per_class] == list(CLASSES), out
    # each class has 4 test images, so the per-class accuracies are multiples of 25 and average to the total
    values = [float(v) for _, v in per_class]
    assert all(v in (0.0, 25.0, 50.0, 75.0, 100.0) for v in values), out
    assert int(accuracy[1]) == int(sum(values) / 10 // 1), out
    assert lines[-1] == "cpu", out


def test_port_changes_only_the_import_lines():
    source = open(SCRIPT).read()
    ported = port(source, MINITORCH)
    changed = [(a, b) for a, b in zip(source.splitlines(), ported.splitlines(), strict=True) if a != b]
    assert len(changed) == 6 and all("import" in a and "minitorch" in b for a, b in changed)
    assert not re.search(r"^\s*(import|from) torch", ported, re.M)


def test_official_tutorial_runs_on_minitorch_with_only_its_imports_changed(tmp_path, monkeypatch, capsys):
    check(run(port(open(SCRIPT).read(), MINITORCH), tmp_path, monkeypatch, capsys), tmp_path)


def test_official_tutorial_is_pytorch_code(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    source = port(open(SCRIPT).read(), {"torchvision": "tutorial.torchvision_standin"})
    source = source.replace("num_workers=2", "num_workers=0")  # torch's worker processes: slow to start here
    check(run(source, tmp_path, monkeypatch, capsys), tmp_path)
