"""Tuned kernels behind Conv2d, MaxPool2d and AvgPool2d: the fast path, and why it is fast.

The readable definitions are in :mod:`nnlib.conv_reference` (loops) and the documented
im2col path in :mod:`nnlib.conv`; the tests hold every function here equal to them (float64
and float32, generated shapes) and gradcheck every backward in float64.

Measurements that justify each trick (2-core AMD EPYC, numpy 2.4 + OpenBLAS 0.3.31, float32,
LeNet-5 batch 64, one core unless said; microseconds; shared machine, so best of 5-7 runs):

1. Two halves of every batch, one per thread. numpy releases the GIL inside its loops and
   BLAS calls, but runs each on one core; PyTorch uses both. The batch is always split
   the same way (images [0, ceil(N/2)) and the rest), whatever the number of threads, and
   the halves' weight gradients are added in that order: 1 or 2 threads give the same bits.
2. Matrix products in column chunks with m·n·k < 2**19. OpenBLAS starts its own threads
   above that size, and on these thin matrices (6 or 16 rows) two BLAS threads are slower
   than one: C1's forward product, whole batch, 545 (1 BLAS thread) vs 1,699 (2 threads);
   and a BLAS product already running on both cores cannot share them with our halves.
   Below the threshold every product runs on the calling thread, so the halves run truly in
   parallel and the BLAS thread count (OPENBLAS_NUM_THREADS) cannot change the result.
3. Channel-major memory (C, N, H, W), as in the im2col path's transposed form: unfolding
   copies whole image rows, the product ``W @ cols`` is already the next layer's memory,
   and pooling keeps that order; no transpose between layers.
4. Preallocated buffers, reused from batch to batch: the patch matrix (25x C1's input),
   the zero-bordered padded input (its border is written once) and the zero-bordered
   output gradient of the stride-1 col2im. Outputs handed back to the caller are always
   fresh arrays, so a stored feature map is never overwritten by the next batch.
5. Stride-1 col2im as kh·kw contiguous shifted adds on the flat, zero-padded grid
   (C3 input gradient: 3x faster than strided adds over short rows).
6. Disjoint pooling windows gathered once into a contiguous stack (kh·kw, ...): the max is
   kh·kw - 1 contiguous ``np.maximum`` calls; the first-maximum masks are computed once in
   the forward pass, so max-pool backward is kh·kw multiplies and one strided write
   (S2 backward, whole batch: 1,372 -> about 250).
7. No input gradient where none is needed: ``Conv2d.input_grad = False`` skips col2im
   (PyTorch skips it for inputs that do not require grad); lenet5 sets it on C1.
8. Evaluation unfolds blocks of 32 images at a time into one reused buffer instead of
   the whole batch (predict scores 1,024 images per call: C1's patch matrix would be 80 MB).

Everything stays in the input's dtype (float32 end to end).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "Buffers",
    "conv2d_backward",
    "conv2d_forward",
    "get_num_threads",
    "halves",
    "pool2d_backward",
    "pool2d_forward",
    "set_num_threads",
]

# ---- 1. two halves, one or two threads ------------------------------------------------------
_state = {"threads": min(2, os.cpu_count() or 1), "executor": None}
_executor_lock = threading.Lock()
_in_worker = threading.local()


def set_num_threads(n: int) -> None:
    """Run the two halves of each batch on ``n`` threads (1 or 2). Results do not change."""
    if n not in (1, 2):
        raise ValueError(f"set_num_threads: argument 'n' must be 1 or 2, got {n!r}")
    _state["threads"] = n


def get_num_threads() -> int:
    """How many threads run the halves (default: 2 on a machine with 2 or more cores)."""
    return _state["threads"]


if os.environ.get("NNLIB_NUM_THREADS"):
    set_num_threads(int(os.environ["NNLIB_NUM_THREADS"]))


def _executor() -> ThreadPoolExecutor:
    # One worker shared by every model: two models training in two threads both hand it
    # their second half; each waits only for its own, so they queue but never deadlock.
    with _executor_lock:
        if _state["executor"] is None:
            _state["executor"] = ThreadPoolExecutor(1, thread_name_prefix="nnlib-half",
                                                    initializer=_mark_worker)
        return _state["executor"]


def _mark_worker():
    _in_worker.active = True


def halves(n: int) -> list[slice]:
    """The split of a batch of n images: [0, ceil(n/2)) and the rest (one slice if n == 1)."""
    mid = (n + 1) // 2
    return [slice(0, mid), slice(mid, n)] if n > 1 else [slice(0, n)]


def run_halves(fn, n: int) -> list:
    """``[fn(half) for half in halves(n)]``, the second half on the worker thread."""
    parts = halves(n)
    if len(parts) == 1 or _state["threads"] == 1 or getattr(_in_worker, "active", False):
        return [fn(s) for s in parts]
    future = _executor().submit(fn, parts[1])
    try:
        first = fn(parts[0])
    finally:
        second = future.result()  # always wait: the worker writes into our buffers
    return [first, second]


# ---- 2. matrix products small enough to stay on the calling thread ---------------------------
_SINGLE_THREAD_MNK = 2**19  # OpenBLAS's default GEMM_MULTITHREAD_THRESHOLD·65536·2


def _chunk(m: int, k: int) -> int:
    return max(64, (_SINGLE_THREAD_MNK - 1) // (m * k))


def matmul_chunked(a, b, out) -> None:
    """``out = a @ b`` for a (M, K) and b (K, L), in chunks of b's columns."""
    step = _chunk(a.shape[0], a.shape[1])
    for i in range(0, b.shape[1], step):
        np.matmul(a, b[:, i : i + step], out=out[:, i : i + step])


def matmul_nt_chunked(a, b) -> np.ndarray:
    """``a @ b.T`` for a (M, L) and b (K, L): a sum over L, chunk by chunk in a fixed order."""
    m, k, n = a.shape[0], b.shape[0], a.shape[1]
    step = _chunk(m, k)
    out = np.zeros((m, k), dtype=np.result_type(a, b))
    for i in range(0, n, step):
        out += a[:, i : i + step] @ b[:, i : i + step].T
    return out


# ---- 4. buffers reused from batch to batch ---------------------------------------------------
class Buffers:
    """Scratch arrays of one layer, by name; re-made only when shape or dtype changes.

    ``zeros=True`` arrays are zero-filled when made; callers then write only their interior,
    so a zero border stays zero. Each layer owns its Buffers (no global state): two models
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


# ---- 3. convolution, channel-major ---------------------------------------------------------
_EVAL_BLOCK = 32  # images unfolded at a time when the patches need not be kept


def _unfold(xp, kh, kw, sh, sw, cols) -> None:
    """Patches of xp (C, n, Hp, Wp) into cols (C·kh·kw, n·H_out·W_out), rows (c, p, q)."""
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    C, n, H_out, W_out = windows.shape[:4]
    np.copyto(cols.reshape(C, kh, kw, n, H_out, W_out), windows.transpose(0, 4, 5, 1, 2, 3))


def conv2d_forward(x, w_mat, bias, kernel, stride, padding, buffers, keep_patches=True):
    """Cross-correlation of x (N, C, H, W) with w_mat (C_out, C·kh·kw): (out, cache).

    ``out`` is an (N, C_out, H_out, W_out) view of fresh channel-major memory. ``cache`` is
    what :func:`conv2d_backward` needs.
    """
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H_out, W_out = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    P, K = H_out * W_out, C * kh * kw
    xc = x.transpose(1, 0, 2, 3)  # a view; contiguous when x came from another conv layer
    xp = xc
    if ph or pw:
        xp = buffers.get("x_padded", (C, N, H + 2 * ph, W + 2 * pw), x.dtype, zeros=True)
    cols = buffers.get("cols", (K, N * P), x.dtype) if keep_patches else None
    y = np.empty((w_mat.shape[0], N * P), dtype=x.dtype)

    def half(s):
        if xp is not xc:
            xp[:, s, ph : ph + H, pw : pw + W] = xc[:, s]
        block = s.stop - s.start if keep_patches else _EVAL_BLOCK
        for lo in range(s.start, s.stop, block):
            hi = min(lo + block, s.stop)
            if keep_patches:
                c = cols[:, lo * P : hi * P]
            else:
                c = buffers.get(f"block{s.start > 0}", (K, block * P), x.dtype)[:, : (hi - lo) * P]
            _unfold(xp[:, lo:hi], kh, kw, sh, sw, c)
            out = y[:, lo * P : hi * P]
            matmul_chunked(w_mat, c, out)
            if bias is not None:
                out += bias[:, None]

    run_halves(half, N)
    out = y.reshape(-1, N, H_out, W_out).transpose(1, 0, 2, 3)
    return out, (xp, cols, w_mat, kernel, stride, padding, x.shape, buffers)


def _col2im_stride1(g, w_mat, grad_xp, kh, kw, buffers, name) -> None:
    """grad_xp (C, n, Hp, Wp) = col2im(w_matᵀ @ g) for stride 1, by flat shifted adds.

    Lay each image out flat, Hp·Wp numbers: pixel (i + p, j + q) sits p·Wp + q places after
    pixel (i, j). With g zero-padded to the Hp x Wp grid, kernel offset (p, q)'s share is
    the whole flat product shifted by p·Wp + q: one long contiguous add per offset.
    """
    C_out, n, H_out, W_out = g.shape
    C, _, Hp, Wp = grad_xp.shape
    L = n * Hp * Wp
    g_grid = buffers.get(name + "g_grid", (C_out, n, Hp, Wp), g.dtype, zeros=True)
    g_grid[:, :, :H_out, :W_out] = g  # the rest of the grid stays zero
    grad_cols = buffers.get(name + "grad_cols", (C * kh * kw, L), g.dtype)
    matmul_chunked(w_mat.T, g_grid.reshape(C_out, L), grad_cols)
    shares = grad_cols.reshape(C, kh, kw, L)
    flat = buffers.get(name + "flat", (C, L + (kh - 1) * Wp + kw - 1), g.dtype)
    flat[:, :L] = shares[:, 0, 0]
    flat[:, L:] = 0
    for p in range(kh):
        for q in range(kw):
            if p or q:
                flat[:, p * Wp + q : p * Wp + q + L] += shares[:, p, q]
    grad_xp[...] = flat[:, :L].reshape(C, n, Hp, Wp)


def _col2im_strided(g, w_mat, grad_xp, kh, kw, sh, sw) -> None:
    """grad_xp (C, n, Hp, Wp) = col2im(w_matᵀ @ g), any stride: strided adds per offset."""
    C_out, n, H_out, W_out = g.shape
    C = grad_xp.shape[0]
    grad_cols = np.empty((C * kh * kw, n * H_out * W_out), dtype=g.dtype)
    matmul_chunked(w_mat.T, g.reshape(C_out, -1), grad_cols)
    grad_cols = grad_cols.reshape(C, kh, kw, n, H_out, W_out)
    grad_xp[...] = 0
    for p in range(kh):
        for q in range(kw):
            grad_xp[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw] += (
                grad_cols[:, p, q]
            )


def conv2d_backward(grad_out, cache, input_grad=True):
    """(grad_x or None, grad_w_mat (C_out, C·kh·kw), grad_bias (C_out,)) of conv2d_forward.

    ``grad_w_mat = g @ colsᵀ`` and ``grad_bias = Σ g`` per half, added half 0 + half 1;
    ``grad_x = col2im(w_matᵀ @ g)`` per half, into fresh channel-major memory.
    """
    xp, cols, w_mat, (kh, kw), (sh, sw), (ph, pw), x_shape, buffers = cache
    N, C, H, W = x_shape
    C_out = w_mat.shape[0]
    g = np.ascontiguousarray(grad_out.astype(w_mat.dtype, copy=False).transpose(1, 0, 2, 3))
    H_out, W_out = g.shape[2:]
    P = H_out * W_out
    g_mat = g.reshape(C_out, N * P)
    grad_xp = np.empty((C, N) + xp.shape[2:], dtype=g.dtype) if input_grad else None

    def half(s):
        columns = slice(s.start * P, s.stop * P)
        if cols is None:  # evaluation mode dropped the patches: unfold this half again
            c = np.empty((C * kh * kw, (s.stop - s.start) * P), dtype=g.dtype)
            _unfold(xp[:, s], kh, kw, sh, sw, c)
        else:
            c = cols[:, columns]
        grad_w = matmul_nt_chunked(g_mat[:, columns], c)
        grad_b = g_mat[:, columns].sum(axis=1)
        if input_grad:
            if sh == sw == 1:
                _col2im_stride1(g[:, s], w_mat, grad_xp[:, s], kh, kw, buffers, f"half{s.start > 0}")
            else:
                _col2im_strided(g[:, s], w_mat, grad_xp[:, s], kh, kw, sh, sw)
        return grad_w, grad_b

    parts = run_halves(half, N)
    grad_w, grad_b = parts[0]
    for gw, gb in parts[1:]:  # fixed order: half 0 + half 1
        grad_w = grad_w + gw
        grad_b = grad_b + gb
    grad_x = None
    if input_grad:
        grad_x = grad_xp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)
    return grad_x, grad_w, grad_b


# ---- 6. pooling over disjoint windows (stride == kernel) -----------------------------------
def _layout(x):
    """x's axes in memory order: (1, 0, 2, 3) for channel-major memory, else (0, 1, 2, 3)."""
    return (1, 0, 2, 3) if x.strides[1] > x.strides[0] else (0, 1, 2, 3)


def _batch_index(perm, s):
    """Index of the batch slice s in an array laid out as ``x.transpose(perm)``."""
    return (slice(None), s) if perm[0] == 1 else (s,)


def _stack_view(a, kernel, out_hw):
    """The disjoint windows of a (A, B, H, W) as a (kh, kw, A, B, H_out, W_out) view."""
    (kh, kw), (H_out, W_out) = kernel, out_hw
    A, B = a.shape[:2]
    blocks = a[:, :, : H_out * kh, : W_out * kw].reshape(A, B, H_out, kh, W_out, kw)
    return blocks.transpose(3, 5, 0, 1, 2, 4)


def pool2d_forward(x, kernel, mode):
    """Max ("max") or mean ("avg") of every disjoint kh x kw window of x: (out, cache)."""
    (kh, kw), (H, W) = kernel, x.shape[2:]
    out_hw = (H // kh, W // kw)
    perm = _layout(x)
    xt = x.transpose(perm)
    A, B = xt.shape[:2]
    stack = np.empty((kh * kw, A, B) + out_hw, dtype=x.dtype)
    out = np.empty((A, B) + out_hw, dtype=x.dtype)
    first = np.empty(stack.shape, dtype=bool) if mode == "max" else None

    def half(s):
        i = _batch_index(perm, s)
        st, o = stack[(slice(None),) + i], out[i]
        np.copyto(st.reshape(kh, kw, *st.shape[1:]), _stack_view(xt[i], kernel, out_hw))
        if mode == "avg":
            np.add.reduce(st, axis=0, out=o)
            o *= np.asarray(1.0 / (kh * kw), dtype=o.dtype)
            return
        o[...] = st[0]
        for k in range(1, len(st)):
            np.maximum(o, st[k], out=o)
        # the gradient goes to the first maximum of each window (row-major), as in PyTorch
        f = first[(slice(None),) + i]
        claimed = np.equal(st[0], o, out=f[0])
        for k in range(1, len(st)):
            np.equal(st[k], o, out=f[k])
            np.greater(f[k], claimed, out=f[k])  # a maximum, and none before it
            if k < len(st) - 1:
                claimed = claimed | f[k]

    run_halves(half, x.shape[0])
    inverse = perm  # (1, 0, 2, 3) and (0, 1, 2, 3) are their own inverses
    return out.transpose(inverse), (perm, first, x.shape, x.dtype, kernel, mode)


def pool2d_backward(grad_out, cache):
    """Gradient of :func:`pool2d_forward`: fresh memory in the forward input's layout."""
    perm, first, x_shape, dtype, (kh, kw), mode = cache
    g = grad_out.transpose(perm)
    dtype = np.result_type(dtype, g)
    grad_xt = np.zeros(tuple(x_shape[i] for i in perm), dtype=dtype)
    share = np.asarray(1.0 / (kh * kw), dtype=dtype)

    def half(s):
        i = _batch_index(perm, s)
        gi = g[i]
        target = _stack_view(grad_xt[i], (kh, kw), gi.shape[2:])
        if mode == "avg":
            target[...] = gi * share
            return
        f = first[(slice(None),) + i]
        for k in range(kh * kw):
            np.multiply(gi, f[k], out=target[k // kw, k % kw])

    run_halves(half, x_shape[0])
    return grad_xt.transpose(perm)
