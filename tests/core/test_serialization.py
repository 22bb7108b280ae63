"""minitorch.save / minitorch.load: nested state in a pickle-free .npz, written atomically."""
from __future__ import annotations

import io
import json
import math
import os
import pathlib
import re
import tracemalloc
import zipfile

import numpy as np
import pytest
from mt_core_helpers import coolnet

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.backend import DeviceError


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
    mt.save({"t": t, "d": t.detach() * 2}, tmp_path / "t")
    a, b = mt.load(tmp_path / "t")["t"], mt.load(tmp_path / "t")["t"]
    assert a.device == "cpu" and a.dtype == np.float32 and a.requires_grad and a.is_leaf  # kept, as in PyTorch
    assert not mt.load(tmp_path / "t")["d"].requires_grad
    a.data[0] = 100
    assert b.numpy()[0] == 0 and t.numpy()[0] == 0


def test_module_state_dict_of_float64_model(tmp_path, float64):
    layer = nn.BatchNorm2d(3)
    mt.save(layer.state_dict(), tmp_path / "bn")
    back = mt.load(tmp_path / "bn")
    assert back["running_mean"].dtype == np.float64
    assert list(back) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


# ----------------------------------------------------------------------------- whole models, devices, file objects
class Net(nn.Module):
    """A model class of the user's own, as in the PyTorch tutorial."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(4 * 3 * 3, 5)
        self.scale = 0.5
        self.shape = (4, 3, 3)

    def forward(self, x):
        return self.head(self.features(x).flatten(1)) * self.scale


def test_save_a_whole_model_and_load_it_with_weights_only_false(tmp_path, rng):
    mt.manual_seed(0)
    net = Net()
    x = mt.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    F.cross_entropy(net(x), mt.tensor([1, 3])).backward()  # training mode: running statistics move
    net.eval()
    mt.save(net, tmp_path / "net.pt")
    with pytest.raises(mt.SerializationError, match=r"holds a whole model \(class test_serialization:Net\); .*"
                                                    r"weights_only=False"):
        mt.load(tmp_path / "net.pt")
    back = mt.load(tmp_path / "net.pt", weights_only=False)
    assert type(back) is Net and not back.training and back.scale == 0.5 and back.shape == (4, 3, 3)
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.grad is None for p in back.parameters())
    assert back.features[0] is back.features.__dict__["0"]  # shared objects stay shared
    np.testing.assert_array_equal(back(x).numpy(), net(x).numpy())
    for (name, a), b in zip(net.state_dict().items(), back.state_dict().values(), strict=False):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    back.train()
    opt = mt.optim.SGD(back.parameters(), lr=0.1)
    F.cross_entropy(back(x), mt.tensor([0, 1])).backward()
    opt.step()  # a working model: trains


def test_a_class_defined_inside_a_function_cannot_be_saved_whole(tmp_path):
    class Local(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="save: the object is a .*Local, a class defined inside a function"):
        mt.save(Local(), tmp_path / "m")
    assert os.listdir(tmp_path) == []


def test_shared_tensors_come_back_shared(tmp_path):
    t = mt.tensor([1.0, 2.0])
    mt.save({"a": t, "b": [t, t]}, tmp_path / "s")
    back = mt.load(tmp_path / "s")
    assert back["a"] is back["b"][0] is back["b"][1]


def test_map_location_and_file_objects(tmp_path):
    buffer = io.BytesIO()
    mt.save({"w": mt.tensor([1.0, 2.0]), "n": 3}, buffer)
    for location in (None, "cpu", mt.device("cpu"), {"cuda:0": "cpu"}):
        buffer.seek(0)
        back = mt.load(buffer, map_location=location)
        assert back["n"] == 3 and back["w"].device == "cpu" and back["w"].tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="load: map_location must be a device, a device name or a dict of them, "
                                        "got function"):
        mt.load(buffer, map_location=lambda storage, loc: storage)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mt.load(buffer, map_location="tpu")
    with pytest.raises(TypeError, match="load: weights_only must be True or False, got 'yes'"):
        mt.load(buffer, weights_only="yes")


def test_tensors_saved_on_a_gpu_come_back_there_or_where_map_location_says(tmp_path):
    path = write_record(tmp_path, {"dict": [["w", {"tensor": "a0", "device": "cuda"}]]}, a0=np.arange(3.0))
    back = mt.load(path, map_location="cpu")
    assert back["w"].device == "cpu" and back["w"].tolist() == [0.0, 1.0, 2.0]
    assert mt.load(path, map_location={"cuda": "cpu"})["w"].device == "cpu"
    if mt.cuda.is_available():
        assert mt.load(path)["w"].device == "cuda"
    else:
        with pytest.raises(DeviceError, match="holds tensors saved on 'cuda', which this machine cannot use .*"
                                              "pass map_location='cpu'"):
            mt.load(path)


# ----------------------------------------------------------------------------- malformed structure records
def write_record(tmp_path, structure, raw: bytes | None = None, **arrays):
    """A checkpoint file with a structure record of our choosing (JSON text, or raw bytes)."""
    path = tmp_path / "crafted.ckpt"
    text = raw if raw is not None else json.dumps(structure).encode()
    np.savez(path, __structure__=np.frombuffer(text, dtype=np.uint8), **arrays)
    os.replace(str(path) + ".npz", path)
    return path


MALFORMED = {
    "json-list": ([{"value": 1}], r"root: expected an entry \(a JSON object naming its kind\), got a JSON list"),
    "number": (5, "root: expected an entry .* got int 5"),
    "empty-object": ({}, "root: expected an entry .* got a JSON object with 0 keys"),
    "string": ("tensor", "root: expected an entry .* got str 'tensor'"),
    "unknown-kind": ({"pickle": "os.system"}, "root: unknown entry kind 'pickle'"),
    "unknown-kind-inside": ({"list": [{"value": 1}, {"eval": "x"}]}, r"root\[1\]: unknown entry kind 'eval'"),
    "extra-key": ({"value": 1, "tensor": "a0"}, r"root: unexpected keys \['tensor'\] in a 'value' entry"),
    "value-holds-a-list": ({"value": [1, 2]}, "root: a 'value' entry holds a JSON list of 2 items"),
    "list-not-a-list": ({"list": {"value": 1}}, "root: expected a list of entries, got a JSON object"),
    "dict-item-not-a-pair": ({"dict": [["a"]]}, r"root: a dict item must be a \[key, entry\] pair"),
    "dict-key-null": ({"dict": [[None, {"value": 1}]]}, "root: a dict key must be a string or an integer, got "
                                                          "NoneType None"),
    "dict-key-bool": ({"dict": [[True, {"value": 1}]]}, "root: a dict key must be a string or an integer, got bool"),
    "dict-key-list": ({"dict": [[[1], {"value": 1}]]},
                      "root: a dict key must be a string or an integer, got a JSON list"),
    "dict-key-float": ({"dict": [[1.5, {"value": 1}]]}, "root: a dict key must be a string or an integer, got float"),
    "missing-array": ({"dict": [["w", {"tensor": "a7"}]]}, r"root\['w'\]: refers to the array str 'a7', which "
                                                            "the file does not hold"),
    "array-name-not-a-string": ({"array": 0}, "root: refers to the array int 0, which the file does not hold"),
    "structure-member-as-array": ({"array": "__structure__"}, "root: refers to the array str '__structure__'"),
    "bad-device": ({"tensor": "a0", "device": "tpu"}, "root: unknown device str 'tpu'"),
    "flag-not-bool": ({"tensor": "a0", "requires_grad": 1}, "root: 'requires_grad' must be true or false, got int 1"),
    "ref-out-of-range": ({"list": [{"tensor": "a0"}, {"ref": 1}]}, r"root\[1\]: a 'ref' to int 1, but 1 objects"),
    "ref-bool": ({"ref": False}, "root: a 'ref' to bool False"),
    "module-class": ({"module": "os.system"}, "root: a module class must be written 'package.module:Class'"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_structure_records_are_refused(tmp_path, name):
    structure, message = MALFORMED[name]
    path = write_record(tmp_path, structure, a0=np.arange(3.0))
    with pytest.raises(mt.SerializationError, match=f"load: {re.escape(str(path))}: {message}"):
        mt.load(path, weights_only=False)


def test_a_deeply_nested_record_is_refused(tmp_path):
    deep = '{"list": [' * 5000 + '{"value": 1}' + "]}" * 5000
    path = write_record(tmp_path, None, raw=deep.encode())
    with pytest.raises(mt.SerializationError, match="nested too deeply|nested more than 100 levels deep"):
        mt.load(path)
    within_json = '{"list": [' * 150 + '{"value": 1}' + "]}" * 150  # parses, but deeper than minitorch writes
    path = write_record(tmp_path, None, raw=within_json.encode())
    with pytest.raises(mt.SerializationError, match=r"root(\[0\]){101}: nested more than 100 levels deep"):
        mt.load(path)


@pytest.mark.parametrize("raw,message", [
    (b"\xff\xfe not utf-8", "is damaged or not a minitorch checkpoint"),
    (b'{"value": 1', "is damaged or not a minitorch checkpoint"),
], ids=["not-utf8", "truncated-json"])
def test_a_structure_record_that_is_not_json_is_refused(tmp_path, raw, message):
    with pytest.raises(mt.SerializationError, match=message):
        mt.load(write_record(tmp_path, None, raw=raw))


def test_a_structure_record_of_the_wrong_dtype_is_refused(tmp_path):
    path = tmp_path / "f.ckpt"
    with open(path, "wb") as f:
        np.savez(f, __structure__=np.array([1.0, 2.0]))
    with pytest.raises(mt.SerializationError, match="the structure record is not JSON text"):
        mt.load(path)


@pytest.mark.parametrize("array,kind", [(np.array(["a", "bc"]), "array"), (np.array([b"x"]), "array"),
                                        (np.array(["a"]), "tensor"), (np.array([1 + 2j]), "tensor")],
                         ids=["unicode-array", "bytes-array", "unicode-tensor", "complex-tensor"])
def test_string_dtypes_are_refused(tmp_path, array, kind):
    path = write_record(tmp_path, {kind: "a0"}, a0=array)
    with pytest.raises(mt.SerializationError, match=f"root: the array 'a0' has dtype {array.dtype}, which is not "
                                                    "allowed here"):
        mt.load(path)


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.ckpt"
    with open(path, "wb") as f:  # numpy pickles object arrays; load never unpickles
        np.savez(f, __structure__=np.frombuffer(b'{"array": "a0"}', dtype=np.uint8),
                 a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(mt.SerializationError, match="the array 'a0': holds pickled Python objects"):
        mt.load(path)


def test_an_integer_tensor_that_requires_grad_is_refused(tmp_path):
    path = write_record(tmp_path, {"tensor": "a0", "requires_grad": True}, a0=np.arange(3))
    with pytest.raises(mt.SerializationError, match="root: an int64 tensor cannot require grad"):
        mt.load(path)


def test_a_module_class_that_is_not_a_module_or_not_importable_is_refused(tmp_path):
    for name, message in (("os:system", "os:system is not a minitorch.nn.Module subclass"),
                          ("no_such_package_xyz:Net", "cannot import the model's class no_such_package_xyz:Net"),
                          ("minitorch.nn:Nope", "cannot import the model's class minitorch.nn:Nope")):
        path = write_record(tmp_path, {"module": name, "attributes": []})
        with pytest.raises(mt.SerializationError, match=f"root: {re.escape(message)}"):
            mt.load(path, weights_only=False)


def test_save_refuses_what_load_would_refuse(tmp_path):
    with pytest.raises(TypeError, match=re.escape("save: the object['names'] is an array of dtype <U2; only numbers "
                                                  "and booleans are stored")):
        mt.save({"names": np.array(["ab", "c"])}, tmp_path / "x")
    deep: list = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(ValueError, match="save: the object(\\[0\\]){101} is nested more than 100 levels deep"):
        mt.save(deep, tmp_path / "x")
    assert os.listdir(tmp_path) == []


# ------------------------------------------- malformed or oversized files: bounded, and SerializationError
def _zip(path, members: dict[str, bytes], compress: bool = True) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def _structure(structure) -> bytes:
    return _npy(np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8))


def test_members_the_structure_does_not_name_are_never_read(tmp_path):
    """A 200 MB member of zeros deflates to 200 KB: unnamed, it is not inflated."""
    path = tmp_path / "bomb.ckpt"
    big = np.zeros(50_000_000, np.float32)
    _zip(path, {"__structure__.npy": _structure({"list": [{"array": "a0"}]}), "a0.npy": _npy(np.arange(3.0)),
                "junk.npy": _npy(big)})
    del big
    assert os.path.getsize(path) < 1_000_000
    tracemalloc.start()
    try:
        loaded = mt.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded[0].tolist() == [0.0, 1.0, 2.0]
    assert peak < 20_000_000, peak


@pytest.mark.parametrize("case, message", [
    ("shape larger than the member", r"declares shape \(1000000000000,\) \(8000000000000 bytes\) but the member "
                                     r"holds 24"),
    ("member larger than the shape", r"declares shape \(3,\) \(24 bytes\) but the member holds 800"),
    ("zip directory lying about the size", "compressed bytes cannot hold"),
    ("truncated member", "damaged|ends after"),
])
def test_a_member_must_hold_what_it_declares(tmp_path, case, message):
    path = tmp_path / "f.ckpt"
    header = io.BytesIO()
    if case == "shape larger than the member":
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        member = header.getvalue() + np.arange(3.0).tobytes()
    elif case == "member larger than the shape":
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (3,)})
        member = header.getvalue() + np.arange(100.0).tobytes()
    else:
        member = _npy(np.arange(1000.0))
    _zip(path, {"__structure__.npy": _structure({"array": "a0"}), "a0.npy": member})
    data = bytearray(path.read_bytes())
    if case == "zip directory lying about the size":   # the central directory's uncompressed size, set to 4 GB-1
        at = data.rfind(b"PK\x01\x02")
        data[at + 24:at + 28] = b"\xfe\xff\xff\xff"
        path.write_bytes(bytes(data))
    elif case == "truncated member":
        start = data.find(b"a0.npy") + len("a0.npy")
        body = data.find(b"PK\x01\x02")
        data[start + 40:body] = b"\x00" * (body - start - 40)   # garbage in the deflated stream
        path.write_bytes(bytes(data))
    with pytest.raises(mt.SerializationError, match=message):
        mt.load(path)


def test_a_text_file_is_not_a_checkpoint_and_is_not_told_to_unpickle(tmp_path):
    path = tmp_path / "notes.ckpt"
    path.write_text("my notes\n")
    with pytest.raises(mt.SerializationError) as info:
        mt.load(path)
    assert "not a minitorch checkpoint: it is not a zip (.npz) file" in str(info.value)
    assert "pickle" not in str(info.value)
