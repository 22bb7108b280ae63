"""Write tests/reference/nn_surface.npz: PyTorch's results for the layers, activations, losses and functions
added to minitorch.nn (activations, LayerNorm, GroupNorm, Embedding, Conv1d, the 1-D pools, the losses,
F.pad, F.interpolate, F.normalize, F.cosine_similarity) and the state_dict names of the new containers.

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_nn_surface_references.py

Per case (float64, no pickle): the inputs and parameters, an upstream gradient drawn from the case's seed,
and PyTorch's output, input gradients and parameter gradients.  The cases run through :func:`run_case`,
written once against a small adapter (``Framework``: ``nn``, ``F``, a tensor factory and a parameter
setter), so tests/core/test_nn_surface.py runs the same code on minitorch.  Only NumPy is needed to import
this module.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
from reference_io import json_array, meta_array, warn_if_other_torch, write_npz

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13.0"
SEED = 4242
Framework = SimpleNamespace  # nn, F, tensor(array, requires_grad), set_param(p, array)

# kind "module": nn.<cls>(*args, **kwargs)(x [, target]); kind "function": F.<fn>(x [, other], **kwargs).
# x: the input's shape; target: "same" (a second float input), "prob" (probabilities), "logprob",
# or an integer-class spec [classes, shape]; scale: how far x spreads; positive: x in (0.05, 0.95).
CASES: list[dict] = [
    dict(name="gelu", kind="module", cls="GELU", x=[3, 5]),
    dict(name="gelu_tanh", kind="module", cls="GELU", kwargs=dict(approximate="tanh"), x=[3, 5]),
    dict(name="silu", kind="module", cls="SiLU", x=[3, 5], scale=3.0),
    dict(name="elu", kind="module", cls="ELU", kwargs=dict(alpha=0.7), x=[3, 5], scale=2.0),
    dict(name="softplus", kind="module", cls="Softplus", kwargs=dict(beta=2.0, threshold=3.0), x=[4, 5], scale=2.0),
    dict(name="hardtanh", kind="module", cls="Hardtanh", kwargs=dict(min_val=-1.5, max_val=2.0), x=[4, 5],
         scale=2.0),
    dict(name="relu6", kind="module", cls="ReLU6", x=[4, 5], scale=5.0),
    dict(name="layer_norm", kind="module", cls="LayerNorm", args=[[4, 5]], x=[3, 4, 5], randomise=True),
    dict(name="layer_norm_plain", kind="module", cls="LayerNorm", args=[6], kwargs=dict(elementwise_affine=False),
         x=[2, 3, 6]),
    dict(name="group_norm", kind="module", cls="GroupNorm", args=[2, 6], x=[2, 6, 3, 3], randomise=True),
    dict(name="group_norm_1d", kind="module", cls="GroupNorm", args=[3, 3], kwargs=dict(eps=1e-3), x=[4, 3, 5],
         randomise=True),
    dict(name="embedding_padding", kind="module", cls="Embedding", args=[10, 4], kwargs=dict(padding_idx=2),
         x="indices", indices=[[1, 2, 9, 1, 0], [2, 2, 5, 7, 1], [3, 4, 6, 8, 9]]),
    dict(name="conv1d_s2_p1", kind="module", cls="Conv1d", args=[4, 6, 3], kwargs=dict(stride=2, padding=1),
         x=[2, 4, 11]),
    dict(name="conv1d_same_d2_g2", kind="module", cls="Conv1d", args=[4, 6, 3],
         kwargs=dict(padding="same", dilation=2, groups=2, bias=False), x=[2, 4, 9]),
    dict(name="conv1d_unbatched", kind="module", cls="Conv1d", args=[3, 2, 4], x=[3, 10]),
    dict(name="maxpool1d_k3_s2_p1", kind="module", cls="MaxPool1d", args=[3], kwargs=dict(stride=2, padding=1),
         x=[2, 3, 10], distinct=True),
    dict(name="maxpool1d_ceil_d2", kind="module", cls="MaxPool1d", args=[2], kwargs=dict(dilation=2, ceil_mode=True),
         x=[1, 2, 9], distinct=True),
    dict(name="avgpool1d_k3_s2_p1_exclude", kind="module", cls="AvgPool1d", args=[3],
         kwargs=dict(stride=2, padding=1, count_include_pad=False), x=[2, 3, 10]),
    dict(name="l1_mean", kind="module", cls="L1Loss", x=[4, 3], target="same"),
    dict(name="smooth_l1_sum_beta05", kind="module", cls="SmoothL1Loss", kwargs=dict(reduction="sum", beta=0.5),
         x=[4, 3], target="same"),
    dict(name="huber_none_delta08", kind="module", cls="HuberLoss", kwargs=dict(reduction="none", delta=0.8),
         x=[4, 3], target="same"),
    dict(name="bce_weight_mean", kind="module", cls="BCELoss", weight=[3], x=[4, 3], positive=True, target="prob"),
    dict(name="bce_none", kind="module", cls="BCELoss", kwargs=dict(reduction="none"), x=[5], positive=True,
         target="prob"),
    dict(name="bce_logits_pos_weight_sum", kind="module", cls="BCEWithLogitsLoss", kwargs=dict(reduction="sum"),
         pos_weight=[3], x=[4, 3], scale=3.0, target="prob"),
    dict(name="bce_logits_weight_mean", kind="module", cls="BCEWithLogitsLoss", weight=[3], x=[4, 3], scale=3.0,
         target="prob"),
    dict(name="kl_div_batchmean", kind="module", cls="KLDivLoss", kwargs=dict(reduction="batchmean"), x="logprob",
         shape=[4, 3], target="prob_rows"),
    dict(name="kl_div_log_target_sum", kind="module", cls="KLDivLoss", kwargs=dict(reduction="sum", log_target=True),
         x="logprob", shape=[4, 3], target="logprob_rows"),
    dict(name="nll_weight_mean", kind="module", cls="NLLLoss", weight=[5], x="logprob", shape=[6, 5],
         target=[5, [6]]),
    dict(name="nll_ignore_sum", kind="module", cls="NLLLoss", kwargs=dict(ignore_index=1, reduction="sum"),
         x="logprob", shape=[6, 4], target=[4, [6]]),
    dict(name="nll_spatial_none", kind="module", cls="NLLLoss", kwargs=dict(reduction="none"), x="logprob",
         shape=[2, 3, 4], target=[3, [2, 4]]),
    dict(name="pad_constant", kind="function", fn="pad", kwargs=dict(pad=[1, 2, 0, 1], value=0.5), x=[2, 3, 4]),
    dict(name="pad_reflect_2d", kind="function", fn="pad", kwargs=dict(pad=[2, 1, 1, 2], mode="reflect"),
         x=[2, 2, 4, 5]),
    dict(name="pad_replicate_1d", kind="function", fn="pad", kwargs=dict(pad=[1, 3], mode="replicate"), x=[2, 3, 4]),
    dict(name="pad_replicate_2d", kind="function", fn="pad", kwargs=dict(pad=[3, 0, 2, 1], mode="replicate"),
         x=[1, 2, 3, 4]),
    dict(name="interp_nearest_size", kind="function", fn="interpolate", kwargs=dict(size=[5, 9]), x=[2, 2, 4, 6]),
    dict(name="interp_nearest_scale2", kind="function", fn="interpolate", kwargs=dict(scale_factor=2),
         x=[1, 2, 3, 4]),
    dict(name="interp_nearest_down", kind="function", fn="interpolate", kwargs=dict(size=[3, 2]), x=[1, 2, 7, 5]),
    dict(name="interp_bilinear", kind="function", fn="interpolate", kwargs=dict(size=[7, 5], mode="bilinear"),
         x=[2, 2, 4, 3]),
    dict(name="interp_bilinear_corners", kind="function", fn="interpolate",
         kwargs=dict(size=[6, 8], mode="bilinear", align_corners=True), x=[1, 3, 4, 5]),
    dict(name="interp_bilinear_scale15", kind="function", fn="interpolate",
         kwargs=dict(scale_factor=1.5, mode="bilinear"), x=[1, 2, 4, 6]),
    dict(name="interp_bilinear_down", kind="function", fn="interpolate", kwargs=dict(size=[3, 2], mode="bilinear"),
         x=[1, 2, 7, 5]),
    dict(name="interp_linear", kind="function", fn="interpolate", kwargs=dict(size=7, mode="linear"), x=[2, 3, 4]),
    dict(name="normalize_p2_dim1", kind="function", fn="normalize", x=[4, 5]),
    dict(name="normalize_p1_last", kind="function", fn="normalize", kwargs=dict(p=1.0, dim=-1), x=[2, 3, 4]),
    dict(name="cosine_dim1", kind="function", fn="cosine_similarity", x=[4, 5], target="same"),
    dict(name="cosine_broadcast_last", kind="function", fn="cosine_similarity", kwargs=dict(dim=-1), x=[3, 4],
         target=[1, 4]),
]


def case_arrays(case: dict, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a: dict[str, np.ndarray] = {}
    if case["x"] == "indices":
        a["x"] = np.asarray(case["indices"], dtype=np.int64)
    elif case["x"] == "logprob":
        logits = rng.standard_normal(case["shape"])
        a["x"] = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    elif case.get("distinct"):
        n = int(np.prod(case["x"]))
        a["x"] = ((rng.permutation(n) - n / 2) * 0.1).reshape(case["x"])
    elif case.get("positive"):
        a["x"] = rng.uniform(0.05, 0.95, case["x"])
    else:
        a["x"] = rng.standard_normal(case["x"]) * case.get("scale", 1.0)
    target = case.get("target")
    shape = a["x"].shape
    if target == "same":
        a["target"] = rng.standard_normal(shape)
    elif target == "prob":
        a["target"] = rng.uniform(0, 1, shape)
    elif target in ("prob_rows", "logprob_rows"):
        rows = rng.dirichlet(np.ones(shape[1]), shape[0])
        a["target"] = rows if target == "prob_rows" else np.log(rows)
    elif isinstance(target, list) and isinstance(target[1], list):
        a["target"] = rng.integers(0, target[0], target[1]).astype(np.int64)
    elif isinstance(target, list):
        a["target"] = rng.standard_normal(target)
    if "weight" in case:
        a["weight"] = rng.uniform(0.5, 2.0, case["weight"])
    if "pos_weight" in case:
        a["pos_weight"] = rng.uniform(0.5, 3.0, case["pos_weight"])
    a["seed"] = np.array(seed)
    return a


def build(fw: Framework, case: dict, arrays: dict[str, np.ndarray]):
    kwargs = dict(case.get("kwargs", {}))
    for key in ("weight", "pos_weight"):
        if key in arrays:
            kwargs[key] = fw.tensor(arrays[key])
    return getattr(fw.nn, case["cls"])(*case.get("args", []), **kwargs)


def run_case(fw: Framework, case: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output, gradients of the float inputs and of the parameters, for the case's upstream gradient."""
    float_x = arrays["x"].dtype.kind == "f"
    x = fw.tensor(arrays["x"], requires_grad=float_x)
    others = []
    if "target" in arrays:
        is_float = arrays["target"].dtype.kind == "f"
        others.append(fw.tensor(arrays["target"], requires_grad=is_float))
    res: dict[str, np.ndarray] = {}
    if case["kind"] == "module":
        module = build(fw, case, arrays).double()
        rng = np.random.default_rng(int(arrays["seed"]) + 1)
        params = dict(module.named_parameters())
        for name, p in params.items():  # the stored starting values (drawn here, so both frameworks agree)
            value = rng.uniform(0.5, 1.5, tuple(p.shape)) if case.get("randomise") or case["cls"] in (
                "Conv1d", "Embedding") else to_array(p)
            if case["cls"] == "Embedding" and "padding_idx" in case.get("kwargs", {}):
                value[case["kwargs"]["padding_idx"]] = 0.0
            fw.set_param(p, value)
            res[f"param.{name}"] = value
        out = module(x, *others)
    else:
        params = {}
        out = getattr(fw.F, case["fn"])(x, *others, **case.get("kwargs", {}))
    rng = np.random.default_rng(int(arrays["seed"]) + 2)
    upstream = rng.standard_normal(tuple(out.shape))
    out.backward(fw.tensor(upstream))
    res["out"], res["upstream"] = to_array(out), upstream
    if float_x:
        res["grad.x"] = to_array(x.grad)
    for i, t in enumerate(others):
        if t.requires_grad:
            res[f"grad.other{i}"] = to_array(t.grad)
    for name, p in params.items():
        res[f"grad.{name}"] = to_array(p.grad)
    return res


# --------------------------------------------------------------------------- containers' state_dict names
def container_state(fw: Framework) -> list[list]:
    """(name, shape) of every state_dict entry of a net built from the new containers and layers."""
    nn = fw.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(3, 4), nn.LayerNorm(4), nn.Identity()])
            self.layers.append(nn.Conv1d(2, 3, 2))
            self.blocks = nn.ModuleDict({"norm": nn.GroupNorm(1, 4), "embed": nn.Embedding(5, 2)})
            self.extra = nn.ParameterList([nn.Parameter(fw.tensor(np.zeros(2))), nn.Parameter(fw.tensor(np.zeros(3)))])
            self.head = nn.Sequential(nn.Unflatten(1, (2, 2)), nn.Flatten(), nn.GELU(), nn.Linear(4, 1))

    return [[name, list(t.shape)] for name, t in Net().state_dict().items()]


def to_array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach()
    return np.array(value.numpy(), dtype=np.float64)


def torch_framework() -> Framework:
    import torch

    def set_param(p, array):
        with torch.no_grad():
            p.copy_(torch.tensor(array))

    return Framework(nn=torch.nn, F=torch.nn.functional, set_param=set_param,
                     tensor=lambda array, requires_grad=False: torch.tensor(array, requires_grad=requires_grad))


def main() -> None:
    import torch

    warn_if_other_torch(torch.__version__, TORCH_VERSION)
    torch.manual_seed(0)
    fw = torch_framework()
    out: dict[str, np.ndarray] = {}
    for i, case in enumerate(CASES):
        arrays = case_arrays(case, SEED + i)
        out.update({f"{case['name']}:in:{k}": v for k, v in arrays.items()})
        out.update({f"{case['name']}:out:{k}": v for k, v in run_case(fw, case, arrays).items()})
    out["containers"] = json_array(container_state(fw))
    out["specs"] = json_array(CASES)
    out["meta"] = meta_array(torch.__version__)
    path = os.path.join(HERE, "nn_surface.npz")
    write_npz(path, out)


if __name__ == "__main__":
    main()
