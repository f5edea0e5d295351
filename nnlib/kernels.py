"""Tuned kernels behind Conv2d, MaxPool2d and AvgPool2d: the fast path, and why it is fast.

The readable definitions are in :mod:`nnlib.conv_reference` (loops) and the documented
im2col path in :mod:`nnlib.conv`; the tests hold every function here equal to them (float64
and float32, generated shapes) and gradcheck every backward in float64.

Measurements that justify each trick. 2-core AMD EPYC (Zen 2, AVX2), numpy 2.4.6 +
OpenBLAS 0.3.31, float32, LeNet-5, batch 64; CPU microseconds (``time.thread_time``,
best of 5-7) per half batch of 32 images unless said; the machine was shared (load 4-9),
so compare the numbers within a line, not across lines.

1. Two halves of every batch, one per thread, and numpy's BLAS held to one thread while they
   compute: see :mod:`nnlib.parallel` (the split, the worker, the products, and a whole
   convolutional Sequential run half a batch per thread). Pools, exact per window, split the
   outer axis of memory instead when a layer runs alone (see 12).
2. Products: one per image, all handed to numpy as one batched matmul (the loop runs in C,
   :func:`nnlib.parallel.matmul_images`). OpenBLAS runs these short products faster than one
   long one: C1's forward, 32 images, 129 us against 320; C3's 210 against 286; C3's input
   gradient 227 against 259. Where BLAS cannot be held to one thread, every product is cut
   below OpenBLAS's threading threshold (m·n·k < 2**18) instead, so results never depend on
   OPENBLAS_NUM_THREADS (tested both ways).
3. Channel-major memory (C, N, H, W): the product ``W @ cols`` is already the next layer's
   memory, pooling keeps that order, and no layer transposes its input.
4. Stride 1 on a "row grid" (:class:`_RowGrid`): one patch-matrix column per (output row,
   padded input column), so unfolding is one contiguous run of H_out·Wp numbers per image
   and kernel offset. Unfold: C1 265 -> 99, C3 425 -> 123; the product grows with the
   wasted columns (C1 322 -> 366, C3 328 -> 485: 4 of 14 columns wasted); C3's unfold +
   product + dW + input gradient: 2,932 (compact im2col layout) -> 2,125.
5. Stride-1 col2im as ONE strided sum: each image's product is written straight into its grid
   columns, and the kh·kw shifted copies of the grid are read as a (C, n·L, kh, kw) view of
   the product and summed over the last two axes (C3, 32 images, round 3: the sum 100 us,
   in one call; the 24 contiguous shifted adds it replaces 141, in 26 calls, each a point
   where the two threads hand the GIL to each other).
6. Preallocated buffers, reused from batch to batch (:class:`Workspace`): patch matrix, the
   zero-bordered padded input (its border is written once), the grid of the output
   gradient. Outputs handed to the caller are always fresh arrays (tested), so a stored
   feature map is never overwritten by the next batch.
7. Max pooling over disjoint windows: one strided copy into a contiguous stack (kh, kw,
   ...), then the maximum over the kw columns and over the kh rows, keeping the index of the
   first maximum of each step, as small whole numbers in the data's dtype (S2, whole
   batch, forward 2,010 with a boolean-mask assignment -> 497 with whole-array arithmetic).
   Backward then routes the gradient without searching again: g·idx and g - g·idx, no
   comparisons, no boolean masks to convert. S2 in a training step, CPU ms forward /
   backward: 0.38 / 1.33 before (comparisons in backward), 0.73 / 0.81 now, in halves.
8. No input gradient where none is needed: ``Conv2d.input_grad = False`` skips col2im
   (PyTorch skips it for inputs that do not require grad): C1's input gradient costs 686
   per half, about 10% of a training step.
9. The patches are unfolded 16 images at a time into one reused buffer, which stays in the
   core's cache until the product reads it (predict scores 1,024 images per call: C1's patch
   matrix would be 100 MB). Only a stride other than 1 keeps the patches for backward; the
   row grid takes its weight gradient from the padded input (item 16).

Round 2 (AMD EPYC, OpenBLAS SkylakeX kernels, load 1-5; CPU us, 1 thread, best of 7):
10. dW per image as (cols_i @ g_iᵀ)ᵀ, a shape OpenBLAS runs faster: C3 dW 547 -> 326 (32 images).
11. ReLU -> max-pool fused (MaxPool2d.forward_fused): pool first, ReLU and its mask on the 4x
    smaller map (tested equal, ties and NaNs included): training step 7.83 -> 7.40 ms.
12. Pools split the outer memory axis (channels) into contiguous halves: S4 fwd 212 -> 157, bwd 341 -> 170.
13. Max-pool writes the first two views' max and index in place, one NaN check: S2 fwd 330 -> 278.
14. Linear multiplies with :func:`matmul` (BLAS-thread-proof, tested): (64,400)@(400,120) 66 -> 77 us.

Round 3 (AMD EPYC with AVX-512, OpenBLAS SkylakeX kernels, load 0.3-1.4) is items 1, 2 and 5
as they read now: BLAS held to one thread, one batched product per image, col2im as one sum.
15. Backward 16 images at a time, so the input gradient's product (150 x 16·196 numbers for
    C3, 1.9 MB) is still in the core's cache when its sum reads it: C3's backward in a
    training step, CPU ms per batch of 64, 2.77 (32 at a time) -> 2.43 (8) -> 2.22 (4); 16
    and 8 tie within noise over 12 paired rounds, and 16 means fewer calls, each a point
    where the two threads hand the GIL to each other. Dropping the kept patches and
    unfolding again in backward, block by block, cost 7.5% with 2 threads (paired rounds).

Round 4 (same machine, load 0.6-1.0; paired rounds in one process, benchmarks/paired_ab.py):
16. The row grid keeps no patch matrix: its weight gradient comes from kw shifted copies of the
    padded input (C·kw rows of n·L numbers; the patch matrix has C·kh·kw rows of n·R), read
    at kh row offsets as an (n, kh) stack of (C·kw, R) views (:meth:`_RowGrid.weight_grad`).
    Per half, hot: the copy 20 us against 81-93 for the unfold, and the products C1 136 /
    C3 269 against 120 / 322. In a training step the 2.9 + 2.7 MB of patches per half are
    no longer written, left to fall out of the cache and read back: LeNet-5 training, median
    of paired rounds, 1 thread 7,691 -> 8,867 img/s (+15%), 2 threads 10,741 -> 11,216; the
    forward then unfolds 16 images at a time (item 9): 16 beat 32 by 4-5% and 8 by 1-3%.
17. With no patches to read, backward's input gradient runs 8 images at a time instead of 16
    (``_GRAD_BLOCK``; its product, 150 x 8·196 numbers for C3, stays in a 2 MB L2 beside the
    rest): paired rounds, 1 thread +5.6%, 2 threads +1% (a tie; 4 images: -9%).
18. Strided views are made with the ndarray constructor (:func:`_strided`), not
    ``as_strided``'s Python wrapper: 0.5 us against 3.4, about 20 views a step.

Everything stays in the input's dtype (float32 end to end, tested).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .parallel import (
    _by_image,
    get_num_threads,
    halves,
    matmul,
    matmul_chunked,
    matmul_images,
    matmul_nt_images,
    per_image_fits,
    run_halves,
    set_num_threads,
)

__all__ = [
    "Workspace",
    "conv2d_backward",
    "conv2d_forward",
    "get_num_threads",
    "halves",
    "matmul",
    "pool2d_backward",
    "pool2d_forward",
    "set_num_threads",
]

# ---- 1, 2. the halves, the threads and the products live in nnlib.parallel -----------------
# (re-exported here: kernels.set_num_threads and kernels.matmul are where notebooks met them)


# ---- 6. buffers reused from batch to batch -------------------------------------------------
class Workspace:
    """Scratch arrays of one layer, by name; re-made only when shape or dtype changes.

    ``zeros=True`` arrays are zero-filled when made; callers then write only their interior,
    so a zero border stays zero. Each layer owns its Workspace (no global state): two models
    can train at once in two threads.
    """

    def __init__(self):
        self._arrays = {}

    def get(self, name, shape, dtype, zeros=False) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = (np.zeros if zeros else np.empty)(shape, dtype=dtype)
            self._arrays[name] = a
        return a

    def clear(self) -> None:
        self._arrays.clear()


def _strided(base, offset, shape, strides):
    """A read-only view of the contiguous array ``base`` from element ``offset`` on, with
    byte strides: ``as_strided`` without its Python wrapper (0.5 us against 3.4, and the
    view must fit inside ``base``, or numpy refuses it)."""
    view = np.ndarray(shape, base.dtype, base, offset * base.itemsize, strides)
    view.flags.writeable = False
    return view


# ---- 3-5, 8, 9. convolution: channel-major, row grid, col2im by shifted adds --------------
_BLOCK = 16  # images at a time: evaluation's unfolding, backward's products and sums
_GRAD_BLOCK = 8  # images at a time in backward when the weight gradient comes from the row grid


class _Compact:
    """Any stride: one patch-matrix column per output pixel (the im2col path, transposed).

    Columns per image: H_out·W_out. Unfolding copies runs of W_out numbers.
    """

    # whether backward takes the weight gradient from the padded input (weight_grad), so
    # that training need not keep the patches
    grads_from_input = False

    def __init__(self, x_shape, kernel, stride, padding, dtype, workspace):
        N, C, H, W = x_shape
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        self.C, self.H, self.W, self.kernel, self.stride, self.padding = C, H, W, kernel, stride, padding
        self.Hp, self.Wp = H + 2 * ph, W + 2 * pw
        self.H_out, self.W_out = (self.Hp - kh) // sh + 1, (self.Wp - kw) // sw + 1
        self.R = self.H_out * self.W_out
        self._allocate(N, dtype, workspace)

    def _allocate(self, N, dtype, workspace):
        self.xp = workspace.get("x_padded", (self.C, N, self.Hp, self.Wp), dtype, zeros=True)

    def load(self, xc, s):
        """Copy images s of xc (C, N, H, W) into the zero-bordered padded buffer."""
        (ph, pw) = self.padding
        self.xp[:, s, ph : ph + self.H, pw : pw + self.W] = xc[:, s]

    def unfold(self, lo, hi, cols):
        kh, kw = self.kernel
        windows = sliding_window_view(self.xp[:, lo:hi], (kh, kw), axis=(2, 3))
        windows = windows[:, :, :: self.stride[0], :: self.stride[1]]  # C, n, H_out, W_out, kh, kw
        np.copyto(cols.reshape(self.C, kh, kw, hi - lo, self.H_out, self.W_out),
                  windows.transpose(0, 4, 5, 1, 2, 3))

    def output(self, y):
        return y.reshape(y.shape[0], y.shape[1] // self.R, self.H_out, self.W_out)

    def grad_columns(self, g_t, s, out):
        """dL/dy of images s, (C_out, n, H_out, W_out), into out (C_out, n·R)."""
        out.reshape(g_t.shape[0], -1, self.H_out, self.W_out)[...] = g_t[:, s]

    def input_grad(self, w_mat, g, lo, hi, grad_xt, workspace, name):
        """dL/dx of images lo:hi into grad_xt: col2im(w_matᵀ @ g), g (C_out, n·R)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        Ho, Wo = self.H_out, self.W_out
        grad_cols = workspace.get(name + "grad_cols", (w_mat.shape[1], g.shape[1]), g.dtype)
        matmul_images(w_mat.T, g, grad_cols, hi - lo)
        shares = grad_cols.reshape(self.C, kh, kw, hi - lo, Ho, Wo)
        grad_xp = np.zeros((self.C, hi - lo, self.Hp, self.Wp), dtype=grad_cols.dtype)
        for p in range(kh):
            for q in range(kw):
                grad_xp[:, :, p : p + sh * (Ho - 1) + 1 : sh, q : q + sw * (Wo - 1) + 1 : sw] += shares[:, p, q]
        grad_xt[:, lo:hi] = grad_xp[:, :, ph : ph + self.H, pw : pw + self.W]


class _RowGrid(_Compact):
    """Stride 1: one column per (output row, padded input column), i.e. H_out·Wp per image.

    Lay each padded image out flat, Hp·Wp numbers: input pixel (i + p, j + q) sits p·Wp + q
    places after pixel (i, j). So the patch-matrix row of kernel offset (p, q) is, image by
    image, one contiguous run of H_out·Wp numbers starting p·Wp + q places in: unfolding and
    col2im become long contiguous copies and adds instead of runs of W_out numbers. The
    Wp - W_out extra columns per output row (4 of 32 for LeNet's C1, 4 of 14 for C3) hold
    products with wrapped-around pixels: the output view skips them, and backward gives
    them a zero gradient, so they add nothing.
    """

    grads_from_input = True

    def _allocate(self, N, dtype, workspace):
        self.R = self.H_out * self.Wp
        self.L = self.Hp * self.Wp  # numbers per padded image
        # the last image's last patches read up to kw - 1 numbers past its end: a zero tail
        self.flat = workspace.get("x_flat", (self.C, N * self.L + self.kernel[1] - 1), dtype, zeros=True)
        self.xp = self.flat[:, : N * self.L].reshape(self.C, N, self.Hp, self.Wp)

    def _runs(self, flat, lo, n, kh, kw):
        """(C, kh, kw, n, R) view: offset (p, q) of images lo:lo+n, one run per image."""
        e = flat.itemsize
        return _strided(flat, lo * self.L, (self.C, kh, kw, n, self.R),
                        (flat.strides[0], self.Wp * e, e, self.L * e, e))

    def unfold(self, lo, hi, cols):
        kh, kw = self.kernel
        np.copyto(cols.reshape(self.C, kh, kw, hi - lo, self.R), self._runs(self.flat, lo, hi - lo, kh, kw))

    def weight_grad(self, g, lo, hi, workspace, name):
        """dL/dW (C_out, C·kh·kw) of images lo:hi, g their (C_out, n·R) output gradient, from
        the padded input the forward left in the buffer: no patch matrix is kept or rebuilt.

        Only the kw column shifts are copied out, kw rows per channel (5 C·L numbers per
        image, where the patch matrix has 25 C·R): row (c, q) holds the grid moved q places
        on. Kernel row p is then the same rows read p·Wp places further, so an (n, kh)
        stack of (C·kw, R) views, each times that image's gᵀ (R, C_out), gives every
        weight's share, summed over the images in order.
        """
        (kh, kw), n, C, L, R = self.kernel, hi - lo, self.C, self.L, self.R
        e = self.flat.itemsize
        shifted = workspace.get(name + "kw_rows", (C, kw, n * L), self.flat.dtype)
        np.copyto(shifted, _strided(self.flat, lo * L, (C, kw, n * L), (self.flat.strides[0], e, e)))
        rows = _strided(shifted, 0, (n, kh, C * kw, R), (L * e, self.Wp * e, shifted.strides[1], e))
        g_t = g.reshape(g.shape[0], n, R).transpose(1, 2, 0)[:, None]  # (n, 1, R, C_out)
        per_image = np.matmul(rows, g_t)  # (n, kh, C·kw, C_out)
        grad = np.add.reduce(per_image, axis=0).reshape(kh, C, kw, -1)  # images in order
        return np.ascontiguousarray(grad.transpose(3, 1, 0, 2)).reshape(g.shape[0], -1)

    def output(self, y):
        grid = y.reshape(y.shape[0], y.shape[1] // self.R, self.H_out, self.Wp)
        return grid[:, :, :, : self.W_out]

    def grad_columns(self, g_t, s, out):
        grid = out.reshape(g_t.shape[0], -1, self.H_out, self.Wp)
        grid[:, :, :, : self.W_out] = g_t[:, s]
        # the wrapped-around columns (W_out and on) stay zero: the buffer was made zero-filled

    def input_grad(self, w_mat, g, lo, hi, grad_xt, workspace, name):
        # col2im over the whole padded grid as ONE strided sum: input pixel t of the flat
        # grid gets, from every kernel offset (p, q), the share that offset's row holds at
        # t - p·Wp - q. Those rows, read with strides, form a (C, n·L, kh, kw) view of the
        # product, summed over its last two axes (numpy runs the 25 shifted adds in C:
        # 100 us against 141 for 24 calls, and one call, not 26, holding the GIL)
        (kh, kw), (ph, pw), n = self.kernel, self.padding, hi - lo
        L, R, e = self.L, self.R, g.itemsize
        front = (kh - 1) * self.Wp + kw - 1  # zeros before the first image: reads at t - front
        # image by image, the product lands in the first R of its L grid columns; the rest
        # (and the front) were zeroed when the buffer was made and are never written
        grad_cols = workspace.get(name + "grad_cols", (w_mat.shape[1], front + n * L), g.dtype, zeros=True)
        into = grad_cols[:, front:].reshape(-1, n, L)[:, :, :R].transpose(1, 0, 2)  # (n, K, R)
        if per_image_fits(w_mat.shape[1], w_mat.shape[0], R):
            np.matmul(w_mat.T, _by_image(g, n), out=into)
        else:
            for k in range(n):
                matmul_chunked(w_mat.T, g[:, k * R : (k + 1) * R], into[k])
        row = grad_cols.strides[0]
        shares = _strided(grad_cols, front, (self.C, n * L, kh, kw),
                          (kh * kw * row, e, kw * row - self.Wp * e, row - e))
        grid = np.add.reduce(shares, axis=(2, 3)).reshape(self.C, n, self.Hp, self.Wp)
        grad_xt[:, lo:hi] = grid[:, :, ph : ph + self.H, pw : pw + self.W]


def _geometry(x_shape, kernel, stride, padding, dtype, workspace):
    kind = _RowGrid if stride == (1, 1) else _Compact
    return kind(x_shape, kernel, stride, padding, dtype, workspace)


def conv2d_forward(x, w_mat, bias, kernel, stride, padding, workspace, keep_patches=True):
    """Cross-correlation of x (N, C, H, W) with w_mat (C_out, C·kh·kw): (out, cache).

    ``out`` is an (N, C_out, H_out, W_out) view of fresh channel-major memory. ``cache`` is
    what :func:`conv2d_backward` needs.
    """
    N = x.shape[0]
    geo = _geometry(x.shape, kernel, stride, padding, x.dtype, workspace)
    K, R = w_mat.shape[1], geo.R
    xc = x.transpose(1, 0, 2, 3)  # a view; contiguous when x came from another conv layer
    # the row grid computes its weight gradient from the padded input (_RowGrid.weight_grad):
    # it keeps no patches, and unfolds a few images at a time into a buffer that stays in cache
    keep_patches = keep_patches and not geo.grads_from_input
    cols = workspace.get("cols", (K, N * R), x.dtype) if keep_patches else None
    y = np.empty((w_mat.shape[0], N * R), dtype=x.dtype)

    def half(s):
        geo.load(xc, s)
        block = max(1, s.stop - s.start) if keep_patches else _BLOCK
        for lo in range(s.start, s.stop, block):
            hi = min(lo + block, s.stop)
            if keep_patches:
                c = cols[:, lo * R : hi * R]
            else:
                c = workspace.get(f"block{s.start > 0}", (K, block * R), x.dtype)[:, : (hi - lo) * R]
            geo.unfold(lo, hi, c)
            out = y[:, lo * R : hi * R]
            matmul_images(w_mat, c, out, hi - lo)
            if bias is not None:
                out += bias[:, None]

    run_halves(half, N)
    out = geo.output(y).transpose(1, 0, 2, 3)
    return out, (geo, cols, w_mat, x.shape, workspace)


def conv2d_backward(grad_out, cache, input_grad=True):
    """(grad_x or None, grad_w_mat (C_out, C·kh·kw), grad_bias (C_out,)) of conv2d_forward.

    ``grad_w_mat = g @ colsᵀ`` and ``grad_bias = Σ g`` per half, added half 0 + half 1;
    ``grad_x = col2im(w_matᵀ @ g)`` per half, into fresh channel-major memory.
    """
    geo, cols, w_mat, x_shape, workspace = cache
    N, C, H, W = x_shape
    C_out, K = w_mat.shape
    if N == 0:  # an empty batch: nothing flows anywhere
        grad_x = np.zeros(x_shape, dtype=w_mat.dtype) if input_grad else None
        return grad_x, np.zeros_like(w_mat), np.zeros(C_out, dtype=w_mat.dtype)
    R = geo.R
    g_t = grad_out.astype(w_mat.dtype, copy=False).transpose(1, 0, 2, 3)
    # zero-filled when made: the row grid's wrapped-around columns are never written, so
    # they stay zero (they get no gradient)
    g = workspace.get("grad_y", (C_out, N * R), w_mat.dtype, zeros=True)
    grad_xt = np.empty((C, N, H, W), dtype=w_mat.dtype) if input_grad else None

    def half(s):
        columns = slice(s.start * R, s.stop * R)
        geo.grad_columns(g_t, s, g[:, columns])
        grad_w = None
        by_rows = geo.grads_from_input and per_image_fits(K // geo.kernel[0], R, C_out)
        if by_rows:
            grad_w = geo.weight_grad(g[:, columns], s.start, s.stop, workspace, f"half{s.start > 0}")
        # a few images at a time, so that the input gradient's product is still in the
        # core's cache when its sum reads it (where no patches were kept and the row grid
        # cannot serve, unfold them again from the padded input the forward left behind)
        step = _GRAD_BLOCK if by_rows else _BLOCK
        for lo in range(s.start, s.stop, step):
            hi = min(lo + step, s.stop)
            block = g[:, lo * R : hi * R]
            if not by_rows:
                if cols is None:
                    c = workspace.get(f"block{s.start > 0}", (K, _BLOCK * R), w_mat.dtype)[:, : (hi - lo) * R]
                    geo.unfold(lo, hi, c)
                else:
                    c = cols[:, lo * R : hi * R]
                part = matmul_nt_images(block, c, hi - lo)
                grad_w = part if grad_w is None else grad_w + part  # block after block, in order
            if input_grad:
                geo.input_grad(w_mat, block, lo, hi, grad_xt, workspace, f"half{s.start > 0}-{hi - lo}")
        grad_b = g[:, columns].sum(axis=1)
        return grad_w, grad_b

    parts = run_halves(half, N)
    grad_w, grad_b = parts[0]
    for gw, gb in parts[1:]:  # fixed order: half 0 + half 1
        grad_w = grad_w + gw
        grad_b = grad_b + gb
    grad_x = None if grad_xt is None else grad_xt.transpose(1, 0, 2, 3)
    return grad_x, grad_w, grad_b


# ---- 7. pooling over disjoint windows (stride == kernel) -----------------------------------
def _layout(x):
    """x's axes in memory order: (1, 0, 2, 3) for channel-major memory, else (0, 1, 2, 3)."""
    return (1, 0, 2, 3) if x.strides[1] > x.strides[0] else (0, 1, 2, 3)


def _reduce(views, out, idx):
    """out = max of views, idx = which view held the first maximum (NaNs: :func:`_first_nans`
    fixes idx afterwards); or, idx None, their sum."""
    if idx is None:
        np.add(views[0], views[1], out=out) if len(views) > 1 else np.copyto(out, views[0])
        for v in views[2:]:
            out += v
        return
    if len(views) == 1:
        np.copyto(out, views[0])
        idx[...] = 0
        return
    # strictly greater: a tie keeps the earlier maximum (PyTorch's first maximum)
    np.greater(views[1], views[0], out=idx)
    np.maximum(views[0], views[1], out=out)
    for k, v in enumerate(views[2:], 2):
        # idx += better·(k - idx), whole-array arithmetic (boolean setitem is 40x slower)
        better = np.greater(v, out)
        idx += better * (k - idx)
        np.maximum(out, v, out=out)


def _first_nans(views, out, idx):
    """As PyTorch: a NaN is the maximum, and the window's first NaN gets the gradient."""
    nan = np.isnan(out)
    if nan.any():
        for k in reversed(range(len(views))):
            idx[nan & np.isnan(views[k])] = k


def _route(g, idx, targets):
    """targets[k] = g where idx == k, else 0: each window's gradient to its maximum."""
    if len(targets) == 2:  # g·idx and g - g·idx: exact, and no boolean masks to convert
        np.multiply(g, idx, out=targets[1])
        np.subtract(g, targets[1], out=targets[0])
        return
    for k, t in enumerate(targets):
        np.multiply(g, idx == k, out=t)


def _stack_view(a, kernel, out_hw):
    """The disjoint windows of a (A, B, H, W) as a (kh, kw, A, B, H_out, W_out) view."""
    (kh, kw), (H_out, W_out) = kernel, out_hw
    blocks = a[:, :, : H_out * kh, : W_out * kw].reshape(a.shape[0], a.shape[1], H_out, kh, W_out, kw)
    return blocks.transpose(3, 5, 0, 1, 2, 4)


def pool2d_forward(x, kernel, mode):
    """Max ("max") or mean ("avg") of every disjoint kh x kw window of x: (out, cache).

    One strided copy gathers the windows into a contiguous stack (kh, kw, ...); then two
    steps of contiguous whole-array operations: the kw columns of each window row, then the
    kh rows. For max, the index of the first maximum of each step is kept, so backward
    routes the gradient without searching again.
    """
    (kh, kw), (H, W) = kernel, x.shape[2:]
    out_hw = (H // kh, W // kw)
    perm = _layout(x)
    xt = x.transpose(perm)
    A, B = xt.shape[:2]
    stack = np.empty((kh, kw, A, B) + out_hw, dtype=x.dtype)
    rows = np.empty((kh, A, B) + out_hw, dtype=x.dtype)  # after the first step
    out = np.empty((A, B) + out_hw, dtype=x.dtype)
    col_idx = row_idx = None
    if mode == "max":
        # indices as small whole numbers in x's dtype: g·idx then needs no conversion
        col_idx, row_idx = np.empty(rows.shape, x.dtype), np.empty(out.shape, x.dtype)

    def half(s):
        i = (s,)  # the outer axis of memory (channels, when channel-major): contiguous halves
        every = (slice(None),) + i
        st = stack[(slice(None),) + every]
        np.copyto(st, _stack_view(xt[i], kernel, out_hw))
        for p in range(kh):
            _reduce(list(st[p]), rows[(p,) + i], None if col_idx is None else col_idx[(p,) + i])
        _reduce(list(rows[every]), out[i], None if row_idx is None else row_idx[i])
        # np.maximum carries a NaN to the window's maximum: one check of the output, and
        # the fix-up of the indices only where a NaN is (rare)
        # (one pass: a NaN anywhere makes the sum NaN; inf - inf does too, a harmless false alarm)
        if mode == "max" and np.isnan(np.add.reduce(out[i], axis=None)):
            for p in range(kh):
                _first_nans(list(st[p]), rows[(p,) + i], col_idx[(p,) + i])
            _first_nans(list(rows[every]), out[i], row_idx[i])
        if mode == "avg":
            out[i] *= np.asarray(1.0 / (kh * kw), dtype=x.dtype)

    run_halves(half, A)
    return out.transpose(perm), (perm, col_idx, row_idx, x.shape, x.dtype, kernel, mode)


def pool2d_backward(grad_out, cache):
    """Gradient of :func:`pool2d_forward`: fresh memory in the forward input's layout."""
    perm, col_idx, row_idx, x_shape, dtype, (kh, kw), mode = cache
    g = np.ascontiguousarray(grad_out.transpose(perm))  # the layout of the stored indices
    dtype = np.result_type(dtype, g)
    out_hw = g.shape[2:]
    # the windows write every pixel they cover; only rows or columns past the last whole
    # window need zeros
    whole = x_shape[2] == out_hw[0] * kh and x_shape[3] == out_hw[1] * kw
    grad_xt = (np.empty if whole else np.zeros)(tuple(x_shape[i] for i in perm), dtype=dtype)
    grad_rows = np.empty((kh,) + g.shape, dtype=dtype) if mode == "max" else None

    def half(s):
        i = (s,)
        target = _stack_view(grad_xt[i], (kh, kw), out_hw)  # (kh, kw, a, b, H_out, W_out)
        if mode == "avg":  # every pixel of a window gets the same share
            target[...] = g[i] * np.asarray(1.0 / (kh * kw), dtype=dtype)
            return
        every = (slice(None),) + i
        _route(g[i], row_idx[i], list(grad_rows[every]))
        for p in range(kh):
            _route(grad_rows[(p,) + i], col_idx[(p,) + i], list(target[p]))

    run_halves(half, grad_xt.shape[0])
    return grad_xt.transpose(perm)
