"""Optimizers (a few steps on a fixed objective), schedulers (alone, chained, composed), data loading, and the
idioms of PyTorch's tutorials (accuracy counting, ``classes[labels[j]]``, ``torch.max(outputs.data, 1)``...).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from .core import Case
from .draw import chance, pick, shape, values
from .registry import generator

OPTIMIZERS = {
    "SGD": lambda r: pick(r, ({}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                              {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01}, {"weight_decay": 0.1},
                              {"momentum": 0.9, "maximize": True})),
    "Adam": lambda r: pick(r, ({}, {"amsgrad": True}, {"weight_decay": 0.05}, {"betas": (0.8, 0.9), "eps": 1e-6},
                               {"maximize": True})),
    "AdamW": lambda r: pick(r, ({}, {"weight_decay": 0.1}, {"amsgrad": True})),
    "RMSprop": lambda r: pick(r, ({}, {"momentum": 0.9}, {"centered": True}, {"alpha": 0.9, "weight_decay": 0.01},
                                  {"centered": True, "momentum": 0.5})),
    "Adagrad": lambda r: pick(r, ({}, {"lr_decay": 0.1}, {"weight_decay": 0.1, "initial_accumulator_value": 0.5})),
    "NAdam": lambda r: pick(r, ({}, {"weight_decay": 0.05}, {"momentum_decay": 0.002})),
    "RAdam": lambda r: pick(r, ({}, {"weight_decay": 0.05}, {"betas": (0.8, 0.95)})),
}


@generator("optim", weight=3)
def optimizer(rng):
    name = pick(rng, list(OPTIMIZERS))
    options = OPTIMIZERS[name](rng)
    lr = float(pick(rng, (0.1, 0.01, 0.5)))
    steps = int(rng.integers(1, 7))
    groups = chance(rng, 0.3)
    a = values(rng, shape(rng, 1, 2), "float64")
    b = values(rng, (3,), "float64")
    target = values(rng, a.shape, "float64")
    zero_grad_none = chance(rng, 0.5)

    def program(fw, inp):
        p = fw.t(inp["a"], requires_grad=True)
        q = fw.t(inp["b"], requires_grad=True)
        params = [{"params": [p]}, {"params": [q], "lr": lr / 2}] if groups else [p, q]
        opt = getattr(fw.optim, name)(params, lr=lr, **options)
        trace = []
        for _ in range(steps):
            opt.zero_grad(set_to_none=zero_grad_none)
            loss = ((p - fw.t(inp["t"])) ** 2).sum() + (q ** 4).sum() * 0.1 + (p.sum() * q[0]).tanh()
            loss.backward()
            opt.step()
            trace.append(loss.item())
        return trace, p, q, [g["lr"] for g in opt.param_groups]

    return Case(program, {"a": a, "b": b, "t": target}, f"{name}(lr={lr}, {options}) steps={steps} groups={groups}")


def _scheduler(rng, steps):
    name = pick(rng, ("StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "PolynomialLR", "LambdaLR",
                      "MultiplicativeLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR"))
    if name == "StepLR":
        args = {"step_size": int(rng.integers(1, 4)), "gamma": float(pick(rng, (0.5, 0.1)))}
    elif name == "MultiStepLR":
        args = {"milestones": sorted(int(v) for v in rng.choice(8, 2, replace=False) + 1), "gamma": 0.5}
    elif name == "ExponentialLR":
        args = {"gamma": float(pick(rng, (0.9, 0.5)))}
    elif name == "ConstantLR":
        args = {"factor": float(pick(rng, (0.5, 0.25))), "total_iters": int(rng.integers(1, 5))}
    elif name == "LinearLR":
        args = {"start_factor": float(pick(rng, (0.25, 0.5))), "end_factor": float(pick(rng, (1.0, 0.8))),
                "total_iters": int(rng.integers(1, 6))}
    elif name == "PolynomialLR":
        args = {"total_iters": int(rng.integers(1, 6)), "power": float(pick(rng, (1.0, 2.0, 0.5)))}
    elif name == "LambdaLR":
        args = {"lr_lambda": pick(rng, ("decay", "warmup"))}
    elif name == "MultiplicativeLR":
        args = {"lr_lambda": "mult"}
    elif name == "CosineAnnealingLR":
        args = {"T_max": int(rng.integers(2, 8)), "eta_min": float(pick(rng, (0.0, 0.01)))}
    elif name == "CosineAnnealingWarmRestarts":
        args = {"T_0": int(rng.integers(1, 4)), "T_mult": int(pick(rng, (1, 2))), "eta_min": 0.001}
    else:
        args = {"max_lr": 1.0, "total_steps": steps + int(rng.integers(1, 4)),
                "anneal_strategy": pick(rng, ("cos", "linear")), "pct_start": float(pick(rng, (0.3, 0.5)))}
    return name, args


LAMBDAS = {"decay": lambda e: 0.9 ** e, "warmup": lambda e: min(1.0, (e + 1) / 3), "mult": lambda e: 0.8}


def _make_scheduler(fw, opt, name, args):
    args = dict(args)
    if "lr_lambda" in args:
        args["lr_lambda"] = LAMBDAS[args["lr_lambda"]]
    return getattr(fw.optim.lr_scheduler, name)(opt, **args)


@generator("schedule", weight=3)
def scheduler(rng):
    steps = int(rng.integers(3, 12))
    style = pick(rng, ("one", "one", "two", "sequential", "chained", "plateau", "manual"))
    first = _scheduler(rng, steps)
    second = _scheduler(rng, steps)
    while second[0] == "OneCycleLR" or first[0] == "OneCycleLR" and style != "one":
        first, second = _scheduler(rng, steps), _scheduler(rng, steps)
    milestone = int(rng.integers(1, steps))
    metrics = [float(v) for v in np.round(rng.uniform(0, 1, steps), 2)]
    plateau = {"mode": pick(rng, ("min", "max")), "factor": 0.5, "patience": int(rng.integers(0, 3)),
               "threshold": 0.01, "cooldown": int(rng.integers(0, 2)), "min_lr": 0.001}
    momentum = first[0] == "OneCycleLR"

    def program(fw, inp):
        p = fw.t(np.ones(2), requires_grad=True)
        opt = fw.optim.SGD([p], lr=0.1, momentum=0.9 if momentum else 0.0)
        if style == "plateau":
            scheds = [fw.optim.lr_scheduler.ReduceLROnPlateau(opt, **plateau)]
        elif style == "sequential":
            a, b = _make_scheduler(fw, opt, *first), _make_scheduler(fw, opt, *second)
            scheds = [fw.optim.lr_scheduler.SequentialLR(opt, [a, b], milestones=[milestone])]
        elif style == "chained":
            a, b = _make_scheduler(fw, opt, *first), _make_scheduler(fw, opt, *second)
            scheds = [fw.optim.lr_scheduler.ChainedScheduler([a, b])]
        elif style == "two":
            scheds = [_make_scheduler(fw, opt, *first), _make_scheduler(fw, opt, *second)]
        else:
            scheds = [_make_scheduler(fw, opt, *first)]
        lrs = [opt.param_groups[0]["lr"]]
        for i in range(steps):
            opt.step()
            for s in scheds:
                if style == "plateau":
                    s.step(inp["metrics"][i])
                else:
                    s.step()
            if style == "manual" and i == 1:
                opt.param_groups[0]["lr"] *= 0.5  # a manual change that chainable schedules keep
            lrs.append(opt.param_groups[0]["lr"])
        last = scheds[0].get_last_lr() if style != "plateau" else None
        return lrs, last

    return Case(program, {"metrics": metrics}, f"{style} {first} {second} steps={steps} milestone={milestone}")


@generator("data", weight=2)
def data_loading(rng):
    style = pick(rng, ("tensor_dataset", "single", "subset", "loader", "dict", "nested", "floats", "collate",
                       "random_split", "drop_last", "len"))
    n = int(rng.integers(1, 9))
    x = values(rng, (n, 2, 3), "float32")
    y = rng.integers(0, 10, n).astype(np.int64)
    batch = int(rng.integers(1, 5))
    drop_last = chance(rng, 0.5)
    idx = [int(i) for i in rng.permutation(n)[: int(rng.integers(1, n + 1))]]
    fracs = pick(rng, ([0.5, 0.5], [0.7, 0.3], [0.25, 0.25, 0.5]))

    def program(fw, inp):
        D = fw.data
        X, Y = fw.t(inp["x"]), fw.t(inp["y"])
        if style == "tensor_dataset":
            ds = D.TensorDataset(X, Y)
            return len(ds), ds[0], ds[n - 1]
        if style == "single":
            return list(D.DataLoader(D.TensorDataset(X), batch_size=batch))
        if style == "subset":
            sub = D.Subset(D.TensorDataset(X, Y), idx)
            return len(sub), sub[0], list(D.DataLoader(sub, batch_size=batch))
        if style in ("loader", "drop_last", "len"):
            loader = D.DataLoader(D.TensorDataset(X, Y), batch_size=batch, shuffle=False, drop_last=drop_last)
            return len(loader), list(loader)

        class Items(D.Dataset):
            def __len__(self):
                return n

            def __getitem__(self, i):
                if style == "dict":
                    return {"image": X[i], "label": int(inp["y"][i]), "name_len": float(i) / 2}
                if style == "nested":
                    return (X[i], (Y[i], [float(i), i]))
                return (float(inp["x"][i, 0, 0]), int(inp["y"][i]), bool(i % 2))

        if style == "collate":
            return D.default_collate([(X[i], int(inp["y"][i]), float(i)) for i in range(n)])
        if style == "random_split":
            parts = D.random_split(D.TensorDataset(X, Y), fracs if n >= 4 else [n])
            return [len(p) for p in parts]
        return list(D.DataLoader(Items(), batch_size=batch))

    return Case(program, {"x": x, "y": y}, f"{style} n={n} batch={batch} drop_last={drop_last}")


CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@generator("tutorial", weight=3)
def tutorial_idiom(rng):
    idiom = pick(rng, ("classes_index", "max_data", "accuracy", "argmax_eq_mean", "cat_preds", "per_class",
                       "item_format", "size_view", "no_grad", "softmax_max", "view_as_eq", "one_hot_float",
                       "conversions", "state_dict_roundtrip", "param_count", "iterate_rows", "running_loss",
                       "zero_grad_loop"))
    n = int(rng.integers(1, 9))
    outputs = values(rng, (n, 10), "float32", "distinct")
    labels = rng.integers(0, 10, n).astype(np.int64)

    def program(fw, inp):
        torch, nn, F = fw.lib, fw.nn, fw.F
        out, lab = fw.t(inp["outputs"]), fw.t(inp["labels"])
        if idiom == "classes_index":
            return [CLASSES[lab[j]] for j in range(n)], " ".join(f"{CLASSES[lab[j]]:5s}" for j in range(n))
        if idiom == "max_data":
            values_, predicted = torch.max(out.data, 1)
            return values_, predicted
        if idiom == "accuracy":
            correct, total = 0, 0
            _, predicted = torch.max(out, 1)
            total += lab.size(0)
            correct += (predicted == lab).sum().item()
            return correct, total, 100 * correct / total, 100 * correct // total
        if idiom == "argmax_eq_mean":
            return out.argmax(dim=1).eq(lab).float().mean(), (out.argmax(1) == lab).sum() / n
        if idiom == "cat_preds":
            preds = [out[i: i + 2].argmax(1) for i in range(0, n, 2)]
            probs = [F.softmax(out[i: i + 3], dim=1) for i in range(0, n, 3)]
            return torch.cat(preds), torch.cat(probs).sum(1), torch.stack([p.sum() for p in probs])
        if idiom == "per_class":
            correct_pred = dict.fromkeys(CLASSES, 0)
            total_pred = dict.fromkeys(CLASSES, 0)
            for label, prediction in zip(lab, out.argmax(1), strict=True):
                if label == prediction:
                    correct_pred[CLASSES[label]] += 1
                total_pred[CLASSES[label]] += 1
            return correct_pred, total_pred
        if idiom == "item_format":
            loss = F.cross_entropy(out, lab)
            return f"{loss.item():.3f}", f"{loss:.3f}", float(loss), round(loss.item(), 2)
        if idiom == "size_view":
            x = out.view(-1, 5)
            return x.size(), x.size(0), x.shape[1], len(x), out.view(n, 2, 5).flatten(1).shape, out.numel()
        if idiom == "no_grad":
            model = nn.Linear(10, 3)
            with torch.no_grad():
                y = model(out)
            return y.requires_grad, y.grad_fn is None, model(out).requires_grad, torch.is_grad_enabled()
        if idiom == "softmax_max":
            conf, pred = F.softmax(out, dim=1).max(1)
            return conf, pred, torch.softmax(out, 1).sum(1)
        if idiom == "view_as_eq":
            pred = out.argmax(dim=1, keepdim=True)
            return pred.eq(lab.view_as(pred)).sum().item()
        if idiom == "one_hot_float":
            return F.one_hot(lab, 10).float(), F.one_hot(lab, num_classes=10).sum(0)
        if idiom == "conversions":
            return (int(lab[0]), float(out[0, 0]), lab.tolist(), out[0].tolist()[:2], lab.numpy(),
                    out.detach().cpu().numpy()[:1], lab.to(torch.float32), out.to("cpu").dtype, lab.long().dtype,
                    torch.tensor(inp["labels"].tolist()).dtype, bool(lab[0] >= 0))
        if idiom == "state_dict_roundtrip":
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "model.pth")
                torch.save(model.state_dict(), path)
                state = torch.load(path, weights_only=True)
            clone = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
            clone.load_state_dict(state)
            return list(state), bool(torch.allclose(clone(out), model(out))), [tuple(v.shape) for v in state.values()]
        if idiom == "param_count":
            model = nn.Sequential(nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.Flatten(), nn.Linear(24, 10))
            return sum(p.numel() for p in model.parameters() if p.requires_grad), len(list(model.parameters())), \
                [name for name, _ in model.named_parameters()], list(model.state_dict())
        if idiom == "iterate_rows":
            return [row.argmax().item() for row in out], [int(v) for v in lab]
        if idiom == "running_loss":
            running_loss = 0.0
            for i in range(n):
                running_loss += F.cross_entropy(out[i: i + 1], lab[i: i + 1]).item()
            return running_loss / n, type(running_loss).__name__
        w = fw.t(np.linspace(-1, 1, 10 * 3).reshape(10, 3), requires_grad=True)
        opt = fw.optim.SGD([w], lr=0.1)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(out @ w, lab % 3)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, w

    return Case(program, {"outputs": outputs, "labels": labels}, f"{idiom} n={n}")
