"""hw5/epoch_batches.py: chunked batches equal the DataLoader's, bit for bit, and so do the runs trained on them."""
from __future__ import annotations

import numpy as np
import pytest
from hw5_helpers import tiny

import minitorch as mt
from hw5.data import load_data
from hw5.epoch_batches import applies, epoch_batches


def _loader(config, subset: int | None = None):
    """The training loader exactly as ``Run`` builds it, on a fresh copy of the data (its own generators)."""
    train = load_data(config).train
    if subset is not None:
        train = mt.data.Subset(train, np.arange(subset))
    return mt.data.DataLoader(train, config.batch_size, shuffle=True, seed=config.seed)


@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_the_same_batches_as_the_dataloader(flip, chunk):
    config = tiny("fig1d", dataset="synthetic", flip=flip, train_size=50, seed=3, batch_size=4)  # 12 x 4 + 2
    today, draft = _loader(config), _loader(config)
    for _epoch in range(2):   # the second epoch: the generators carried on from the first
        want = list(today)
        got = list(epoch_batches(draft, chunk))
        assert len(got) == len(want) == 13
        for (x, y), (wx, wy) in zip(got, want, strict=True):
            assert x.dtype == wx.dtype and x.shape == wx.shape
            np.testing.assert_array_equal(x.numpy(), wx.numpy())
            np.testing.assert_array_equal(y.numpy(), wy.numpy())


def test_a_subset_of_the_images():
    config = tiny("fig3b", dataset="synthetic", train_size=60, batch_size=4)
    today, draft = _loader(config, subset=30), _loader(config, subset=30)
    for (x, y), (wx, wy) in zip(epoch_batches(draft, 2), today, strict=True):
        np.testing.assert_array_equal(x.numpy(), wx.numpy())
        np.testing.assert_array_equal(y.numpy(), wy.numpy())


@pytest.mark.parametrize("flip", [True, False])
def test_a_run_trains_on_the_chunked_batches_with_the_numbers_of_the_loader(tmp_path, monkeypatch, flip):
    """Run.train_epoch takes its batches from epoch_chunks where it applies (evaluate too); the records are those of the
    loader's own batches, bit for bit (only the wall times differ)."""
    import hw5.train as train_module
    from hw5.runfiles import RunFiles
    from hw5.train import train

    config = tiny("fig1d", flip=flip, train_size=90, epochs=2, batch_size=4)
    used = []
    real = train_module.epoch_chunks
    monkeypatch.setattr(train_module, "epoch_chunks", lambda loader: used.append(1) or real(loader))
    train(config, str(tmp_path / "chunked"), quiet=True)
    assert used == [1, 1]
    monkeypatch.setattr(train_module, "applies", lambda loader: False)
    train(config, str(tmp_path / "loader"), quiet=True)

    def numbers(runs):
        return [{k: v for k, v in r.items() if "time" not in k and k != "elapsed"}
                for r in RunFiles(str(tmp_path / runs), "fig1d").records()]
    assert numbers("chunked") == numbers("loader")


def test_an_evaluation_loader_in_order_with_a_short_last_batch():
    """The evaluation loaders do not shuffle: the same batches, in order, the last one short."""
    config = tiny("fig1d", dataset="synthetic", train_size=50, test_size=23)
    data = load_data(config)
    loader = mt.data.DataLoader(data.test, 10)
    assert applies(loader)
    got = list(epoch_batches(loader))
    assert [len(y) for _, y in got] == [10, 10, 3]
    for (x, y), (wx, wy) in zip(got, loader, strict=True):
        np.testing.assert_array_equal(x.numpy(), wx.numpy())
        np.testing.assert_array_equal(y.numpy(), wy.numpy())
