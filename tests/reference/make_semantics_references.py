"""Write tests/reference/semantics.npz: PyTorch's results for the tensor semantics minitorch follows.

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_semantics_references.py

The cases (functions of a framework adapter, run the same way on torch and on minitorch by
tests/core/test_semantics_parity.py) cover 0-d tensors (in-place ops, gradients, zero_grad), dtype
promotion, PyTorch's indexing of mixed integer and advanced indices, average pooling next to inf and NaN,
cross-entropy with weights, ignored rows, label smoothing, class probabilities and (N, C, d1, ...) inputs,
the sigmoid's tails, and the inputs where minitorch used to raise (0-d and empty reductions, unbatched
images, broadcast MSE).  Each case returns named results; a tensor is stored as its values (key ``name``)
and its dtype (key ``name:dtype``), a number as a 0-d array.  Keys are ``<case>:<result>``; no pickle.
Only NumPy is needed to import this module; torch is imported by :func:`torch_framework`.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13.0"
INF, NAN = float("inf"), float("nan")
Framework = SimpleNamespace  # lib (torch or minitorch), nn, F, optim, clip_grad_norm_


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- 0-d tensors
def zero_d_training_steps(fw):
    """The issue's example: three steps of ((w - 3) ** 2).backward(); w -= 0.1 * w.grad; w.grad.zero_()."""
    w = fw.lib.tensor(1.0, requires_grad=True)
    for _ in range(3):
        ((w - 3) ** 2).backward()
        with fw.lib.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
    return {"w": w, "grad": w.grad}


def zero_d_inplace(fw):
    x = fw.lib.tensor(rng(1).standard_normal(3), requires_grad=True)
    loss = 0
    for i in range(3):
        loss += (x * i).sum()
    loss.backward()
    t = x.detach().sum()
    t += 1
    a = t.clone()
    a.add_(2.5)
    c = t.clone()
    c.copy_(fw.lib.tensor(7.0, dtype=c.dtype))
    y = t.clone()
    y[...] = 5
    return {"loss": loss, "grad": x.grad, "t": t, "add_": a, "copy_": c, "setitem": y}


def zero_d_relu_and_clip(fw):
    w = fw.lib.tensor(2.0, requires_grad=True)
    r = fw.F.relu(w * 3 - 1)
    (r * 4).backward()
    total = fw.clip_grad_norm_([w], 1.5)
    return {"relu": r, "total_norm": total, "clipped": w.grad}


def zero_d_zero_grad_keeps_tensor(fw):
    w = fw.lib.tensor(0.5, requires_grad=True)
    opt = fw.optim.SGD([w], lr=0.1)
    for _ in range(2):
        (w * w * 3).backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
    return {"w": w, "grad": w.grad}


# ----------------------------------------------------------------------------- dtype promotion
PROMOTION: dict[str, Callable] = {
    "f32_dim_times_f64_0d": lambda L: L.ones(3) * L.tensor(2.0, dtype=L.float64),
    "f64_dim_plus_f32_0d": lambda L: L.ones(3, dtype=L.float64) + L.tensor(1.5),
    "f32_0d_plus_f64_0d": lambda L: L.tensor(1.5) + L.tensor(1.25, dtype=L.float64),
    "i64_plus_f64_0d": lambda L: L.arange(3) + L.tensor(0.5, dtype=L.float64),
    "int_true_div_int": lambda L: L.arange(3) / 2,
    "int_div_int_tensor": lambda L: L.arange(3) / L.arange(1, 4),
    "int_rdiv": lambda L: 1 / L.arange(1, 4),
    "exp_int": lambda L: L.arange(3).exp(),
    "log_int": lambda L: L.arange(1, 4).log(),
    "tanh_int": lambda L: L.arange(3).tanh(),
    "sigmoid_int": lambda L: L.arange(3).sigmoid(),
    "f32_plus_i64": lambda L: L.ones(2) + L.arange(2),
    "f32_times_i64": lambda L: L.ones(2) * L.arange(2),
    "i64_minus_f32": lambda L: L.arange(2) - L.ones(2),
    "cat_f32_i64": lambda L: L.cat([L.ones(2), L.arange(2)]),
    "stack_i64_f32": lambda L: L.stack([L.arange(2), L.ones(2)]),
    "accuracy": lambda L: (L.tensor([1, 2, 3]) == L.tensor([1, 0, 3])).sum() / 3,
    "bool_plus_bool": lambda L: L.tensor([True, False]) + L.tensor([True, True]),
    "bool_times_bool": lambda L: L.tensor([True, False]) * L.tensor([True, True]),
    "bool_plus_int": lambda L: L.tensor([True, False]) + 1,
    "bool_plus_float": lambda L: L.tensor([True, False]) + 1.5,
    "bool_div_bool": lambda L: L.tensor([True, False]) / L.tensor([True, True]),
    "bool_sum": lambda L: L.tensor([True, False, True]).sum(),
    "int_times_float": lambda L: L.arange(3) * 2.5,
    "int_0d_plus_float": lambda L: L.tensor(2) + 2.5,
    "int_pow_int": lambda L: L.arange(3) ** 2,
    "int_pow_float": lambda L: L.arange(3) ** 0.5,
    "bool_pow_int": lambda L: L.tensor([True, False]) ** 2,
    "int_rpow": lambda L: 2 ** L.arange(3),
    "float_rpow_int": lambda L: 2.0 ** L.arange(3),
    "int_eq_float": lambda L: L.arange(3) == 2.5,
    "f32_eq_f64_0d": lambda L: L.tensor([0.1, 0.2]) == L.tensor(0.1, dtype=L.float64),
}


def promotion(fw):
    return {name: f(fw.lib) for name, f in PROMOTION.items()}


PROMOTED_DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float32", "float64"]
PYTHON_NUMBERS = [True, 3, 2.5]


def result_type_table(fw):
    """The dtype of a * b for every pair of a dimensioned tensor, a 0-d tensor and a Python number."""
    def operand(kind, dtype):
        values = np.array([1, 0] if kind == "dim" else 1).astype(dtype)
        return fw.lib.tensor(values)

    names = []
    for kind_a in ("dim", "0d"):
        for a in PROMOTED_DTYPES:
            for kind_b in ("dim", "0d"):
                for b in PROMOTED_DTYPES:
                    names.append(dtype_name((operand(kind_a, a) * operand(kind_b, b)).dtype))
            for number in PYTHON_NUMBERS:
                names.append(dtype_name((operand(kind_a, a) * number).dtype))
                names.append(dtype_name((number * operand(kind_a, a)).dtype))
    return {"dtypes": np.array(names)}


# ----------------------------------------------------------------------------- indexing
INDEXES = {
    "int_slice_list": (0, slice(None), [1, 2]),
    "list_slice_list": ([0, 1], slice(None), [1, 2]),
    "slice_int_list": (slice(None), 0, [1, 2]),
    "list_int_list": ([0], 0, [1, 2]),
    "int_list_list": (0, [0, 1], [1, 2]),
    "ellipsis_int_list": (Ellipsis, 0, [1, 2]),
    "list_int": ([0, 1], 0),
    "none_int_slice_list": (None, 0, slice(None), [1, 2]),
    "int_none_list": (0, None, [1, 2]),
    "repeated": (1, slice(None), [2, 2, 0]),
    "int_mask2d": (0, [[True, False, True, False]] * 3),
    "int_mask": (1, [True, False, True]),
    "int_slice_column": (0, slice(1, None), [[1], [2]]),
}


def _index(fw, index):
    return tuple(fw.lib.tensor(i) if isinstance(i, list) else i for i in index)


def indexing(fw):
    x0 = rng(2).standard_normal((2, 3, 4))
    out = {}
    for name, index in INDEXES.items():
        x = fw.lib.tensor(x0, requires_grad=True)
        y = x[_index(fw, index)]
        y.backward(fw.lib.tensor(rng(3).standard_normal(tuple(y.shape))))
        z = fw.lib.tensor(x0)
        z[_index(fw, index)] = fw.lib.tensor(np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape)))
        out.update({f"{name}:get": y, f"{name}:grad": x.grad, f"{name}:set": z})
    labels = fw.lib.tensor([2, 0])
    out["list_by_0d_tensor"] = np.array([[10, 20, 30][labels[j]] for j in range(2)])
    out["int_by_0d_tensor"] = fw.lib.arange(12).reshape(3, 4)[1, labels[0]]
    return out


def indexing_setitem_grad(fw):
    """x[0, :, [1, 2]] = v recorded for backward: the gradients of the overwritten tensor and of v."""
    x = fw.lib.tensor(rng(4).standard_normal((2, 3, 4)), requires_grad=True)
    v = fw.lib.tensor(rng(5).standard_normal((3, 2)), requires_grad=True)
    y = x * 1
    y[0, :, [1, 2]] = v * 2
    y.backward(fw.lib.tensor(rng(6).standard_normal((2, 3, 4))))
    return {"y": y, "x_grad": x.grad, "v_grad": v.grad}


# ----------------------------------------------------------------------------- pooling next to inf and NaN
def _nonfinite_image() -> np.ndarray:
    x = rng(7).standard_normal((1, 2, 5, 6))
    x[0, 0, 0, 0], x[0, 0, 3, 4], x[0, 1, 2, 2] = INF, NAN, -INF
    return x


POOLS = {
    "avg_k2": lambda F, t: F.avg_pool2d(t, 2),
    "avg_k3_s1_p1": lambda F, t: F.avg_pool2d(t, 3, 1, 1),
    "avg_k3_s2_p1_ceil_exclude": lambda F, t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "adaptive_2x4": lambda F, t: F.adaptive_avg_pool2d(t, (2, 4)),
    "adaptive_1": lambda F, t: F.adaptive_avg_pool2d(t, 1),
}


def pooling_nonfinite(fw):
    out = {}
    for name, pool in POOLS.items():
        x = fw.lib.tensor(_nonfinite_image(), requires_grad=True)
        y = pool(fw.F, x)
        y.backward(fw.lib.tensor(rng(8).standard_normal(tuple(y.shape))))
        out[f"{name}:out"], out[f"{name}:grad"] = y, x.grad
    return out


# ----------------------------------------------------------------------------- cross-entropy
def _ce(fw, logits, target, reduction="mean", weight=None, **kw):
    x = fw.lib.tensor(np.asarray(logits, dtype=np.float64), requires_grad=True)
    t = fw.lib.tensor(target)
    if weight is not None:
        kw["weight"] = fw.lib.tensor(np.asarray(weight, dtype=np.float64))
    loss = fw.F.cross_entropy(x, t, reduction=reduction, **kw)
    loss.backward(fw.lib.tensor(rng(9).standard_normal(tuple(loss.shape))))
    return loss, x.grad


def cross_entropy_nonfinite(fw):
    out = {}
    cases = {
        "neg_inf_weight": ([[0, -INF, 1]], np.array([2]), dict(weight=[1.0, 1.0, 1.0])),
        "neg_inf_smoothing": ([[0, -INF, 1], [1, 2, 0]], np.array([2, 0]), dict(label_smoothing=0.1)),
        "neg_inf_ignored_class": ([[0, -INF, 1], [1, 2, 0]], np.array([1, 0]), dict(ignore_index=1,
                                                                                    weight=[1.0, 2.0, 0.5])),
        "nan_ignored_row": ([[0, NAN, 1], [1, 2, 3]], np.array([-100, 1]), {}),
        "nan_ignored_row_weight": ([[0, NAN, 1], [1, 2, 3]], np.array([-100, 1]), dict(weight=[1.0, 2.0, 3.0])),
        "nan_ignored_row_smoothing": ([[0, NAN, 1], [1, 2, 3]], np.array([0, 1]), dict(ignore_index=0,
                                                                                      label_smoothing=0.2)),
    }
    for name, (logits, target, kw) in cases.items():
        for reduction in ("mean", "sum", "none"):
            out[f"{name}:{reduction}:loss"], out[f"{name}:{reduction}:grad"] = _ce(fw, logits, target, reduction,
                                                                                   **kw)
    return out


def cross_entropy_shapes(fw):
    """Class-probability targets, (N, C, d1, d2) inputs and unbatched (C,) logits, with the options."""
    r = rng(10)
    x4, x2 = r.standard_normal((2, 3, 4, 5)), r.standard_normal((4, 3))
    index4 = r.integers(0, 3, (2, 4, 5))
    index4[0, 1, 2] = -100
    probs4, probs2 = r.dirichlet(np.ones(3), (2, 4, 5)).transpose(0, 3, 1, 2), r.dirichlet(np.ones(3), 4)
    weight = [0.5, 1.0, 2.0]
    out = {}
    for reduction in ("mean", "sum", "none"):
        for kw_name, kw in (("plain", {}), ("smooth", dict(label_smoothing=0.2)), ("weight", dict(weight=weight))):
            key = f"{reduction}:{kw_name}"
            out[f"index4d:{key}:loss"], out[f"index4d:{key}:grad"] = _ce(fw, x4, index4, reduction, **kw)
            out[f"probs4d:{key}:loss"], out[f"probs4d:{key}:grad"] = _ce(fw, x4, probs4, reduction, **kw)
            out[f"probs2d:{key}:loss"], out[f"probs2d:{key}:grad"] = _ce(fw, x2, probs2, reduction, **kw)
        out[f"unbatched:{reduction}:loss"], out[f"unbatched:{reduction}:grad"] = _ce(fw, x2[0], np.array(2),
                                                                                     reduction)
    # the probabilities get a gradient too
    x = fw.lib.tensor(x2, requires_grad=True)
    p = fw.lib.tensor(probs2, requires_grad=True)
    fw.F.cross_entropy(x, p, label_smoothing=0.1).backward()
    out["probs2d:target_grad"] = p.grad
    return out


# ----------------------------------------------------------------------------- elementwise and one_hot
def sigmoid_and_one_hot(fw):
    x64 = fw.lib.tensor(np.array([-700.0, -40.0, -20.0, -1.0, 0.0, 3.0, 40.0]), requires_grad=True)
    y64 = x64.sigmoid()
    y64.backward(fw.lib.ones(7, dtype=fw.lib.float64))
    x32 = fw.lib.tensor(np.array([-87.0, -30.0, -12.0, -5.0, 0.5, 12.0], dtype=np.float32))
    return {"f64": y64, "f64_grad": x64.grad, "f32": fw.F.sigmoid(x32),
            "one_hot": fw.F.one_hot(fw.lib.tensor([0, 2, 1]), 4)}


# ----------------------------------------------------------------------------- where minitorch raised
def reductions_and_empty(fw):
    L = fw.lib
    s = L.tensor(2.5, requires_grad=True)
    total = s.sum(-1) * 2 + s.mean(0) * 3 + s.amax(0) + s.max(0)[0]
    total.backward()
    e = L.zeros(0, 3, requires_grad=True)
    mse = fw.F.mse_loss(e, L.zeros(0, 3))
    mse.backward()
    return {
        "0d_total": total, "0d_grad": s.grad, "0d_argmax": L.tensor(2.0).argmax(0),
        "empty_amax_dim1": L.zeros(0, 3).amax(1), "empty_sum_dim0": L.zeros(0, 3).sum(0),
        "empty_mean_dim0": L.zeros(0, 3).mean(0), "empty_max_dim1": L.zeros(0, 3).max(1)[0],
        "empty_argmax_dim1": L.zeros(0, 3).argmax(1),
        "softmax_empty_dim": fw.F.softmax(L.zeros(2, 0), 1),
        "log_softmax_empty_dim": fw.F.log_softmax(L.zeros(2, 0), 1),
        "softmax_0d": fw.F.softmax(L.tensor(2.0), 0), "log_softmax_0d": fw.F.log_softmax(L.tensor(2.0), -1),
        "flatten_zero_size": L.zeros(2, 0, 3).flatten(1), "flatten_zero_size_all": L.zeros(0, 3).flatten(),
        "mse_empty": mse, "mse_empty_grad": e.grad,
    }


def unbatched_images(fw):
    x0 = rng(11).standard_normal((2, 6, 7))
    w0, b0 = rng(12).standard_normal((3, 2, 3, 3)) / 3, rng(13).standard_normal(3)
    out = {}
    conv = fw.nn.Conv2d(2, 3, 3, padding=1).double()
    with fw.lib.no_grad():
        conv.weight.copy_(fw.lib.tensor(w0))
        conv.bias.copy_(fw.lib.tensor(b0))
    layers = {"conv": conv, "maxpool": fw.nn.MaxPool2d(2), "avgpool": fw.nn.AvgPool2d(3, 2, 1),
              "adaptive": fw.nn.AdaptiveAvgPool2d((2, 3))}
    for name, layer in layers.items():
        x = fw.lib.tensor(x0, requires_grad=True)
        y = layer(x)
        y.backward(fw.lib.tensor(rng(14).standard_normal(tuple(y.shape))))
        out[f"{name}:out"], out[f"{name}:grad"] = y, x.grad
    values, indices = fw.F.max_pool2d(fw.lib.tensor(x0), 2, return_indices=True)
    out["maxpool_indices:values"], out["maxpool_indices:indices"] = values, indices
    return out


def mse_broadcast(fw):
    x = fw.lib.tensor(rng(15).standard_normal(3), requires_grad=True)
    t = fw.lib.tensor(rng(16).standard_normal((2, 1)), requires_grad=True)
    loss = fw.F.mse_loss(x, t)  # warns, as in PyTorch
    loss.backward()
    i = fw.lib.tensor(rng(17).standard_normal((2, 3)), requires_grad=True)
    int_target = fw.F.mse_loss(i, fw.lib.tensor([[1, 0, 0], [0, 1, 0]]), reduction="sum")
    int_target.backward()
    return {"loss": loss, "input_grad": x.grad, "target_grad": t.grad, "int_target": int_target, "int_grad": i.grad}


CASES: dict[str, Callable] = {
    "zero_d_training_steps": zero_d_training_steps,
    "zero_d_inplace": zero_d_inplace,
    "zero_d_relu_and_clip": zero_d_relu_and_clip,
    "zero_d_zero_grad_keeps_tensor": zero_d_zero_grad_keeps_tensor,
    "promotion": promotion,
    "result_type_table": result_type_table,
    "indexing": indexing,
    "indexing_setitem_grad": indexing_setitem_grad,
    "pooling_nonfinite": pooling_nonfinite,
    "cross_entropy_nonfinite": cross_entropy_nonfinite,
    "cross_entropy_shapes": cross_entropy_shapes,
    "sigmoid_and_one_hot": sigmoid_and_one_hot,
    "reductions_and_empty": reductions_and_empty,
    "unbatched_images": unbatched_images,
    "mse_broadcast": mse_broadcast,
}


# ----------------------------------------------------------------------------- running and storing
def dtype_name(dtype) -> str:
    """"float32" for torch.float32 and numpy's float32 alike."""
    return str(dtype).replace("torch.", "")


def to_arrays(results: dict) -> dict[str, np.ndarray]:
    """A case's results as arrays: a tensor gives its values and its dtype's name (key ``<name>:dtype``)."""
    out = {}
    for name, value in results.items():
        if hasattr(value, "detach"):
            out[name] = np.array(value.detach().numpy())
            out[f"{name}:dtype"] = np.array(dtype_name(value.dtype))
        else:
            out[name] = np.array(value)
    return out


def run_case(fw: Framework, name: str) -> dict[str, np.ndarray]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the broadcast-MSE warning: tested on its own
        return to_arrays(CASES[name](fw))


def torch_framework() -> Framework:
    import torch

    if torch.__version__.split("+")[0] != TORCH_VERSION:
        print(f"warning: torch {torch.__version__}, references were made with {TORCH_VERSION}", file=sys.stderr)
    return Framework(lib=torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim,
                     clip_grad_norm_=torch.nn.utils.clip_grad_norm_)


def main() -> None:
    fw = torch_framework()
    arrays = {}
    for name in CASES:
        for key, value in run_case(fw, name).items():
            arrays[f"{name}:{key}"] = value
    path = os.path.join(HERE, "semantics.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {len(arrays)} arrays for {len(CASES)} cases to {path}")


if __name__ == "__main__":
    main()
