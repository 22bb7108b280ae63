"""An epoch's training batches prepared a chunk at a time, in one vectorised pass (``Run.train_epoch``).

Today every step asks the DataLoader for a batch: a fancy index of the uint8 images,
a flip decision drawn for those images, ``ToTensor``'s strided uint8 -> float32 copy
and ``Normalize``'s two passes, then a Tensor: a dozen NumPy calls of ~1-5 us each
around 4 images, at a step that itself takes ~0.5 ms captured.  Here the same work
is done for ``chunk`` batches at once (one gather, one draw, one compiled pass that
flips, converts and normalises through a 256-entry table per channel), and each step takes a view of the chunk.

The random draws are the DataLoader's own, in the same order: the epoch's
permutation from the loader's generator (``generator.permutation(n)``, as
``DataLoader.__iter__`` draws it), and the flip decisions from the flip's generator
(``random(k) < p``; NumPy's ``Generator.random`` consumes one 64-bit draw per value,
so one call for a chunk gives the values of its batches' calls in turn).  The pixel
arithmetic is ToTensor's and Normalize's, in float32 and in their order
(``(u / 255 - mean) / std``), so the batches are bit-identical and training numbers
do not change (``tests/hw5/test_epoch_batches.py`` checks both).

Checkpoints fall between epochs, where the loader's bookkeeping is its
generators' states (the draws above leave them as ``iter(loader)`` would) and a
position of 0; so ``loader.state_dict()`` after an epoch is the same either way.
A loader this cannot reproduce (other transforms, another device) is iterated
as it is (:func:`applies`).  A loader that does not shuffle (evaluation) takes its
batches in order, with no random draws, so the same pass serves it too.

The batches come a chunk at a time (:func:`epoch_chunks`), their Tensors made
together right after the chunk's pixels: between two training steps only the
loop's own few lines run.  (On a machine busy with other work each step's kernels
push the interpreter's code and data out of the caches, and every distinct piece
of Python run between steps pays for that again: making a batch's two Tensors
between steps cost ~20 us there, against ~1 us when made with their chunk.)
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numba
import numpy as np

import minitorch as mt


@numba.njit(cache=True, nogil=True)
def _normalised(images, flips, mean, std, out):
    """out[n, c, h, w] = (images[n, h, w', c] / 255 - mean[c]) / std[c], w' mirrored where flips[n]; float32.

    A uint8 has 256 values: each channel's 256 results are computed once, by ToTensor's and Normalize's
    float32 operations in their order, and the pixels look them up (no division per pixel)."""
    N, H, W, C = images.shape
    table = np.empty((C, 256), dtype=np.float32)
    for c in range(C):
        for u in range(256):
            table[c, u] = (np.float32(u) / np.float32(255) - mean[c]) / std[c]
    for n in range(N):
        for c in range(C):
            values = table[c]
            for h in range(H):
                src = images[n, h, :, c]
                dst = out[n, c, h]
                if flips[n]:
                    for w in range(W):
                        dst[w] = values[src[W - 1 - w]]
                else:
                    for w in range(W):
                        dst[w] = values[src[w]]


def _pipeline_parts(dataset: Any) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray, np.ndarray, np.ndarray | None]:
    """(images, labels, flip or None, mean, std, subset indices or None) of hw5's training set: a view with
    transform Compose([RandomHorizontalFlip?, ToTensor, Normalize]), possibly inside a Subset."""
    from minitorch.data import transforms as T

    indices = None
    if isinstance(dataset, mt.data.Subset):
        indices = np.asarray(dataset.indices)
        dataset = dataset.dataset
    steps = list(dataset.transform.transforms)
    flip = steps.pop(0) if isinstance(steps[0], T.RandomHorizontalFlip) else None
    if not (len(steps) == 2 and isinstance(steps[0], T.ToTensor) and isinstance(steps[1], T.Normalize)):
        raise ValueError(f"epoch_batches expects [RandomHorizontalFlip,] ToTensor, Normalize; got {steps}")
    norm = steps[1]
    return (dataset.data, dataset.targets, flip, norm.mean.astype(np.float32), norm.std.astype(np.float32),
            indices)


def applies(loader: Any) -> bool:
    """Whether :func:`epoch_chunks` reproduces ``loader``: a CPU loader over hw5's images (shuffled or not)."""
    if getattr(loader, "device", "cpu") not in ("cpu", None) or getattr(loader, "collate_fn", None) is not None:
        return False
    try:
        _pipeline_parts(loader.dataset)
    except (AttributeError, IndexError, TypeError, ValueError):
        return False
    return True


# Images prepared per chunk: the chunk's float32 pixels (12 MiB) stay in the last-level cache, and the Tensors
# of a batch-4 epoch's steps are made 256 at a time.
CHUNK_IMAGES = 1024


def default_chunk(batch_size: int) -> int:
    """Batches per chunk: about :data:`CHUNK_IMAGES` images, at least one batch."""
    return max(1, CHUNK_IMAGES // batch_size)


def epoch_chunks(loader: Any, chunk: int | None = None) -> Iterator[list[tuple[mt.Tensor, mt.Tensor]]]:
    """One epoch of ``loader``'s (CPU) batches as lists of ``chunk`` (images, labels) pairs; the same batches,
    drawn from the same generators in the same order, as ``iter(loader)`` would give."""
    images, labels, flip, mean, std, subset = _pipeline_parts(loader.dataset)
    n, bs = len(loader.dataset), loader.batch_size
    chunk = chunk or default_chunk(bs)
    order = loader.generator.permutation(n) if loader.generator is not None else np.arange(n)
    if subset is not None:
        order = subset[order]
    batches = len(loader)
    for first in range(0, batches, chunk):
        idx = order[first * bs:min(batches, first + chunk) * bs]
        flips = (flip.generator.random(len(idx)) < flip.p) if flip is not None else np.zeros(len(idx), np.bool_)
        out = np.empty((len(idx), images.shape[3], images.shape[1], images.shape[2]), dtype=np.float32)
        _normalised(images[idx], flips, mean, std, out)
        targets = labels[idx]
        yield [(mt.from_numpy(out[b:b + bs]), mt.from_numpy(targets[b:b + bs])) for b in range(0, len(idx), bs)]


def epoch_batches(loader: Any, chunk: int | None = None) -> Iterator[tuple[mt.Tensor, mt.Tensor]]:
    """:func:`epoch_chunks`' batches one by one."""
    for batches in epoch_chunks(loader, chunk):
        yield from batches
