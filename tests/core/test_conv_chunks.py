"""Inference convolution goes through the batch in cache-sized chunks; it must equal the one-shot path."""
import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.ops import conv


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_chunked_inference_equals_training_path(monkeypatch, stride, padding):
    monkeypatch.setattr(conv, "direct_conv_applies", lambda *args: False)  # the im2col path is the subject
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((9, 3, 8, 7)))
    w = mt.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = mt.tensor(rng.standard_normal(4), requires_grad=True)
    whole = F.conv2d(x, w, b, stride, padding).numpy()  # weight needs grad: one column matrix
    chunks = []
    monkeypatch.setattr(conv, "im2col_chunk", lambda x, nbytes: chunks.append(nbytes) or 2)
    with mt.no_grad():
        chunked = F.conv2d(x, w, b, stride, padding).numpy()
    assert chunks, "the chunked path was not taken"
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)
