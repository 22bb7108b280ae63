"""Helpers for the tests of the PyTorch surface: minitorch as a ``Framework`` for the shared case runners of
tests/reference/make_surface_references.py, and its stored results (surface.npz)."""
from __future__ import annotations

import importlib

import numpy as np
from mt_core_helpers import reference

import minitorch as mt
from minitorch.nn.parameter import data_array


def make_surface_references():
    """tests/reference/make_surface_references.py (on pytest's pythonpath; its runners need only NumPy)."""
    return importlib.import_module("make_surface_references")


def minitorch_framework():
    """minitorch behind the adapter the shared runners use (torch's is make_surface_references.torch_framework)."""
    def set_param(p, array):
        data_array(p)[...] = array

    return make_surface_references().Framework(
        nn=mt.nn, F=mt.nn.functional, optim=mt.optim, init=mt.nn.init, clip_grad_norm_=mt.nn.utils.clip_grad_norm_,
        set_param=set_param, tensor=lambda array, requires_grad=False: mt.tensor(array, requires_grad=requires_grad))


def surface() -> dict[str, np.ndarray]:
    return reference("surface")


def stored(prefix: str) -> dict[str, np.ndarray]:
    """The stored arrays whose key starts with ``prefix:``, keyed by the rest."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in surface().items() if k.startswith(prefix + ":")}
