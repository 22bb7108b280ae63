"""Direct stride-1 convolution with explicit SIMD register tiles (numba + LLVM vector intrinsics).

:mod:`.cpu_conv` leaves vectorisation to the compiler, and its loops are bound by
loads and stores of accumulator rows: numba cannot keep a tile of outputs in
registers across the taps of a kernel.  Here small intrinsics, written in
LLVM IR through ``numba.extending.intrinsic``, do exactly that, and the rest is
ordinary numba code around them:

* :func:`_tile_fma`: a tile of ``nout`` output rows x ``nvec`` vectors of
  positions, held in ``nout * nvec`` vector accumulators (SSA values once LLVM
  promotes them) across a whole list of taps; a tap loads ``nvec`` vectors of
  the source, broadcasts ``nout`` weights and issues ``nout * nvec`` fused
  multiply-adds (``llvm.fma``).  The forward pass and the input gradient are
  both this loop (the input gradient is a forward convolution of the spread
  output gradient with the flipped, transposed weight).
* :func:`_dots_fma`: the weight gradient's dot products: ``nout`` output
  channels x ``ntaps`` neighbouring taps of one kernel row, each a vector of
  partial sums over positions, carried across the images in a scratch array
  and summed across lanes once at the end.

Measured on CoolNet's layers (``python -m benchmarks.conv_ab``: one thread, min
of interleaved rounds, a shared 2-core AVX-512 machine, so indicative): 1.3-1.6x
the speed of :mod:`.cpu_conv`'s kernels at batch 4 and 1.7-3x at batch 32 and
256, 60-125 GFLOP/s.

Layout: images go **batch-innermost** in blocks of 16, 8 or 4 (at most the
vector width): a block is staged as (C, H, W, nb), so a vector holds LANES / nb
neighbouring pixels of nb images, a tap (ki, kj) is a fixed offset, and only the
valid output pixels are computed (a row's last vector may run past the valid
width; those values are dropped).  Staging and unstaging are transposes done
by shuffle intrinsics (:func:`_transpose` for LANES images,
:func:`_interleave`/:func:`_deinterleave` for fewer; a row's last pixels, fewer than
LANES, in short runs: :func:`_interleave_few`/:func:`_deinterleave_few`).  The 0-3 images left over
go one at a time through the **wide rows** of :mod:`.cpu_conv` (a channel is one
flat row of H*W values, output (i, j) at t = i*W + j, tap (ki, kj) at
t + ki*W + kj; the W - Wo gap columns are computed and dropped).  No layout
copies an input kh*kw times.

Vector width: 16 floats where the compilation target has AVX-512, else 8 (a
``<8 x float>`` is one AVX register; LLVM lowers it on any x86-64).  Tile sizes
follow the width, so the register tile fits the target's register file (32 or
16 vector registers).

Summation order (what differs from :mod:`.cpu_conv`, whose sums the compiler
re-associates in groups of five taps and four channels):

* forward: ``out = bias``, then one fused multiply-add per tap, taps in the
  order (input channel, kernel row, kernel column): a single chain per output,
  one rounding per tap, the same whichever path (block size, wide rows) the
  image takes;
* input gradient: ``gx = 0``, then one fused multiply-add per tap of the
  flipped kernel, in the order (kernel row, output channel, kernel column); a
  block skips the kernel rows that fall outside the gradient, whose products
  are exact zeros, so this too is the same on every path (for finite weights);
* weight gradient: each of the LANES lanes of a partial-sum vector accumulates
  by fused multiply-adds, block after block in batch order, the products of
  its (pixel, image) slot (in a block) or of positions t = lane, lane + LANES,
  ... (wide rows), over output rows and pixels in order; the LANES lanes are
  then added in order.  This order depends on the batch size (which blocks)
  and on LANES, so an AVX-512 machine and an AVX2 one differ in the last bits.

The eager and the captured step call the same kernels on the same shapes, so
captured steps stay bit-identical to eager ones; against :mod:`.cpu_conv`,
results differ by float32 rounding (training numbers change in the last bits).
NaN and inf propagate as in :mod:`.cpu_conv`: no fast-math assumption is made
(zeros padded around the gradient, or in dropped columns, multiply real inputs,
as there: an inf input can make a weight-gradient entry NaN that im2col + GEMM
leaves finite).

All kernels take C-contiguous float32 arrays (padding applied beforehand with
:func:`.cpu_conv.zero_padded`) and write into outputs they are handed:

* :func:`conv2d_forward_into` (x, weight, bias, out): out = conv(x, weight) + bias
* :func:`conv2d_weight_grad_into` (x, g, out): out = d loss / d weight
* :func:`conv2d_input_grad_into` (g, weight, out): out = d loss / d (padded) x

and :func:`conv2d_forward`, :func:`conv2d_weight_grad`, :func:`conv2d_input_grad`
allocate them, with :mod:`.cpu_conv`'s signatures.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from minitorch.kernels.cpu_conv import zero_padded


def target_lanes() -> int:
    """float32 lanes per vector on numba's compilation target: 16 with AVX-512, else 8.

    Read from the target numba compiles for (``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES``
    when set, else the host), which is also part of the key of numba's on-disk cache, so
    cached code and this width always agree.
    """
    from numba.core.registry import cpu_target

    features = cpu_target.target_context.codegen().magic_tuple()[2]
    return 16 if "+avx512f" in features.split(",") else 8


LANES = target_lanes()
# Register tiles: accumulators + the vectors loaded per tap must fit the register file (32 registers with
# AVX-512, 16 with AVX2).  Forward/input gradient: up to 6 rows x TILE_VECS vectors (24 or 12 accumulators).
TILE_VECS = 4 if LANES == 16 else 2
# Weight gradient: DOT_ROWS output channels x 5 taps of partial sums, + 5 input and DOT_ROWS gradient vectors.
DOT_ROWS = 4 if LANES == 16 else 2
_F32 = ir.FloatType()
_I32 = ir.IntType(32)


def _vector(builder, value):
    """A float splatted over all lanes."""
    vec = ir.VectorType(_F32, LANES)
    one = builder.insert_element(ir.Constant(vec, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined), ir.Constant(ir.VectorType(_I32, LANES),
                                                                                    [0] * LANES))


def _vector_at(builder, base, index):
    """Pointer to the vector that starts at float ``base[index]`` (no alignment assumed)."""
    return builder.bitcast(builder.gep(base, [index]), ir.VectorType(_F32, LANES).as_pointer())


def _fma(builder):
    vec = ir.VectorType(_F32, LANES)
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fma.v{LANES}f32")
    return lambda a, b, c: builder.call(fn, [a, b, c])


def _literal(value, what):
    if not isinstance(value, types.IntegerLiteral):
        raise numba.errors.TypingError(f"{what} must be a literal integer")
    return value.literal_value


@intrinsic
def _tile_fma(typingctx, src, p0, offs, wp, wbase, init, out, obase, ostride, nout, nvec):
    """For k < nout, m < nvec: out[obase + k*ostride + m*V : +V] =
    init[k] + sum over taps q (in order) of wp[wbase + q*nout + k] * src[offs[q] + p0 + m*V : +V].

    ``src``, ``wp``, ``init`` and ``out`` are flat float32 arrays; ``offs`` int64 tap offsets.
    """
    rows, vecs = _literal(nout, "nout"), _literal(nvec, "nvec")
    sig = types.void(src, p0, offs, wp, wbase, init, out, obase, ostride, nout, nvec)

    def codegen(context, builder, signature, args):
        src_a, p0_v, offs_a, wp_a, wbase_v, init_a, out_a, obase_v, ostride_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args[:9], args[:9], strict=True))
        i64 = ir.IntType(64)
        vec = ir.VectorType(_F32, LANES)
        fma = _fma(builder)
        acc = [[cgutils.alloca_once(builder, vec) for _ in range(vecs)] for _ in range(rows)]
        for k in range(rows):
            start = _vector(builder, builder.load(builder.gep(init_a.data, [ir.Constant(i64, k)])))
            for m in range(vecs):
                builder.store(start, acc[k][m])
        ntaps = builder.extract_value(offs_a.shape, 0)
        with cgutils.for_range(builder, ntaps) as loop:
            q = loop.index
            at = builder.add(builder.load(builder.gep(offs_a.data, [q])), p0_v)
            xs = [builder.load(_vector_at(builder, src_a.data, builder.add(at, ir.Constant(i64, m * LANES))),
                               align=4) for m in range(vecs)]
            wq = builder.add(wbase_v, builder.mul(q, ir.Constant(i64, rows)))
            for k in range(rows):
                wk = _vector(builder, builder.load(builder.gep(wp_a.data, [builder.add(wq, ir.Constant(i64, k))])))
                for m in range(vecs):
                    builder.store(fma(wk, xs[m], builder.load(acc[k][m])), acc[k][m])
        for k in range(rows):
            row = builder.add(obase_v, builder.mul(ostride_v, ir.Constant(i64, k)))
            for m in range(vecs):
                ptr = _vector_at(builder, out_a.data, builder.add(row, ir.Constant(i64, m * LANES)))
                builder.store(builder.load(acc[k][m]), ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _dots_fma(typingctx, g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, nout,
              ntaps):
    """For k < nout, j < ntaps: part[pbase + k*pstride + j*V : +V] += sum over r < nr, u < nu (in order) of
    g[gbase + k*gstride + r*grow + u*V : +V] * src[sbase + j*jstride + r*srow + u*V : +V] (lane-wise FMAs)."""
    rows, taps = _literal(nout, "nout"), _literal(ntaps, "ntaps")
    sig = types.void(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, nout, ntaps)

    def codegen(context, builder, signature, args):
        (g_a, gbase_v, gstride_v, grow_v, src_a, sbase_v, srow_v, jstride_v, part_a, pbase_v, pstride_v, nr_v,
         nu_v) = (context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
                  for t, v in zip(signature.args[:13], args[:13], strict=True))
        i64 = ir.IntType(64)
        vec = ir.VectorType(_F32, LANES)
        fma = _fma(builder)

        def part_at(k, j):
            index = builder.add(builder.add(pbase_v, builder.mul(pstride_v, ir.Constant(i64, k))),
                                ir.Constant(i64, j * LANES))
            return _vector_at(builder, part_a.data, index)

        acc = [[cgutils.alloca_once(builder, vec) for _ in range(taps)] for _ in range(rows)]
        for k in range(rows):
            for j in range(taps):
                builder.store(builder.load(part_at(k, j), align=4), acc[k][j])
        grows = [builder.add(gbase_v, builder.mul(gstride_v, ir.Constant(i64, k))) for k in range(rows)]
        staps = [builder.add(sbase_v, builder.mul(jstride_v, ir.Constant(i64, j))) for j in range(taps)]
        with cgutils.for_range(builder, nr_v) as outer:
            g_r = builder.mul(outer.index, grow_v)
            s_r = builder.mul(outer.index, srow_v)
            with cgutils.for_range(builder, nu_v) as inner:
                t = builder.mul(inner.index, ir.Constant(i64, LANES))
                xs = [builder.load(_vector_at(builder, src_a.data, builder.add(builder.add(staps[j], s_r), t)),
                                   align=4) for j in range(taps)]
                for k in range(rows):
                    gk = builder.load(_vector_at(builder, g_a.data, builder.add(builder.add(grows[k], g_r), t)),
                                      align=4)
                    for j in range(taps):
                        builder.store(fma(gk, xs[j], builder.load(acc[k][j])), acc[k][j])
        for k in range(rows):
            for j in range(taps):
                builder.store(builder.load(acc[k][j]), part_at(k, j), align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _transpose(typingctx, src, sbase, sstride, dst, dbase, dstride):
    """A LANES x LANES square: dst[dbase + c*dstride + r] = src[sbase + r*sstride + c] for r, c < LANES.

    LANES vector loads, log2(LANES) rounds of two-vector shuffles (each swaps the off-diagonal blocks of the
    current block size), LANES vector stores: a fraction of a cycle per value, where scalar loops that read
    or write LANES different rows take one or more.
    """
    sig = types.void(src, sbase, sstride, dst, dbase, dstride)

    def codegen(context, builder, signature, args):
        src_a, sbase_v, sstride_v, dst_a, dbase_v, dstride_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args, args, strict=True))
        i64 = ir.IntType(64)
        rows = [builder.load(_vector_at(builder, src_a.data, builder.add(sbase_v, builder.mul(
            sstride_v, ir.Constant(i64, r)))), align=4) for r in range(LANES)]
        size = LANES // 2
        while size >= 1:
            low = [e if not e & size else LANES + (e ^ size) for e in range(LANES)]
            high = [e ^ size if not e & size else LANES + e for e in range(LANES)]
            for a in range(LANES):
                if a & size:
                    continue
                b = a | size
                pair = rows[a], rows[b]
                rows[a] = builder.shuffle_vector(*pair, ir.Constant(ir.VectorType(_I32, LANES), low))
                rows[b] = builder.shuffle_vector(*pair, ir.Constant(ir.VectorType(_I32, LANES), high))
            size //= 2
        for r in range(LANES):
            ptr = _vector_at(builder, dst_a.data, builder.add(dbase_v, builder.mul(dstride_v, ir.Constant(i64, r))))
            builder.store(rows[r], ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, len(mask)), mask))


@intrinsic
def _interleave(typingctx, src, sbase, sstride, dst, dbase, nimages):
    """nb rows of LANES pixels (row r at src[sbase + r*sstride]) -> nb vectors at dst[dbase:], pixel-major:
    dst[dbase + p*nb + r] = src[sbase + r*sstride + p].  A tree of two-vector shuffles per output vector
    (rows merged pairwise, then pairs of pairs, ...)."""
    nb = _literal(nimages, "nimages")
    px = LANES // nb
    sig = types.void(src, sbase, sstride, dst, dbase, nimages)

    def codegen(context, builder, signature, args):
        src_a, sbase_v, sstride_v, dst_a, dbase_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args[:5], args[:5], strict=True))
        i64 = ir.IntType(64)
        rows = [builder.load(_vector_at(builder, src_a.data, builder.add(sbase_v, builder.mul(
            sstride_v, ir.Constant(i64, r)))), align=4) for r in range(nb)]
        for k in range(nb):   # output vector k: pixels k*px .. k*px + px - 1, each with its nb images
            parts = [_shuffle(builder, rows[2 * m], rows[2 * m + 1],
                              [v for p in range(px) for v in (k * px + p, LANES + k * px + p)])
                     for m in range(nb // 2)]
            group = 2
            while len(parts) > 1:
                size = px * group
                mask = [v for p in range(px) for v in [*range(p * group, (p + 1) * group),
                                                        *range(size + p * group, size + (p + 1) * group)]]
                parts = [_shuffle(builder, parts[2 * m], parts[2 * m + 1], mask) for m in range(len(parts) // 2)]
                group *= 2
            ptr = _vector_at(builder, dst_a.data, builder.add(dbase_v, ir.Constant(i64, k * LANES)))
            builder.store(parts[0], ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _deinterleave(typingctx, src, sbase, dst, dbase, dstride, nimages):
    """The inverse of :func:`_interleave`: nb pixel-major vectors at src[sbase:] -> nb rows of LANES pixels,
    dst[dbase + r*dstride + p] = src[sbase + p*nb + r]."""
    nb = _literal(nimages, "nimages")
    px = LANES // nb
    sig = types.void(src, sbase, dst, dbase, dstride, nimages)

    def codegen(context, builder, signature, args):
        src_a, sbase_v, dst_a, dbase_v, dstride_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args[:5], args[:5], strict=True))
        i64 = ir.IntType(64)
        vecs = [builder.load(_vector_at(builder, src_a.data, builder.add(sbase_v, ir.Constant(i64, k * LANES))),
                             align=4) for k in range(nb)]
        for r in range(nb):   # image r: px pixels from each input vector, in order
            parts = [_shuffle(builder, vecs[2 * m], vecs[2 * m + 1],
                              [*(p * nb + r for p in range(px)), *(LANES + p * nb + r for p in range(px))])
                     for m in range(nb // 2)]
            while len(parts) > 1:
                size = parts[0].type.count
                parts = [_shuffle(builder, parts[2 * m], parts[2 * m + 1], list(range(2 * size)))
                         for m in range(len(parts) // 2)]
            ptr = _vector_at(builder, dst_a.data, builder.add(dbase_v, builder.mul(dstride_v, ir.Constant(i64, r))))
            builder.store(parts[0], ptr, align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _interleave_few(typingctx, src, sbase, sstride, dst, dbase, nimages, pixels):
    """:func:`_interleave` for a row's last few ``pixels`` (fewer than LANES) of nb images, into
    pixels * nb floats at dst[dbase:]: dst[dbase + p*nb + r] = src[sbase + r*sstride + p].  The nb short rows
    are joined into one vector and put in pixel-major order by one shuffle."""
    nb, n = _literal(nimages, "nimages"), _literal(pixels, "pixels")
    sig = types.void(src, sbase, sstride, dst, dbase, nimages, pixels)

    def codegen(context, builder, signature, args):
        src_a, sbase_v, sstride_v, dst_a, dbase_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args[:5], args[:5], strict=True))
        i64 = ir.IntType(64)
        row = ir.VectorType(_F32, n)
        rows = [builder.load(builder.bitcast(builder.gep(src_a.data, [builder.add(sbase_v, builder.mul(
            sstride_v, ir.Constant(i64, r)))]), row.as_pointer()), align=4) for r in range(nb)]
        while len(rows) > 1:   # joined pairwise: joined[r*n + p] = row r's pixel p
            size = rows[0].type.count
            rows = [_shuffle(builder, rows[2 * m], rows[2 * m + 1], list(range(2 * size)))
                    for m in range(len(rows) // 2)]
        joined = rows[0]
        out = _shuffle(builder, joined, ir.Constant(joined.type, ir.Undefined),
                       [(k % nb) * n + k // nb for k in range(n * nb)])   # out[p*nb + r] = joined[r*n + p]
        builder.store(out, builder.bitcast(builder.gep(dst_a.data, [dbase_v]), out.type.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _deinterleave_few(typingctx, src, sbase, dst, dbase, dstride, nimages, pixels):
    """The inverse of :func:`_interleave_few`: dst[dbase + r*dstride + p] = src[sbase + p*nb + r] for a
    row's last few ``pixels`` (fewer than LANES)."""
    nb, n = _literal(nimages, "nimages"), _literal(pixels, "pixels")
    sig = types.void(src, sbase, dst, dbase, dstride, nimages, pixels)

    def codegen(context, builder, signature, args):
        src_a, sbase_v, dst_a, dbase_v, dstride_v = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args[:5], args[:5], strict=True))
        i64 = ir.IntType(64)
        both = ir.VectorType(_F32, n * nb)
        vec = builder.load(builder.bitcast(builder.gep(src_a.data, [sbase_v]), both.as_pointer()), align=4)
        for r in range(nb):
            part = _shuffle(builder, vec, ir.Constant(both, ir.Undefined), [p * nb + r for p in range(n)])
            ptr = builder.gep(dst_a.data, [builder.add(dbase_v, builder.mul(dstride_v, ir.Constant(i64, r)))])
            builder.store(part, builder.bitcast(ptr, part.type.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen


# ------------------------------------------------------------------ shared pieces
@numba.njit(nogil=True, cache=True)
def _round_up(n, m):
    return (n + m - 1) // m * m


@numba.njit(nogil=True, cache=True)
def _group_rows(left):
    """Rows of the next output group: 6, 4, 2 or 1 (the tiles :func:`_tile_fma` is built for)."""
    if left >= 6:
        return 6
    if left >= 4:
        return 4
    if left >= 2:
        return 2
    return 1


@numba.njit(nogil=True, cache=True)
def _pack(wt):
    """Weights (R, Q) -> per group of rows (6, 4, 2, 1 as :func:`_group_rows` splits R), tap-major: the
    ``rows`` weights of tap q sit together, so a tap's broadcasts read one short run."""
    R, Q = wt.shape
    packed = np.empty(R * Q, dtype=wt.dtype)
    r = 0
    at = 0
    while r < R:
        rows = _group_rows(R - r)
        for q in range(Q):
            for k in range(rows):
                packed[at + q * rows + k] = wt[r + k, q]
        at += rows * Q
        r += rows
    return packed


@numba.njit(nogil=True, cache=True)
def _tile(src, p0, offs, packed, at, bias, flat, obase, stride, rows, full):
    """:func:`_tile_fma` for a group of ``rows`` (6, 4, 2 or 1) by TILE_VECS vectors (``full``) or one."""
    if full:
        if rows == 6:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 6, TILE_VECS)
        elif rows == 4:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 4, TILE_VECS)
        elif rows == 2:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 2, TILE_VECS)
        else:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 1, TILE_VECS)
    else:
        if rows == 6:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 6, 1)
        elif rows == 4:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 4, 1)
        elif rows == 2:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 2, 1)
        else:
            _tile_fma(src, p0, offs, packed, at, bias, flat, obase, stride, 1, 1)


@numba.njit(nogil=True, cache=True)
def _tiles(src, offs, packed, init, ys, R, span):
    """Wide rows: ys[r, p] = init[r] + sum_q packed-weight(r, q) * src[offs[q] + p] for every row r < R and
    p < span (a multiple of LANES): full tiles of TILE_VECS vectors, then single vectors."""
    wide = TILE_VECS * LANES
    Q = offs.shape[0]
    flat = ys.reshape(-1)
    stride = ys.shape[1]
    r = 0
    at = 0
    while r < R:
        rows = _group_rows(R - r)
        bias = init[r:r + rows]
        p = 0
        while p < span:
            full = p + wide <= span
            _tile(src, p, offs, packed, at, bias, flat, r * stride + p, stride, rows, full)
            p += wide if full else LANES
        at += rows * Q
        r += rows


@numba.njit(nogil=True, cache=True)
def _block_size(left):
    """Images in the next batch-innermost block: LANES, LANES // 2 or 4 (0: fewer than 4 left, wide rows)."""
    nb = LANES
    while nb >= 4:
        if left >= nb:
            return nb
        nb //= 2
    return 0


@numba.njit(nogil=True, cache=True)
def _block_tiles(src, offs, packed, init, ys, R, Ho, Wr, W, nb):
    """Batch-innermost blocks of ``nb`` images (a vector = LANES // nb neighbouring pixels x nb images):
    ys[r, (i*Wr + j)*nb + lane] = init[r] + sum_q packed-weight(r, q) * src[offs[q] + (i*W + j)*nb + lane]
    for the Ho rows of Wr pixels (Wr: the valid width rounded up to whole vectors)."""
    Q = offs.shape[0]
    flat = ys.reshape(-1)
    stride = ys.shape[1]
    px = LANES // nb
    r = 0
    at = 0
    while r < R:
        rows = _group_rows(R - r)
        bias = init[r:r + rows]
        for i in range(Ho):
            j = 0
            while j < Wr:
                full = j + TILE_VECS * px <= Wr
                _tile(src, (i * W + j) * nb, offs, packed, at, bias, flat, r * stride + (i * Wr + j) * nb,
                      stride, rows, full)
                j += TILE_VECS * px if full else px
        at += rows * Q
        r += rows


@numba.njit(nogil=True, cache=True)
def _to_block(x, n0, xb, di, dj):
    """xb[c, di + i, dj + j, lane] = x[n0 + lane, c, i, j] (x C-contiguous; the rest of xb stays as it is).

    A row's runs of LANES pixels go as squares of LANES pixels x LANES images through :func:`_transpose`
    (blocks of LANES images) or through :func:`_interleave` (smaller blocks); its last pixels in short runs
    (:func:`_interleave_tail`: moved one float at a time, they had been a third of a CoolNet batch-4 step's
    convolution time)."""
    N, C, H, W = x.shape
    Hb, Wb, nb = xb.shape[1], xb.shape[2], xb.shape[3]
    src, dst = x.reshape(-1), xb.reshape(-1)
    image = C * H * W
    full = W // LANES * LANES      # whole runs of LANES pixels, then the rest in short runs
    for c in range(C):
        for i in range(H):
            at, to = ((n0 * C + c) * H + i) * W, ((c * Hb + di + i) * Wb + dj) * nb
            for j in range(0, full, LANES):
                if nb == LANES:
                    _transpose(src, at + j, image, dst, to + j * nb, LANES)
                elif nb == 8:
                    _interleave(src, at + j, image, dst, to + j * nb, 8)
                elif nb == 4:
                    _interleave(src, at + j, image, dst, to + j * nb, 4)
            _interleave_tail(src, at + full, image, dst, to + full * nb, nb, W - full)


@numba.njit(nogil=True, cache=True)
def _from_block(ys, n0, nb, Wr, out):
    """out[n0 + lane, r, i, j] = ys[r, (i*Wr + j)*nb + lane] (out C-contiguous): squares through
    :func:`_transpose` for blocks of LANES images, else runs of pixels as :func:`_to_block`'s."""
    R, Ho, Wo = out.shape[1], out.shape[2], out.shape[3]
    flat, src = out.reshape(-1), ys.reshape(-1)
    stride = ys.shape[1]
    image = R * Ho * Wo
    full = Wo // LANES * LANES      # whole runs of LANES pixels, then the rest in short runs
    for r in range(R):
        for i in range(Ho):
            at, to = r * stride + i * Wr * nb, ((n0 * R + r) * Ho + i) * Wo
            for j in range(0, full, LANES):
                if nb == LANES:
                    _transpose(src, at + j * nb, LANES, flat, to + j, image)
                elif nb == 8:
                    _deinterleave(src, at + j * nb, flat, to + j, image, 8)
                elif nb == 4:
                    _deinterleave(src, at + j * nb, flat, to + j, image, 4)
            _deinterleave_tail(src, at + full * nb, flat, to + full, image, nb, Wo - full)


@numba.njit(nogil=True, cache=True)
def _zero_border(xb, top, left, h, w):
    """Zero a staged block (C, Hb, Wb, nb) outside rows [top, top + h) and columns [left, left + w), the part
    that :func:`_to_block` leaves as it is (zeroing the whole block wrote every value twice)."""
    xb[:, :top] = 0.0
    xb[:, top + h:] = 0.0
    xb[:, top:top + h, :left] = 0.0
    xb[:, top:top + h, left + w:] = 0.0


@numba.njit(nogil=True, cache=True)
def _interleave_run(src, at, image, dst, to, nb, pixels):
    """:func:`_interleave_few` for nb = 4, 8 or 16 images (a literal for each), ``pixels`` a literal from the
    caller (compiled for each)."""
    numba.literally(pixels)
    if nb == 4:
        _interleave_few(src, at, image, dst, to, 4, pixels)
    elif nb == 8:
        _interleave_few(src, at, image, dst, to, 8, pixels)
    else:
        _interleave_few(src, at, image, dst, to, 16, pixels)


@numba.njit(nogil=True, cache=True)
def _deinterleave_run(src, at, dst, to, image, nb, pixels):
    """:func:`_deinterleave_few` with nb and ``pixels`` as literals, as :func:`_interleave_run`."""
    numba.literally(pixels)
    if nb == 4:
        _deinterleave_few(src, at, dst, to, image, 4, pixels)
    elif nb == 8:
        _deinterleave_few(src, at, dst, to, image, 8, pixels)
    else:
        _deinterleave_few(src, at, dst, to, image, 16, pixels)


@numba.njit(nogil=True, cache=True)
def _interleave_tail(src, at, image, dst, to, nb, count):
    """A row's last ``count`` (< LANES) pixels of nb images through :func:`_interleave_few`: runs of 4
    pixels, then 2, then 1."""
    j = 0
    while j + 4 <= count:
        _interleave_run(src, at + j, image, dst, to + j * nb, nb, 4)
        j += 4
    if j + 2 <= count:
        _interleave_run(src, at + j, image, dst, to + j * nb, nb, 2)
        j += 2
    if j < count:
        _interleave_run(src, at + j, image, dst, to + j * nb, nb, 1)


@numba.njit(nogil=True, cache=True)
def _deinterleave_tail(src, at, dst, to, image, nb, count):
    """:func:`_deinterleave_few` for a row's last ``count`` (< LANES) pixels, as :func:`_interleave_tail`."""
    j = 0
    while j + 4 <= count:
        _deinterleave_run(src, at + j * nb, dst, to + j, image, nb, 4)
        j += 4
    if j + 2 <= count:
        _deinterleave_run(src, at + j * nb, dst, to + j, image, nb, 2)
        j += 2
    if j < count:
        _deinterleave_run(src, at + j * nb, dst, to + j, image, nb, 1)


@numba.njit(nogil=True, cache=True)
def _view(flat, a, b, c, d):
    """The first a*b*c*d values of ``flat`` as an (a, b, c, d) array."""
    return flat[:a * b * c * d].reshape(a, b, c, d)


# ------------------------------------------------------------------ forward
@numba.njit(nogil=True, cache=True)
def conv2d_forward_into(x, weight, bias, out):
    """out[n, o] = bias[o] + sum_c weight[o, c] (*) x[n, c] (stride 1; x already padded).

    Blocks of 16, 8 or 4 images go batch-innermost (no wasted rows; the last vector of a row may run
    past the valid width); the 0-3 images left over, one at a time in wide rows.
    """
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = out.shape[2], out.shape[3]
    packed = _pack(weight.reshape(O, C * kh * kw))
    init = bias.astype(np.float32)
    n = 0
    first = _block_size(N)   # the largest block: the buffers' size
    if first > 0:
        xflat = np.empty(C * H * W * first + LANES, dtype=np.float32)  # + one vector a row's last tile may read
        xflat[C * H * W * first:] = 0.0  # each block writes all of its view: only what lies past it is zeroed
        yflat = np.empty(O * Ho * (Wo * first + LANES), dtype=np.float32)   # bounds Wr * nb for every block
        offs = np.empty(C * kh * kw, dtype=np.int64)
        while _block_size(N - n) > 0:
            nb = _block_size(N - n)
            Wr = _round_up(Wo, LANES // nb)
            for c in range(C):
                for i in range(kh):
                    for j in range(kw):
                        offs[(c * kh + i) * kw + j] = ((c * H + i) * W + j) * nb
            _to_block(x, n, _view(xflat, C, H, W, nb), 0, 0)
            yb = yflat[:O * Ho * Wr * nb].reshape(O, Ho * Wr * nb)
            _block_tiles(xflat, offs, packed, init, yb, O, Ho, Wr, W, nb)
            _from_block(yb, n, nb, Wr, out)
            n += nb
    if n == N:
        return
    span = _round_up((Ho - 1) * W + Wo, LANES)            # output positions computed per channel (wide rows)
    row = _round_up(span + (kh - 1) * W + kw - 1, LANES)  # a staged input row: everything a tile reads
    offs = np.empty(C * kh * kw, dtype=np.int64)
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                offs[(c * kh + i) * kw + j] = c * row + i * W + j
    xs = np.zeros((C, row), dtype=np.float32)
    ys = np.empty((O, span), dtype=np.float32)
    src = xs.reshape(-1)
    for m in range(n, N):
        for c in range(C):
            xs[c, :H * W] = x[m, c].reshape(-1)
        _tiles(src, offs, packed, init, ys, O, span)
        for o in range(O):
            for i in range(Ho):
                out[m, o, i, :] = ys[o, i * W:i * W + Wo]


# ------------------------------------------------------------------ input gradient
@numba.njit(nogil=True, cache=True)
def _flipped(weight):
    """(C, kh * O * kw): w[o, c, kh-1-i, kw-1-j] at tap (i, o, j), kernel rows outermost."""
    O, C, kh, kw = weight.shape
    flipped = np.empty((C, kh * O * kw), dtype=np.float32)
    for i in range(kh):
        for o in range(O):
            for j in range(kw):
                for c in range(C):
                    flipped[c, (i * O + o) * kw + j] = weight[o, c, kh - 1 - i, kw - 1 - j]
    return flipped


@numba.njit(nogil=True, cache=True)
def _block_input_grad(gflat, offs, packed, init, ys, C, H, Wr, Wp, kh, kw, O, Ho, nb):
    """One block: the spread gradient (``gflat``: (O, Hp, Wp, nb), zero border) correlated with the flipped
    weight; each row y of the result takes only the kernel rows that reach the gradient (taps run kernel row
    outermost, so those are one contiguous run of taps)."""
    flat = ys.reshape(-1)
    per_row = O * kw
    stride = ys.shape[1]
    px = LANES // nb
    r = 0
    at = 0
    while r < C:
        rows = _group_rows(C - r)
        bias = init[r:r + rows]
        for y in range(H):
            lo, hi = max(0, kh - 1 - y), min(kh - 1, kh - 1 - y + Ho - 1)   # kernel rows that reach g
            taps = offs[lo * per_row:(hi + 1) * per_row]
            x = 0
            while x < Wr:
                full = x + TILE_VECS * px <= Wr
                _tile(gflat, (y * Wp + x) * nb, taps, packed, at + lo * per_row * rows, bias, flat,
                      r * stride + (y * Wr + x) * nb, stride, rows, full)
                x += TILE_VECS * px if full else px
        at += rows * kh * per_row
        r += rows


@numba.njit(nogil=True, cache=True)
def conv2d_input_grad_into(g, weight, out):
    """out[n, c] = d loss / d x[n, c] for the (padded) input of shape out.shape, given g = d loss / d out.

    A forward convolution of the output gradient, with kh - 1 rows and kw - 1 columns of zeros around it,
    and the weight flipped in both directions and transposed (O <-> C).  Blocks of 16, 8 or 4 images go
    batch-innermost; the 0-3 images left over, one at a time in wide rows.
    """
    N, C, H, W = out.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = g.shape[2], g.shape[3]
    packed = _pack(_flipped(weight))
    init = np.zeros(C, dtype=np.float32)
    n = 0
    first = _block_size(N)   # the largest block: the buffers' size
    if first > 0:
        Hp, Wp = H + kh - 1, W + kw - 1
        gflat = np.empty(O * Hp * Wp * first + 2 * LANES, dtype=np.float32)
        gflat[O * Hp * Wp * first:] = 0.0
        yflat = np.empty(C * H * (W * first + LANES), dtype=np.float32)   # bounds Wr * nb for every block
        offs = np.empty(kh * O * kw, dtype=np.int64)
        while _block_size(N - n) > 0:
            nb = _block_size(N - n)
            Wr = _round_up(W, LANES // nb)
            for i in range(kh):
                for o in range(O):
                    for j in range(kw):
                        offs[(i * O + o) * kw + j] = ((o * Hp + i) * Wp + j) * nb
            gb = _view(gflat, O, Hp, Wp, nb)
            _zero_border(gb, kh - 1, kw - 1, Ho, Wo)   # its layout changes with nb; _to_block fills the inside
            _to_block(g, n, gb, kh - 1, kw - 1)
            yb = yflat[:C * H * Wr * nb].reshape(C, H * Wr * nb)
            _block_input_grad(gflat, offs, packed, init, yb, C, H, Wr, Wp, kh, kw, O, Ho, nb)
            _from_block(yb, n, nb, Wr, out)
            n += nb
    if n == N:
        return
    span = _round_up(H * W, LANES)
    row = _round_up(span + (kh - 1) * W + kw - 1, LANES)
    offs = np.empty(kh * O * kw, dtype=np.int64)
    for i in range(kh):
        for o in range(O):
            for j in range(kw):
                offs[(i * O + o) * kw + j] = o * row + i * W + j
    gs = np.zeros((O, row), dtype=np.float32)   # only the valid columns are ever written: the gaps stay zero
    ys = np.empty((C, span), dtype=np.float32)
    src = gs.reshape(-1)
    lead = (kh - 1) * W + kw - 1
    for m in range(n, N):
        for o in range(O):
            for i in range(Ho):
                gs[o, lead + i * W:lead + i * W + Wo] = g[m, o, i, :]
        _tiles(src, offs, packed, init, ys, C, span)
        for c in range(C):
            out[m, c] = ys[c, :H * W].reshape(H, W)


# ------------------------------------------------------------------ weight gradient
@numba.njit(nogil=True, cache=True)
def _dots(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, rows, taps):
    """:func:`_dots_fma` for ``rows`` (4, 2 or 1) output channels and ``taps`` (5, 3 or 1) taps."""
    if rows == 4:
        if taps == 5:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 4, 5)
        elif taps == 3:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 4, 3)
        else:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 4, 1)
    elif rows == 2:
        if taps == 5:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 2, 5)
        elif taps == 3:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 2, 3)
        else:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 2, 1)
    else:
        if taps == 5:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 1, 5)
        elif taps == 3:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 1, 3)
        else:
            _dots_fma(g, gbase, gstride, grow, src, sbase, srow, jstride, part, pbase, pstride, nr, nu, 1, 1)


@numba.njit(nogil=True, cache=True)
def _weight_pass(g, gstride, grow, src, cstride, srow, jstride, part, O, C, kh, kw, nr, nu, W):
    """Every (output-channel group, input channel, kernel row, run of taps) of one image or block into part.

    Wide rows (one image): g is (O, span), src (C, row), a tap j is j floats on, nr = 1.  Blocks of nb
    images: g is (O, Ho, Wr, nb), src (C, H, W, nb), a tap j is j pixels (j * nb floats) on, nr = Ho rows
    of nu vectors.
    """
    pstride = C * kh * kw * LANES
    o = 0
    while o < O:
        rows = DOT_ROWS if o + DOT_ROWS <= O else (2 if o + 2 <= O and DOT_ROWS >= 2 else 1)
        for c in range(C):
            for i in range(kh):
                j = 0
                while j < kw:
                    taps = 5 if j + 5 <= kw else (3 if j + 3 <= kw else 1)
                    _dots(g, o * gstride, gstride, grow, src, c * cstride + i * W * jstride + j * jstride, srow,
                          jstride, part, (((o * C + c) * kh + i) * kw + j) * LANES, pstride, nr, nu, rows, taps)
                    j += taps
        o += rows


@numba.njit(nogil=True, cache=True)
def conv2d_weight_grad_into(x, g, out):
    """out[o, c] = sum_n g[n, o] (*) x[n, c] (a correlation; x already padded), overwriting out.

    Partial sums stay vectors (part[o, c, i, j, lane]) over all images, added across lanes at the end.
    Blocks of 16, 8 or 4 images go batch-innermost (lane = pixel x image), the 0-3 images left over one at
    a time in wide rows (lane = position modulo LANES).
    """
    N, C, H, W = x.shape
    O, Ho, Wo = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = out.shape[2], out.shape[3]
    part = np.zeros((O, C, kh, kw, LANES), dtype=np.float32)
    pflat = part.reshape(-1)
    n = 0
    first = _block_size(N)   # the largest block: the buffers' size
    if first > 0:
        xflat = np.empty(C * H * W * first + 2 * LANES, dtype=np.float32)  # + what a row's last vector reads
        xflat[C * H * W * first:] = 0.0  # each block writes all of its view: only what lies past it is zeroed
        gflat = np.empty(O * Ho * (Wo * first + LANES), dtype=np.float32)   # bounds Wr * nb for every block
        gflat[O * Ho * _round_up(Wo, LANES // first) * first:] = 0.0
        while _block_size(N - n) > 0:
            nb = _block_size(N - n)
            Wr = _round_up(Wo, LANES // nb)
            _to_block(x, n, _view(xflat, C, H, W, nb), 0, 0)
            gb = _view(gflat, O, Ho, Wr, nb)
            _zero_border(gb, 0, 0, Ho, Wo)   # columns Wo..Wr stay zero: their products drop out
            _to_block(g, n, gb, 0, 0)
            _weight_pass(gflat, Ho * Wr * nb, Wr * nb, xflat, H * W * nb, W * nb, nb, pflat, O, C, kh, kw,
                         Ho, Wr * nb // LANES, W)
            n += nb
    if n < N:
        span = _round_up((Ho - 1) * W + Wo, LANES)
        row = _round_up(span + (kh - 1) * W + kw - 1, LANES)
        gs = np.zeros((O, span), dtype=np.float32)  # the gaps and the tail stay zero
        xs = np.zeros((C, row), dtype=np.float32)
        for m in range(n, N):
            for o in range(O):
                for i in range(Ho):
                    gs[o, i * W:i * W + Wo] = g[m, o, i, :]
            for c in range(C):
                xs[c, :H * W] = x[m, c].reshape(-1)
            _weight_pass(gs.reshape(-1), span, 0, xs.reshape(-1), row, 0, 1, pflat, O, C, kh, kw, 1,
                         span // LANES, W)
    for o in range(O):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    s = part[o, c, i, j, 0]
                    for lane in range(1, LANES):
                        s += part[o, c, i, j, lane]
                    out[o, c, i, j] = s


# ------------------------------------------------------------------ allocating forms (cpu_conv's signatures)
def _check(*arrays: np.ndarray) -> None:
    for a in arrays:
        if a.dtype != np.float32:
            raise TypeError(f"cpu_simd kernels take float32 arrays, got {a.dtype}")


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, padding: int) -> np.ndarray:
    """Stride-1 convolution of (N, C, H, W) with (O, C, kh, kw), plus bias: (N, O, Ho, Wo)."""
    x = zero_padded(x, padding)
    weight = np.ascontiguousarray(weight)
    _check(x, weight)
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    out = np.empty((N, O, H - kh + 1, W - kw + 1), dtype=np.float32)
    conv2d_forward_into(x, weight, np.zeros(O, np.float32) if bias is None else np.ascontiguousarray(bias), out)
    return out


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, kernel_size: tuple[int, int], padding: int) -> np.ndarray:
    """Gradient of :func:`conv2d_forward` with respect to the weight, given the output gradient ``g``."""
    x = zero_padded(x, padding)
    g = np.ascontiguousarray(g)
    _check(x, g)
    out = np.empty((g.shape[1], x.shape[1]) + tuple(kernel_size), dtype=np.float32)
    conv2d_weight_grad_into(x, g, out)
    return out


def conv2d_input_grad(g: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], padding: int) -> np.ndarray:
    """Gradient of :func:`conv2d_forward` with respect to its (unpadded) input of shape ``x_shape``."""
    N, C, H, W = x_shape
    p = padding
    g, weight = np.ascontiguousarray(g), np.ascontiguousarray(weight)
    _check(g, weight)
    gx = np.empty((N, C, H + 2 * p, W + 2 * p), dtype=np.float32)
    conv2d_input_grad_into(g, weight, gx)
    return np.ascontiguousarray(gx[:, :, p:p + H, p:p + W]) if p else gx
