"""benchmarks/conv_dispatch_ab.py and profile_step --captured run end to end (a smoke test; nothing timed)."""
from __future__ import annotations

from benchmarks import conv_dispatch_ab, profile_step
from minitorch.kernels import cpu, cpu_conv


def test_conv_dispatch_ab_times_both_kernels_and_restores_the_backend(capsys):
    before = {name: getattr(cpu, name) for name in conv_dispatch_ab.CONV}
    conv_dispatch_ab.main(["--batches", "4", "--rounds", "1", "--block-s", "0.001"])
    out = capsys.readouterr().out
    assert "batch    4: cpu_conv" in out and "cpu_simd" in out and "ratio" in out
    assert {name: getattr(cpu, name) for name in conv_dispatch_ab.CONV} == before
    assert all(getattr(cpu, name) is not getattr(cpu_conv, name) for name in conv_dispatch_ab.CONV)


def test_profile_step_captured_finds_the_replayed_recording(capsys):
    """BoringNet's first step records with the optimizer's flat arrays being built; the breakdown must time
    the recording that replays (no concatenation of the gradients left in it)."""
    profile_step.main(["--net", "boringnet", "--batch", "4", "--captured", "--steps", "3", "--threads", "1"])
    out = capsys.readouterr().out
    assert "sgd_update" in out and "numpy.concatenate" not in out
