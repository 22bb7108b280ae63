"""minitorch.save / minitorch.load: nested state in a pickle-free .npz, written atomically."""
from __future__ import annotations

import json
import math
import os
import pathlib
import zipfile

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
from mt_core_helpers import coolnet


def trained_checkpoint(rng):
    mt.manual_seed(0)
    net = coolnet()
    opt = mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = mt.tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    loss = mt.nn.functional.cross_entropy(net(x), mt.tensor(np.array([1, 7])))
    loss.backward()
    opt.step()
    return net, opt, {
        "model": net.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "best_accuracy": 0.6125,
        "history": {"loss": [2.3, 1.9, 1.75], "lr": [0.1, 0.1, 0.01]},
        "name": "CoolNet – batch norm ✓",
        "flags": [True, False, None],
        "shape": (3, 32, 32),
        "nested": {"a": {"b": {"c": [1, [2, {"d": np.arange(3, dtype=np.int32)}]]}}},
    }


def test_round_trip_of_a_training_checkpoint(tmp_path, rng):
    net, opt, ckpt = trained_checkpoint(rng)
    path = tmp_path / "ckpt.pt"
    mt.save(ckpt, path)
    back = mt.load(path)
    assert set(back) == set(ckpt)
    # model state: same keys in the same order, Tensors with the same dtype and values
    assert list(back["model"]) == list(ckpt["model"])
    for k, v in ckpt["model"].items():
        assert isinstance(back["model"][k], mt.Tensor), k
        assert back["model"][k].dtype == v.dtype and back["model"][k].shape == v.shape, k
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy(), err_msg=k)
    assert back["model"]["1.num_batches_tracked"].dtype == np.int64
    # optimizer state: int keys stay ints, the momentum buffers come back exactly
    assert sorted(back["optimizer"]["state"]) == list(range(18))
    assert all(isinstance(k, int) for k in back["optimizer"]["state"])
    for i, p in enumerate(net.parameters()):
        np.testing.assert_array_equal(back["optimizer"]["state"][i]["momentum_buffer"],
                                      opt.state[id(p)]["momentum_buffer"])
    assert back["optimizer"]["param_groups"] == [
        {**{k: v for k, v in ckpt["optimizer"]["param_groups"][0].items()}, "params": list(range(18))}]
    # plain values and containers keep their types
    assert back["epoch"] == 3 and isinstance(back["epoch"], int)
    assert back["best_accuracy"] == 0.6125
    assert back["history"] == ckpt["history"]
    assert back["name"] == ckpt["name"]
    assert back["flags"] == [True, False, None] and back["flags"][0] is True
    assert back["shape"] == (3, 32, 32) and isinstance(back["shape"], tuple)
    d = back["nested"]["a"]["b"]["c"][1][1]["d"]
    assert isinstance(d, np.ndarray) and d.dtype == np.int32
    np.testing.assert_array_equal(d, [0, 1, 2])


def test_loaded_state_restores_a_model(tmp_path, rng):
    net, opt, ckpt = trained_checkpoint(rng)
    mt.save(ckpt, tmp_path / "ckpt")
    mt.manual_seed(99)
    other = coolnet()
    other.load_state_dict(mt.load(tmp_path / "ckpt")["model"])
    x = mt.tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    net.eval(), other.eval()
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())


def test_special_values(tmp_path):
    obj = {"nan": math.nan, "inf": -math.inf, "big": 2**62, "neg": -7, "empty_list": [], "empty_dict": {},
           "empty_array": np.zeros((0, 3)), "scalar_array": np.array(2.5), "np_float": np.float32(1.5),
           "np_int": np.int64(4), "np_bool": np.bool_(True), 5: "int key", "f16": np.ones(2, np.float16),
           "bools": np.array([True, False]), "f64_tensor": mt.tensor(np.arange(3.0))}
    mt.save(obj, tmp_path / "s")
    back = mt.load(tmp_path / "s")
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf
    assert back["big"] == 2**62 and back["neg"] == -7 and back[5] == "int key"
    assert back["empty_list"] == [] and back["empty_dict"] == {}
    assert back["empty_array"].shape == (0, 3)
    assert back["scalar_array"].shape == () and back["scalar_array"] == 2.5
    assert back["np_float"] == 1.5 and isinstance(back["np_float"], float)
    assert back["np_int"] == 4 and isinstance(back["np_int"], int)
    assert back["np_bool"] is True
    assert back["f16"].dtype == np.float16 and back["bools"].dtype == np.bool_
    assert back["f64_tensor"].dtype == np.float64


def test_file_is_a_plain_npz_without_pickle(tmp_path, rng):
    _, _, ckpt = trained_checkpoint(rng)
    path = tmp_path / "model.ckpt"
    mt.save(ckpt, path)
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}  # raises if any member needed pickle
    assert all(a.dtype != object for a in arrays.values())
    # the model's arrays are there as ordinary members, with their values
    stored = [a for a in arrays.values() if a.shape == (6, 3, 5, 5)]
    assert len(stored) == 2  # the weight and its momentum buffer
    assert any(np.array_equal(a, ckpt["model"]["0.weight"].numpy()) for a in stored)
    # and the structure is JSON
    structure = [a for k, a in arrays.items() if a.dtype == np.uint8 and a.ndim == 1]
    assert any("dict" in json.loads(a.tobytes().decode()) for a in structure)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = tmp_path / "state.ckpt"
    mt.save({"v": 1}, path)
    assert os.listdir(tmp_path) == ["state.ckpt"]
    mt.save({"v": 2}, path)  # overwrite
    assert os.listdir(tmp_path) == ["state.ckpt"] and mt.load(path) == {"v": 2}

    def failing_savez(file, **arrays):
        file.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        mt.save({"v": 3}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["state.ckpt"]  # no temp file left behind
    assert mt.load(path) == {"v": 2}  # the previous checkpoint is intact


@pytest.mark.parametrize("name", ["model.ckpt", "no_extension", "weights.pt", "archive.npz", "dir/inner.bin"])
def test_name_is_used_as_given(tmp_path, name):
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    mt.save({"w": mt.ones(2)}, str(path))
    assert path.exists()
    assert sorted(os.listdir(path.parent)) == [path.name]
    np.testing.assert_array_equal(mt.load(str(path))["w"].numpy(), [1, 1])
    np.testing.assert_array_equal(mt.load(pathlib.Path(path))["w"].numpy(), [1, 1])


def test_loaded_tensors_are_independent_cpu_tensors(tmp_path):
    t = mt.tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)
    mt.save({"t": t}, tmp_path / "t")
    a, b = mt.load(tmp_path / "t")["t"], mt.load(tmp_path / "t")["t"]
    assert a.device == "cpu" and a.dtype == np.float32 and not a.requires_grad
    a.data[0] = 100
    assert b.numpy()[0] == 0 and t.numpy()[0] == 0


def test_module_state_dict_of_float64_model(tmp_path, float64):
    layer = nn.BatchNorm2d(3)
    mt.save(layer.state_dict(), tmp_path / "bn")
    back = mt.load(tmp_path / "bn")
    assert back["running_mean"].dtype == np.float64
    assert list(back) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
