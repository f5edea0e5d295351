"""Convolution and pooling: a readable version to learn from, a fast version to train with.

Two implementations of the same cross-correlation live side by side (as in CS231n):

* :func:`conv2d_reference` and :func:`conv2d_reference_backward` loop over the output
  positions. Each output pixel is the dot product of one input patch with the kernel, and
  the code says exactly that. Notebooks show this one.
* :func:`conv2d_forward` / :func:`conv2d_backward` (the default behind :class:`Conv2d`) turn
  the whole convolution into one matrix product. Every patch becomes a row of a matrix
  ("im2col"), so ``out = patches @ kernels.T`` runs in BLAS at full speed. The backward pass
  is two more matrix products plus a scatter that loops over the kh·kw kernel offsets only,
  never over images or pixels.

Pooling (:func:`max_pool2d`, :func:`avg_pool2d` and the layers) loops over the kh·kw
offsets inside a window, each step an operation on whole arrays.

The tests hold the two convolutions equal, check every backward against finite differences,
and ``benchmarks/lenet_speed.py`` measures the speed (LeNet-5 training: the fast path is
about 5x the reference and, on one thread, 0.6-0.9x PyTorch's throughput).

Output size (PyTorch's rule, floor division)::

    H_out = (H + 2·padding - kernel) // stride + 1
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import init
from ._validation import check_array, check_positive
from .module import Module, Parameter

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "MaxPool2d",
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "conv2d_forward",
    "conv2d_reference",
    "conv2d_reference_backward",
    "conv_output_size",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
]


# ---- small helpers ------------------------------------------------------------------------
def _pair(value, name: str, owner: str, *, allow_zero: bool = False) -> tuple[int, int]:
    """3 -> (3, 3); (3, 5) -> (3, 5); anything else is refused with a message."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{owner}: argument '{name}' must be an int or a pair of ints, got {value!r}")
    for v in value:
        check_positive(v, name, owner, integer=True, allow_zero=allow_zero)
    return int(value[0]), int(value[1])


def _out_size(n: int, k: int, s: int, p: int, axis: str, owner: str, shape=None) -> int:
    if k > n + 2 * p:
        got = "" if shape is None else f", for an input of shape {tuple(shape)}"
        raise ValueError(
            f"{owner}: the kernel ({k}) is larger than the padded input along {axis} "
            f"({n} + 2·{p} = {n + 2 * p}){got}; expected kernel <= input + 2·padding"
        )
    return (n + 2 * p - k) // s + 1


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Length of a convolution's (or pooling's) output along one axis.

    ``(n + 2·padding - kernel) // stride + 1``, PyTorch's floor rule: a last window that
    would stick out past the (padded) input is dropped.

    Parameters
    ----------
    n : int, input length (> 0)
    kernel : int, window length (> 0)
    stride : int, step between windows (> 0)
    padding : int, zeros added on each side (>= 0)

    Returns
    -------
    int

    Raises
    ------
    ValueError
        when an argument is not a positive integer (padding: non-negative) or when the kernel
        is larger than the padded input, so that not even one window fits.

    Examples
    --------
    >>> conv_output_size(28, 5, padding=2), conv_output_size(14, 5), conv_output_size(6, 2, 2, 1)
    (28, 10, 4)
    """
    owner = "conv_output_size"
    check_positive(n, "n", owner, integer=True)
    check_positive(kernel, "kernel", owner, integer=True)
    check_positive(stride, "stride", owner, integer=True)
    check_positive(padding, "padding", owner, integer=True, allow_zero=True)
    return _out_size(n, kernel, stride, padding, "this axis", owner)


def _check_input(x, owner: str, channels: int | None = None) -> np.ndarray:
    x = check_array(x, "x", owner, ndim=4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{owner}: argument 'x' expected shape (N, {channels}, H, W) ({channels} input "
            f"channels), got {tuple(x.shape)} with {x.shape[1]} channels"
        )
    return x


def _check_conv_args(x, weight, bias, stride, padding, owner):
    weight = check_array(weight, "weight", owner, ndim=4)
    x = _check_input(x, owner, weight.shape[1])
    if bias is not None:
        bias = check_array(bias, "bias", owner, shape=(weight.shape[0],))
    stride = _pair(stride, "stride", owner)
    padding = _pair(padding, "padding", owner, allow_zero=True)
    _out_size(x.shape[2], weight.shape[2], stride[0], padding[0], "the height", owner, x.shape)
    _out_size(x.shape[3], weight.shape[3], stride[1], padding[1], "the width", owner, x.shape)
    return x, weight, bias, stride, padding


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Zero-pad the last two axes of an NCHW array."""
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


# ---- the readable reference -----------------------------------------------------------------
def conv2d_reference(x, weight, bias=None, stride=1, padding=0) -> np.ndarray:
    r"""2-D cross-correlation written as loops over the output positions (slow, readable).

    .. math:: y[n, o, i, j] = b[o] + \sum_{c, p, q} W[o, c, p, q]\,
              x_{pad}[n, c, i\,s_h + p, j\,s_w + q]

    Parameters
    ----------
    x : array (N, C_in, H, W)
    weight : array (C_out, C_in, kh, kw)
    bias : array (C_out,) or None
    stride, padding : int or pair of ints

    Returns
    -------
    ndarray (N, C_out, H_out, W_out), in the dtype numpy gives ``x`` times ``weight``.

    Shape
    -----
    - x: ``(N, C_in, H, W)``, weight: ``(C_out, C_in, kh, kw)``
    - output: ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2·padding - kh) // stride + 1``
    """
    x, weight, bias, (sh, sw), (ph, pw) = _check_conv_args(
        x, weight, bias, stride, padding, "conv2d_reference"
    )
    N, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    xp = _pad(x, ph, pw)
    out = np.zeros((N, C_out, H_out, W_out), dtype=np.result_type(x, weight))
    for i in range(H_out):
        for j in range(W_out):
            patch = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]  # (N, C_in, kh, kw)
            # every kernel against this patch: sum over channels and the kh x kw window
            out[:, :, i, j] = np.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        out += bias.reshape(1, C_out, 1, 1)
    return out


def conv2d_reference_backward(grad_out, x, weight, stride=1, padding=0):
    """Gradients of :func:`conv2d_reference`, again one output position at a time.

    Output pixel (i, j) was ``patch · W``; so it sends ``grad_out[:, :, i, j]`` back to the
    kernel (times the patch) and to the patch (times the kernel). Patches overlap, so the
    input gradient *adds up* the contributions of every window a pixel belongs to.

    Parameters
    ----------
    grad_out : array (N, C_out, H_out, W_out), dL/dy
    x, weight, stride, padding : the arguments of the forward call

    Returns
    -------
    (grad_x, grad_weight, grad_bias) : arrays of shapes (N, C_in, H, W),
        (C_out, C_in, kh, kw) and (C_out,)

    Shape
    -----
    - grad_out: ``(N, C_out, H_out, W_out)``; returns gradients shaped like x, weight, bias.
    """
    owner = "conv2d_reference_backward"
    x, weight, _, (sh, sw), (ph, pw) = _check_conv_args(x, weight, None, stride, padding, owner)
    N, C_in, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    grad_out = check_array(grad_out, "grad_out", owner, shape=(N, C_out, H_out, W_out))
    dtype = np.result_type(x, weight, grad_out)
    xp = _pad(x, ph, pw)
    grad_xp = np.zeros(xp.shape, dtype=dtype)
    grad_weight = np.zeros(weight.shape, dtype=dtype)
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            g = grad_out[:, :, i, j]  # (N, C_out)
            grad_weight += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            grad_xp[:, :, rows, cols] += np.tensordot(g, weight, axes=([1], [0]))
    grad_x = grad_xp[:, :, ph : ph + H, pw : pw + W]
    grad_bias = grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias


# ---- im2col: every patch becomes one row of a matrix ---------------------------------------
def im2col(x, kernel_size, stride=1, padding=0) -> np.ndarray:
    """Unfold every kh x kw patch of ``x`` into one row of a matrix.

    Row ``n·H_out·W_out + i·W_out + j`` holds the patch under output pixel (i, j) of image
    n, flattened in the order (channel, row, column), the same order as
    ``weight.reshape(C_out, -1)``. Hence a convolution is one matrix product::

        y = im2col(x, (kh, kw), stride, padding) @ weight.reshape(C_out, -1).T

    (then reshape to (N, H_out, W_out, C_out) and move the channels to axis 1).

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel_size, stride, padding : int or pair of ints

    Returns
    -------
    ndarray (N·H_out·W_out, C·kh·kw), same dtype as x.

    Shape
    -----
    - x: ``(N, C, H, W)``; output: ``(N·H_out·W_out, C·kh·kw)``
    """
    owner = "im2col"
    x = _check_input(x, owner)
    (kh, kw) = _pair(kernel_size, "kernel_size", owner)
    (sh, sw) = _pair(stride, "stride", owner)
    (ph, pw) = _pair(padding, "padding", owner, allow_zero=True)
    N, C, H, W = x.shape
    H_out = _out_size(H, kh, sh, ph, "the height", owner, x.shape)
    W_out = _out_size(W, kw, sw, pw, "the width", owner, x.shape)
    # A strided *view* (no copy yet): windows[n, c, i, j] is the patch at (i, j).
    windows = sliding_window_view(_pad(x, ph, pw), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * kh * kw)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every row back onto the patch it came from.

    Pixels that belong to several patches receive the sum of their rows' entries, which is
    exactly what the backward pass of a convolution needs. Loops over the kh·kw kernel
    offsets only.

    Parameters
    ----------
    cols : array (N·H_out·W_out, C·kh·kw)
    x_shape : tuple (N, C, H, W), the shape of the image batch
    kernel_size, stride, padding : as given to :func:`im2col`

    Returns
    -------
    ndarray (N, C, H, W)

    Shape
    -----
    - cols: ``(N·H_out·W_out, C·kh·kw)``; output: ``x_shape``
    """
    owner = "col2im"
    if not (isinstance(x_shape, (tuple, list)) and len(x_shape) == 4):
        raise ValueError(f"{owner}: argument 'x_shape' must be a 4-tuple (N, C, H, W), got {x_shape!r}")
    N, C, H, W = (check_positive(int(s), "x_shape", owner, integer=True) for s in x_shape)
    (kh, kw) = _pair(kernel_size, "kernel_size", owner)
    (sh, sw) = _pair(stride, "stride", owner)
    (ph, pw) = _pair(padding, "padding", owner, allow_zero=True)
    H_out = _out_size(H, kh, sh, ph, "the height", owner)
    W_out = _out_size(W, kw, sw, pw, "the width", owner)
    cols = check_array(cols, "cols", owner, shape=(N * H_out * W_out, C * kh * kw))
    patches = cols.reshape(N, H_out, W_out, C, kh, kw)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            xp[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw] += (
                patches[:, :, :, :, p, q].transpose(0, 3, 1, 2)
            )
    return xp[:, :, ph : ph + H, pw : pw + W]


# ---- the fast path ------------------------------------------------------------------------------
# Internally the fast path keeps images "channel-major", memory ordered (C, N, H, W), and
# works with the *transposed* patch matrix cols_t (C·kh·kw, N·H_out·W_out):
# - unfolding copies whole image rows (long contiguous runs), which is several times faster
#   than gathering short patch rows;
# - y_t = weight.reshape(C_out, -1) @ cols_t is (C_out, N·H_out·W_out), i.e. already the
#   channel-major memory of the output, handed back as an NCHW-shaped view (no copy);
# - the next layer (ReLU, pooling: elementwise on whole views) keeps that memory order,
#   so the next convolution unfolds it again without any transpose in between.
def _unfold_t(xc: np.ndarray, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """(C, N, Hp, Wp) -> cols_t (C·kh·kw, N·H_out·W_out), rows ordered (channel, row, col)."""
    C, N = xc.shape[:2]
    windows = sliding_window_view(xc, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # C,N,Ho,Wo,kh,kw
    H_out, W_out = windows.shape[2:4]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(C * kh * kw, N * H_out * W_out)


# OpenBLAS multiplies these long, thin matrices (a few rows, ~50,000 columns) about twice as
# fast when they come in slices of a few thousand columns (measured on one core: LeNet's C1
# forward 0.61 -> 0.32 ms). Slicing costs nothing: the slices are views.
_COLUMNS_PER_PRODUCT = 4096


def _column_slices(m: int):
    return [slice(i, i + _COLUMNS_PER_PRODUCT) for i in range(0, m, _COLUMNS_PER_PRODUCT)]


def _matmul_by_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P, K) @ b (K, M), computed slice by slice of b's columns."""
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for s in _column_slices(b.shape[1]):
        np.matmul(a, b[:, s], out=out[:, s])
    return out


def _matmul_transposed_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (K, M) @ b.T for b (P, M), i.e. a sum over the M columns, slice by slice: (K, P)."""
    out = np.zeros((a.shape[0], b.shape[0]), dtype=np.result_type(a, b))
    for s in _column_slices(a.shape[1]):
        out += a[:, s] @ b[:, s].T
    return out


def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """Fast convolution that also returns what :func:`conv2d_backward` needs.

    One unfold (im2col, transposed) and one BLAS matrix product (taken in column slices);
    no Python loop over the batch or the output pixels. Computes in ``x``'s dtype (float32
    stays float32).

    Parameters
    ----------
    x : array (N, C_in, H, W)
    weight : array (C_out, C_in, kh, kw)
    bias : array (C_out,) or None
    stride, padding : int or pair of ints

    Returns
    -------
    out : ndarray (N, C_out, H_out, W_out), an NCHW-shaped view of channel-major memory
    cache : tuple, opaque; pass it to :func:`conv2d_backward`

    Shape
    -----
    - x: ``(N, C_in, H, W)``; output: ``(N, C_out, H_out, W_out)`` with
      ``H_out = (H + 2·padding - kh) // stride + 1`` (same for W)
    """
    x, weight, bias, stride, padding = _check_conv_args(
        x, weight, bias, stride, padding, "conv2d_forward"
    )
    return _conv2d_forward(x, weight, bias, stride, padding)


def _conv2d_forward(x, weight, bias, stride, padding, keep_patches=True):
    N, C_in, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    xc = x.transpose(1, 0, 2, 3)  # a view; contiguous when x came from another conv layer
    if ph or pw:
        xp = np.zeros((C_in, N, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
        xp[:, :, ph : ph + H, pw : pw + W] = xc
    else:
        xp = xc
    cols_t = _unfold_t(xp, kh, kw, sh, sw)
    w_mat = weight.astype(x.dtype, copy=False).reshape(C_out, -1)
    y_t = _matmul_by_columns(w_mat, cols_t)  # (C_out, N·H_out·W_out): kernels · patches
    if bias is not None:
        y_t += bias.astype(x.dtype, copy=False)[:, None]
    out = y_t.reshape(C_out, N, H_out, W_out).transpose(1, 0, 2, 3)
    # The patch matrix is C_in·kh·kw times the size of the input (25x for LeNet's C1). Training
    # keeps it for backward; evaluation drops it (backward, if asked, unfolds xp again), so
    # scoring 1,024 images at a time does not hold hundreds of MB.
    cache = (xp, cols_t if keep_patches else None, w_mat, (kh, kw), stride, padding, x.shape)
    return out, cache


def conv2d_backward(grad_out, cache):
    """Gradients of :func:`conv2d_forward` by matrix products.

    With ``y_t = W_mat @ cols_t`` (cols_t: the unfolded patches, one per column)::

        dL/dW_mat  = grad_y_t @ cols_t.T       dL/db = grad_y_t summed over columns
        dL/dcols_t = W_mat.T @ grad_y_t        dL/dx = col2im(dL/dcols_t)

    and col2im adds each patch's gradient back where the patch was taken, looping over the
    kh·kw kernel offsets only.

    Parameters
    ----------
    grad_out : array (N, C_out, H_out, W_out)
    cache : the second value returned by :func:`conv2d_forward`

    Returns
    -------
    (grad_x, grad_weight, grad_bias) : arrays (N, C_in, H, W), (C_out, C_in, kh, kw), (C_out,)

    Shape
    -----
    - grad_out: ``(N, C_out, H_out, W_out)``; gradients shaped like x, weight and bias.
    """
    xp, cols_t, w_mat, (kh, kw), (sh, sw), (ph, pw), x_shape = cache
    N, C_in, H, W = x_shape
    if cols_t is None:
        cols_t = _unfold_t(xp, kh, kw, sh, sw)
    C_out = w_mat.shape[0]
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    grad_out = check_array(grad_out, "grad_out", "conv2d_backward", shape=(N, C_out, H_out, W_out))
    g_t = grad_out.astype(cols_t.dtype, copy=False).transpose(1, 0, 2, 3).reshape(C_out, -1)
    grad_weight = _matmul_transposed_sum(cols_t, g_t).T.reshape(C_out, C_in, kh, kw)
    grad_bias = g_t.sum(axis=1)
    if sh == sw == 1:
        grad_xp = _col2im_stride1(g_t, w_mat, xp.shape, kh, kw)
    else:
        grad_cols = _matmul_by_columns(w_mat.T, g_t).reshape(C_in, kh, kw, N, H_out, W_out)
        grad_xp = np.zeros(xp.shape, dtype=grad_cols.dtype)  # (C_in, N, Hp, Wp)
        for p in range(kh):
            for q in range(kw):
                grad_xp[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw] += (
                    grad_cols[:, p, q]
                )
    grad_x = grad_xp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)
    return grad_x, grad_weight, grad_bias


def _col2im_stride1(g_t, w_mat, xp_shape, kh, kw):
    """dL/dx_pad for stride 1, with every kernel offset's share added as one contiguous run.

    Lay every image out flat, Hp·Wp numbers per image: input pixel (i + p, j + q) sits
    p·Wp + q places after pixel (i, j). So if the output gradient is zero-padded to the input's
    Hp x Wp grid, the share of kernel offset (p, q) is the whole flat array shifted by
    p·Wp + q: one long add instead of a strided add over N·C·H_out short rows (3x faster).
    Padded positions carry zeros, so nothing leaks into a neighbouring image.
    """
    C_out = g_t.shape[0]
    C_in, N, Hp, Wp = xp_shape
    H_out, W_out = Hp - kh + 1, Wp - kw + 1
    g_pad = np.zeros((C_out, N, Hp, Wp), dtype=g_t.dtype)
    g_pad[:, :, :H_out, :W_out] = g_t.reshape(C_out, N, H_out, W_out)
    L = N * Hp * Wp
    grad_cols = _matmul_by_columns(w_mat.T, g_pad.reshape(C_out, L)).reshape(C_in, kh, kw, L)
    flat = np.zeros((C_in, L + (kh - 1) * Wp + kw - 1), dtype=grad_cols.dtype)
    for p in range(kh):
        for q in range(kw):
            flat[:, p * Wp + q : p * Wp + q + L] += grad_cols[:, p, q]
    return flat[:, :L].reshape(C_in, N, Hp, Wp)


def conv2d(x, weight, bias=None, stride=1, padding=0) -> np.ndarray:
    """Fast 2-D cross-correlation (im2col + one matrix product); equals :func:`conv2d_reference`.

    Parameters
    ----------
    x : array (N, C_in, H, W)
    weight : array (C_out, C_in, kh, kw)
    bias : array (C_out,) or None
    stride, padding : int or pair of ints

    Returns
    -------
    ndarray (N, C_out, H_out, W_out), in x's dtype

    Shape
    -----
    - x: ``(N, C_in, H, W)``; output: ``(N, C_out, H_out, W_out)``,
      ``H_out = (H + 2·padding - kh) // stride + 1``
    """
    x, weight, bias, stride, padding = _check_conv_args(x, weight, bias, stride, padding, "conv2d")
    return _conv2d_forward(x, weight, bias, stride, padding)[0]


# ---- pooling ---------------------------------------------------------------------------------
def _pool_args(x, kernel_size, stride, owner):
    x = _check_input(x, owner)
    kernel = _pair(kernel_size, "kernel_size", owner)
    stride = kernel if stride is None else _pair(stride, "stride", owner)
    H_out = _out_size(x.shape[2], kernel[0], stride[0], 0, "the height", owner, x.shape)
    W_out = _out_size(x.shape[3], kernel[1], stride[1], 0, "the width", owner, x.shape)
    return x, kernel, stride, (H_out, W_out)


def _offset_view(a, p, q, stride, out_hw):
    """The input pixels that kernel offset (p, q) visits, one per output pixel: (N, C, Ho, Wo)."""
    (sh, sw), (H_out, W_out) = stride, out_hw
    return a[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw]


def _tiles(x, kernel, out_hw):
    """Disjoint windows (stride == kernel) as one contiguous stack, offset by offset.

    Returns (perm, stack): ``stack[p·kw + q]`` holds, for every window, its pixel at offset
    (p, q), shape (A, B, H_out, W_out), where (A, B) are x's batch and channel axes taken in
    memory order (``perm`` swaps them back). One strided copy; everything after it runs on
    contiguous memory, which is several times faster than working on strided views.
    """
    perm = (1, 0, 2, 3) if x.strides[1] > x.strides[0] else (0, 1, 2, 3)
    xt = x.transpose(perm)
    (kh, kw), (H_out, W_out) = kernel, out_hw
    A, B = xt.shape[:2]
    blocks = xt[:, :, : H_out * kh, : W_out * kw].reshape(A, B, H_out, kh, W_out, kw)
    stack = np.ascontiguousarray(blocks.transpose(3, 5, 0, 1, 2, 4))
    return perm, stack.reshape(kh * kw, A, B, H_out, W_out)


def _untile(stack, perm, x_shape, dtype, kernel):
    """The inverse scatter of :func:`_tiles`: (kh·kw, A, B, Ho, Wo) -> zeros-filled x shape."""
    (kh, kw), (_, A, B, H_out, W_out) = kernel, stack.shape
    xt_shape = tuple(x_shape[i] for i in perm)
    grad_xt = np.zeros(xt_shape, dtype=dtype)
    blocks = grad_xt[:, :, : H_out * kh, : W_out * kw].reshape(A, B, H_out, kh, W_out, kw)
    blocks.transpose(3, 5, 0, 1, 2, 4)[...] = stack.reshape(kh, kw, A, B, H_out, W_out)
    return grad_xt.transpose(perm)


def _max_pool(x, kernel, stride, out_hw):
    views = [_offset_view(x, p, q, stride, out_hw) for p in range(kernel[0]) for q in range(kernel[1])]
    if len(views) == 1:
        return views[0].copy(order="K")
    out = np.maximum(views[0], views[1])
    for v in views[2:]:
        np.maximum(out, v, out=out)
    return out


def max_pool2d(x, kernel_size, stride=None) -> np.ndarray:
    """Largest value in every kh x kw window (no padding, PyTorch's floor rule).

    Loops over the kh·kw offsets inside a window, taking an elementwise maximum of whole
    shifted views, never over pixels.

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel_size : int or pair
    stride : int, pair or None (default: kernel_size, i.e. windows that do not overlap)

    Returns
    -------
    ndarray (N, C, H_out, W_out), x's dtype

    Shape
    -----
    - x: ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``, ``H_out = (H - kh) // stride + 1``
    """
    x, kernel, stride, out_hw = _pool_args(x, kernel_size, stride, "max_pool2d")
    return _max_pool(x, kernel, stride, out_hw)


def _max_pool_backward(grad_out, x, out, kernel, stride, out_hw):
    grad_x = np.zeros_like(x)  # keeps x's memory layout
    overlap = stride[0] < kernel[0] or stride[1] < kernel[1]
    hit = np.empty(out.shape, dtype=bool)
    claimed = None
    offsets = [(p, q) for p in range(kernel[0]) for q in range(kernel[1])]
    for k, (p, q) in enumerate(offsets):
        # The gradient goes to the first maximum in the window (row-major), as in PyTorch,
        # so ties (e.g. several zeros after a ReLU) are not counted twice.
        np.equal(_offset_view(x, p, q, stride, out_hw), out, out=hit)
        if claimed is None:
            claimed = hit.copy()
        else:
            np.greater(hit, claimed, out=hit)  # hit and not yet claimed
            if k < len(offsets) - 1:
                claimed |= hit
        target = _offset_view(grad_x, p, q, stride, out_hw)
        if overlap:
            target += grad_out * hit
        else:  # disjoint windows: write straight into place, no temporary
            np.multiply(grad_out, hit, out=target)
    return grad_x


def max_pool2d_backward(grad_out, x, kernel_size, stride=None) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: each window's gradient goes to its (first) maximum.

    Parameters
    ----------
    grad_out : array (N, C, H_out, W_out)
    x : the forward input (N, C, H, W)
    kernel_size, stride : as in the forward call

    Returns
    -------
    ndarray (N, C, H, W)

    Shape
    -----
    - grad_out: ``(N, C, H_out, W_out)``; output shaped like x.
    """
    owner = "max_pool2d_backward"
    x, kernel, stride, out_hw = _pool_args(x, kernel_size, stride, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=x.shape[:2] + out_hw)
    return _max_pool_backward(grad_out, x, _max_pool(x, kernel, stride, out_hw), kernel, stride, out_hw)


def _avg_pool(x, kernel, stride, out_hw):
    out = None
    for p in range(kernel[0]):
        for q in range(kernel[1]):
            v = _offset_view(x, p, q, stride, out_hw)
            out = v.copy(order="K") if out is None else np.add(out, v, out=out)
    out *= np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=x.dtype)
    return out


def _avg_pool_backward(grad_out, x_like, kernel, stride, out_hw):
    grad_x = np.zeros_like(x_like)
    share = grad_out * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=grad_out.dtype)
    for p in range(kernel[0]):
        for q in range(kernel[1]):
            _offset_view(grad_x, p, q, stride, out_hw)[...] += share
    return grad_x


def avg_pool2d(x, kernel_size, stride=None) -> np.ndarray:
    """Mean of every kh x kw window (no padding, PyTorch's floor rule).

    Parameters
    ----------
    x : array (N, C, H, W)
    kernel_size : int or pair
    stride : int, pair or None (default: kernel_size)

    Returns
    -------
    ndarray (N, C, H_out, W_out), x's dtype

    Shape
    -----
    - x: ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``, ``H_out = (H - kh) // stride + 1``
    """
    x, kernel, stride, out_hw = _pool_args(x, kernel_size, stride, "avg_pool2d")
    return _avg_pool(x, kernel, stride, out_hw)


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: every pixel of a window gets grad / (kh·kw).

    Parameters
    ----------
    grad_out : array (N, C, H_out, W_out)
    x : the forward input (N, C, H, W) (only its shape and dtype are used)
    kernel_size, stride : as in the forward call

    Returns
    -------
    ndarray (N, C, H, W)

    Shape
    -----
    - grad_out: ``(N, C, H_out, W_out)``; output shaped like x.
    """
    owner = "avg_pool2d_backward"
    x, kernel, stride, out_hw = _pool_args(x, kernel_size, stride, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=x.shape[:2] + out_hw)
    return _avg_pool_backward(grad_out, x, kernel, stride, out_hw)


# ---- the layers --------------------------------------------------------------------------------
def _check_grad(layer: Module, grad_y):
    owner = f"{type(layer).__name__}.backward"
    if getattr(layer, "_out_shape", None) is None:
        raise RuntimeError(f"{owner}: call forward() before backward()")
    return check_array(grad_y, "grad_y", owner, shape=layer._out_shape)


class Conv2d(Module):
    r"""2-D convolution (cross-correlation, as in every deep-learning library).

    .. math:: y[n, o] = b[o] + \sum_{c} W[o, c] \star x[n, c]

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (kh, kw)
        Rectangular kernels and 1x1 kernels are fine.
    stride : int or pair, default 1
    padding : int or pair, default 0
        Zeros added on every side.
    bias : bool, default True
    connections : boolean array (out_channels, in_channels) or None
        Which input channels each output channel sees (LeNet-5's C3 table). Absent
        connections have zero weight, stay zero (the mask is applied in every forward) and
        never receive gradient. None: every output sees every input.
    rng : Generator, int or None
        Seed for :meth:`reset_parameters`.
    implementation : {"fast", "reference"}, default "fast"
        "reference" runs the readable loops (:func:`conv2d_reference`); same numbers, slower.

    Shape
    -----
    - Input: ``(N, C_in, H_in, W_in)``
    - Output: ``(N, C_out, H_out, W_out)`` where
      ``H_out = (H_in + 2·padding[0] - kernel_size[0]) // stride[0] + 1`` and
      ``W_out = (W_in + 2·padding[1] - kernel_size[1]) // stride[1] + 1``

    Attributes
    ----------
    weight : Parameter ``(out_channels, in_channels, kh, kw)``, initialised
        U(-1/√fan_in, 1/√fan_in) (PyTorch's default, kaiming-uniform with a=√5), where
        fan_in = in_channels·kh·kw (with a connection table: the connected inputs of that
        output channel times kh·kw)
    bias : Parameter ``(out_channels,)`` or None, from the same range
    mask : boolean array ``(out_channels, in_channels, 1, 1)`` or None (from ``connections``)

    Examples
    --------
    >>> conv = Conv2d(1, 6, 5, padding=2, rng=0)
    >>> conv(np.zeros((2, 1, 28, 28))).shape
    (2, 6, 28, 28)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, connections=None, *, rng=None, implementation: str = "fast"):
        owner = "Conv2d"
        check_positive(in_channels, "in_channels", owner, integer=True)
        check_positive(out_channels, "out_channels", owner, integer=True)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", owner)
        self.stride = _pair(stride, "stride", owner)
        self.padding = _pair(padding, "padding", owner, allow_zero=True)
        if implementation not in ("fast", "reference"):
            raise ValueError(
                f"{owner}: argument 'implementation' must be 'fast' or 'reference', got {implementation!r}"
            )
        self.implementation = implementation
        self.mask = None
        if connections is not None:
            table = np.asarray(connections)
            if table.shape != (out_channels, in_channels):
                raise ValueError(
                    f"{owner}: argument 'connections' expected shape ({out_channels}, {in_channels}) "
                    f"(out_channels, in_channels), got {tuple(table.shape)}"
                )
            if table.dtype != bool and not np.isin(table, (0, 1)).all():
                raise ValueError(f"{owner}: argument 'connections' must hold booleans (or 0/1)")
            table = table.astype(bool)
            empty = np.flatnonzero(~table.any(axis=1))
            if empty.size:
                raise ValueError(
                    f"{owner}: argument 'connections' gives output channel {int(empty[0])} no input "
                    "channel; every row needs at least one True"
                )
            self.mask = table[:, :, None, None]
        self.weight = Parameter(np.zeros((out_channels, in_channels, *self.kernel_size)), "weight")
        self.bias = Parameter(np.zeros(out_channels), "bias") if bias else None
        self._out_shape = None
        self.reset_parameters(rng)

    @property
    def connections(self):
        """The (out_channels, in_channels) boolean table, or None when fully connected."""
        return None if self.mask is None else self.mask[:, :, 0, 0]

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default: weight and bias from U(-1/√fan_in, 1/√fan_in)."""
        rng = init.as_rng(rng)
        kh, kw = self.kernel_size
        if self.mask is None:
            fan_in = np.full(self.out_channels, self.in_channels * kh * kw)
        else:
            fan_in = self.mask[:, :, 0, 0].sum(axis=1) * kh * kw
        bound = 1.0 / np.sqrt(fan_in)  # one bound per output channel
        dtype = self.weight.dtype
        W = rng.uniform(-1.0, 1.0, self.weight.shape) * bound[:, None, None, None]
        if self.mask is not None:
            W *= self.mask
        self.weight.value = W.astype(dtype)
        self.weight.grad = np.zeros_like(self.weight.value)
        if self.bias is not None:
            self.bias.value = (rng.uniform(-1.0, 1.0, self.out_channels) * bound).astype(dtype)
            self.bias.grad = np.zeros_like(self.bias.value)

    def _effective_weight(self, dtype):
        W = self.weight.value.astype(dtype, copy=False)
        return W if self.mask is None else W * self.mask

    def forward(self, x):
        self._cache = self._out_shape = None  # free the last batch's patches first
        x = _check_input(x, "Conv2d.forward", self.in_channels)
        kh, kw = self.kernel_size
        (sh, sw), (ph, pw) = self.stride, self.padding
        H_out = _out_size(x.shape[2], kh, sh, ph, "the height", "Conv2d.forward", x.shape)
        W_out = _out_size(x.shape[3], kw, sw, pw, "the width", "Conv2d.forward", x.shape)
        W = self._effective_weight(x.dtype)
        b = None if self.bias is None else self.bias.value.astype(x.dtype, copy=False)
        self._out_shape = (x.shape[0], self.out_channels, H_out, W_out)
        if self.implementation == "reference":
            self._cache = ("reference", (x, W))
            return conv2d_reference(x, W, b, self.stride, self.padding)
        out, cache = _conv2d_forward(x, W, b, self.stride, self.padding, keep_patches=self.training)
        self._cache = ("fast", cache)
        return out

    def backward(self, grad_y):
        grad_y = _check_grad(self, grad_y)
        kind, cache = self._cache  # the implementation that ran the forward pass
        if kind == "reference":
            x, W = cache
            grad_x, grad_w, grad_b = conv2d_reference_backward(grad_y, x, W, self.stride, self.padding)
        else:
            grad_x, grad_w, grad_b = conv2d_backward(grad_y, cache)
        if self.mask is not None:
            grad_w = grad_w * self.mask  # absent connections never learn
        self.weight.grad += grad_w
        if self.bias is not None:
            self.bias.grad += grad_b
        return grad_x

    def num_trainable(self) -> int:
        """Parameters that can change: absent connections of the table are not counted."""
        kh, kw = self.kernel_size
        n_weights = self.weight.size if self.mask is None else int(self.mask.sum()) * kh * kw
        return n_weights + (0 if self.bias is None else self.bias.size)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        if self.mask is not None:
            s += f", connections={int(self.mask.sum())}/{self.mask.size}"
        if self.implementation != "fast":
            s += f", implementation={self.implementation!r}"
        return s


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None):
        owner = type(self).__name__
        self._kernel = _pair(kernel_size, "kernel_size", owner)
        self._stride = self._kernel if stride is None else _pair(stride, "stride", owner)
        # kept as given, so the repr reads like PyTorch's: MaxPool2d(kernel_size=2, stride=2)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self._out_shape = None

    def _prepare(self, x):
        owner = f"{type(self).__name__}.forward"
        x = _check_input(x, owner)
        out_hw = (
            _out_size(x.shape[2], self._kernel[0], self._stride[0], 0, "the height", owner, x.shape),
            _out_size(x.shape[3], self._kernel[1], self._stride[1], 0, "the width", owner, x.shape),
        )
        self._out_shape = x.shape[:2] + out_hw
        return x, out_hw

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    """Max over each kh x kw window; the gradient flows to the window's (first) maximum.

    Parameters
    ----------
    kernel_size : int or pair
    stride : int, pair or None (default: kernel_size, non-overlapping windows)

    Shape
    -----
    - Input: ``(N, C, H_in, W_in)``
    - Output: ``(N, C, H_out, W_out)``, ``H_out = (H_in - kernel_size) // stride + 1``

    Examples
    --------
    >>> MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    def forward(self, x):
        x, out_hw = self._prepare(x)
        self._tiles = None
        if self._stride == self._kernel:  # disjoint windows (the usual case): contiguous work
            perm, stack = _tiles(x, self._kernel, out_hw)
            out = stack.max(axis=0).transpose(perm)
            self._tiles = (perm, stack)
        else:
            out = _max_pool(x, self._kernel, self._stride, out_hw)
        self._x, self._y = x, out
        return out

    def backward(self, grad_y):
        grad_y = _check_grad(self, grad_y)
        if self._tiles is None:
            return _max_pool_backward(grad_y, self._x, self._y, self._kernel, self._stride,
                                      self._out_shape[2:])
        perm, stack = self._tiles
        g, out = grad_y.transpose(perm), self._y.transpose(perm)
        grads = np.empty(stack.shape, dtype=np.result_type(stack, g))
        hit = np.empty(out.shape, dtype=bool)
        claimed = np.zeros(out.shape, dtype=bool)
        for k in range(len(stack)):  # first maximum of each window wins, as in PyTorch
            np.equal(stack[k], out, out=hit)
            np.greater(hit, claimed, out=hit)
            claimed |= hit
            np.multiply(g, hit, out=grads[k])
        return _untile(grads, perm, self._x.shape, grads.dtype, self._kernel)


class AvgPool2d(_Pool2d):
    """Mean over each kh x kw window; each input pixel gets its windows' gradient / (kh·kw).

    Parameters
    ----------
    kernel_size : int or pair
    stride : int, pair or None (default: kernel_size, non-overlapping windows)

    Shape
    -----
    - Input: ``(N, C, H_in, W_in)``
    - Output: ``(N, C, H_out, W_out)``, ``H_out = (H_in - kernel_size) // stride + 1``

    Examples
    --------
    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """

    def forward(self, x):
        x, out_hw = self._prepare(x)
        self._x = x
        return _avg_pool(x, self._kernel, self._stride, out_hw)

    def backward(self, grad_y):
        grad_y = _check_grad(self, grad_y)
        if self._stride != self._kernel:
            return _avg_pool_backward(grad_y, self._x, self._kernel, self._stride,
                                      self._out_shape[2:])
        # disjoint windows: every pixel of a window gets the same share, one broadcast write
        perm = (1, 0, 2, 3) if self._x.strides[1] > self._x.strides[0] else (0, 1, 2, 3)
        kh, kw = self._kernel
        share = grad_y.transpose(perm) * np.asarray(1.0 / (kh * kw), dtype=grad_y.dtype)
        dtype = np.result_type(self._x, share)
        stack = np.broadcast_to(share, (kh * kw, *share.shape))
        return _untile(stack, perm, self._x.shape, dtype, self._kernel)
