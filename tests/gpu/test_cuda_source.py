"""The CUDA C in minitorch/kernels/cu/, checked without a GPU (these tests are not marked ``gpu``).

``kernels/cuda.py`` imports CuPy, so it is read here as text: every kernel its launchers compile
(``_kernel("name", dtype)``) must be defined in the loaded source, and every defined kernel launched.
Where nvcc is installed (``$NVCC``, ``$CUDA_HOME/bin``, ``/usr/local/cuda/bin`` or the ``PATH``), the
full source of each dtype is compiled to device code with the options CuPy is given, for the GPUs the
project runs on; elsewhere those tests are skipped, saying so.
"""
from __future__ import annotations

import ast
import configparser
import fnmatch
import importlib.util
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from minitorch.kernels import cu

KERNEL = re.compile(r'extern "C" __global__ void (?:__launch_bounds__\(\w+\) )?(\w+)\(')


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


def find_nvcc() -> str | None:
    """The nvcc to compile with, or None when none is installed."""
    candidates = [os.environ.get("NVCC", ""), shutil.which("nvcc") or ""]
    for home in (os.environ.get("CUDA_HOME", ""), "/usr/local/cuda", "/usr/local"):
        if home:
            candidates.append(os.path.join(home, "bin", "nvcc"))
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.mark.parametrize("dtype", cu.DTYPES)
def test_source_compiles_with_nvcc(dtype, tmp_path):
    """Each dtype's source compiles for the H100 (sm_90) with the options kernels/cuda.py gives NVRTC."""
    nvcc = find_nvcc()
    if nvcc is None:
        pytest.skip("nvcc is not installed (set NVCC or CUDA_HOME to compile the CUDA sources)")
    options = launch_options()
    src = tmp_path / f"kernels_{dtype}.cu"
    src.write_text(cu.source(dtype, 256), encoding="utf-8")
    cmd = [nvcc, *options, "--cubin", "-arch=sm_90", "-o", str(tmp_path / f"{dtype}.cubin"), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}"
    assert "warning" not in done.stderr.lower(), done.stderr


def launch_options() -> tuple[str, ...]:
    """``_OPTIONS`` of kernels/cuda.py (the NVRTC options), read without importing CuPy."""
    path = importlib.util.find_spec("minitorch.kernels.cuda").origin
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_OPTIONS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("kernels/cuda.py defines no _OPTIONS")


def test_every_kernel_has_a_cuda_implementation_of_the_declared_arity():
    """kernels/cuda.py (read as text) implements each declared kernel: a function taking the same
    parameters as the reference one (the declared arguments, then the outputs), or the reference itself."""
    import inspect

    from minitorch.kernels import KERNELS, reference

    path = importlib.util.find_spec("minitorch.kernels.cuda").origin
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    aliases = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
               if isinstance(t, ast.Name)}
    for name in KERNELS:
        declared = list(inspect.signature(KERNELS[name].outputs).parameters)
        expected = list(inspect.signature(getattr(reference, name)).parameters)
        if name in defs:
            got = [a.arg for a in defs[name].args.args]
            assert got[:len(declared)] == declared, f"cuda.{name}{tuple(got)}: the declaration takes {declared}"
            assert len(got) == len(expected), f"cuda.{name}{tuple(got)}: outputs as reference.{name}{tuple(expected)}"
        else:
            value = aliases.get(name)
            assert isinstance(value, ast.Attribute) and ast.unparse(value) == f"reference.{name}", \
                f"kernels/cuda.py has no {name} (a function, or reference.{name})"
