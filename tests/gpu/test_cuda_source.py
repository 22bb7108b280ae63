"""The CUDA C in minitorch/kernels/cu/, checked without a GPU (these tests are not marked ``gpu``).

``kernels/cuda.py`` imports CuPy, so it is read here as text: every kernel its launchers compile
(``_kernel("name", dtype)``) must be defined in the loaded source, and every defined kernel launched.
"""
from __future__ import annotations

import ast
import configparser
import fnmatch
import importlib.util
import re
from importlib import resources
from pathlib import Path

import pytest

from minitorch.kernels import cu

KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(')


def launched_kernels() -> set[str]:
    """The names passed to ``_kernel(...)`` in kernels/cuda.py, found without importing it."""
    path = importlib.util.find_spec("minitorch.kernels.cuda").origin
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_kernel"
        and node.args and isinstance(node.args[0], ast.Constant)
    }


@pytest.mark.parametrize("dtype", cu.DTYPES)
def test_every_launched_kernel_is_in_the_source(dtype):
    launched = launched_kernels()
    defined = KERNEL.findall(cu.source(dtype, 256))
    assert len(launched) >= 8, f"the parse of cuda.py found too few launches: {sorted(launched)}"
    assert len(defined) == len(set(defined)), f"a kernel is defined twice: {sorted(defined)}"
    assert launched - set(defined) == set(), "launched but not in cu/kernels.cu"
    assert set(defined) - launched == set(), "defined in cu/kernels.cu but never launched"


@pytest.mark.parametrize("dtype, c_type", [("float32", "float"), ("float64", "double")])
def test_source_puts_the_dtype_prelude_and_block_in_front(dtype, c_type):
    src = cu.source(dtype, 128)
    kernels = cu.read("kernels.cu")
    assert src.endswith(kernels)
    head = src[: len(src) - len(kernels)]
    assert head.startswith(f"typedef {c_type} T;\n")
    assert "#define BLOCK 128\n" in head
    for name in ("NEG_INF", "atomic_add"):  # used by the kernels, defined by the prelude
        assert name in head and name in kernels
    assert not re.search(r"typedef\s+\w+\s+T;", kernels)  # T comes from the prelude only


def test_source_names_the_bad_dtype():
    with pytest.raises(ValueError, match="float16"):
        cu.source("float16", 256)


def test_every_source_file_is_package_data():
    """setup.cfg's package_data globs for minitorch.kernels.cu cover every file of the folder."""
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    globs = [g.strip() for g in cfg["options.package_data"]["minitorch.kernels.cu"].split(",")]
    files = [f.name for f in resources.files(cu).iterdir() if f.is_file() and not f.name.endswith((".py", ".pyc"))]
    assert {"kernels.cu", "float32.cuh", "float64.cuh"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not installed (setup.cfg package_data)"
