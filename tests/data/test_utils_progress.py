"""The progress bar: its line format, and how often it draws on terminals and in logs."""
from __future__ import annotations

import io

import pytest

from minitorch.utils.progress import ProgressBar, format_interval, format_meter, progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_meter_with_total():
    line = format_meter(50, 100, 10.0, desc="train", postfix="loss=0.5")
    assert line == "train:  50%|##########          | 50/100 [00:10<00:10, 5.00it/s, loss=0.5]"


def test_format_meter_without_total_and_with_unit_scale():
    assert format_meter(7, None, 2.0) == "7it [00:02, 3.50it/s]"
    line = format_meter(1_500_000, 3_000_000, 3.0, unit="B", unit_scale=True)
    assert "1.5M/3.0M" in line and "500.0kB/s" in line and "<00:03" in line
    assert format_meter(0, 10, 0.0).endswith("0/10 [00:00<?, ?it/s]")


def test_format_interval():
    assert format_interval(65) == "01:05"
    assert format_interval(3725) == "1:02:05"


def test_not_a_tty_prints_only_the_final_line():
    out = io.StringIO()
    bar = progress(range(5), desc="epoch", file=out)
    assert list(bar) == [0, 1, 2, 3, 4]
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "\r" not in out.getvalue()
    assert lines[0].startswith("epoch: 100%|") and "5/5" in lines[0]


def test_not_a_tty_prints_sparse_lines_at_log_interval():
    out = io.StringIO()
    with ProgressBar(total=3, file=out, log_interval=0.0) as bar:
        for _ in range(3):
            bar.update()
    assert [line.split("|")[-1].split()[0] for line in out.getvalue().splitlines()] == ["1/3", "2/3", "3/3", "3/3"]


def test_tty_redraws_in_place_at_a_limited_rate(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = FakeTTY()
    with ProgressBar(total=10_000, desc="fast", file=out) as bar:
        for i in range(10_000):
            bar.update()
            if i == 5000:
                bar.set_postfix(loss=0.25, step=i)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert 2 <= text.count("\r") < 50               # not one draw per update
    final = text.rsplit("\r", 1)[1]
    assert "10000/10000" in final and "loss=0.25, step=5000" in final


def test_tty_write_keeps_the_bar_below_the_message():
    out = FakeTTY()
    bar = ProgressBar(total=2, file=out)
    bar.write("epoch 1 done")
    bar.close()
    lines = out.getvalue().split("\n")
    assert lines[0].endswith("epoch 1 done") and "0/2" in lines[1]


def test_tty_line_is_cut_to_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    out = FakeTTY()
    with ProgressBar(total=5, desc="a long description", file=out) as bar:
        bar.update(5)
    assert max(len(part) for part in out.getvalue().strip().split("\r")) == 29


def test_disable_prints_nothing_but_counts():
    out = FakeTTY()
    bar = progress(iter(range(4)), file=out, disable=True)
    assert list(bar) == [0, 1, 2, 3] and bar.n == 4 and out.getvalue() == ""


def test_breaking_out_of_the_loop_closes_the_bar():
    out = io.StringIO()
    bar = progress(range(100), file=out)
    for i in bar:
        if i == 9:
            break
    assert bar.closed                      # the abandoned iterator was closed, closing the bar
    assert "9/100" in out.getvalue() and out.getvalue().count("\n") == 1
    bar.close()                            # idempotent
    assert out.getvalue().count("\n") == 1


def test_len_and_misuse():
    assert len(progress(range(7))) == 7
    with pytest.raises(TypeError):
        iter(ProgressBar(total=3, file=io.StringIO())).__next__()
