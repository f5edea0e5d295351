"""Convolution and pooling written as loops over the output pixels: the definitions.

Each function says, in a few lines, what one output pixel is: the dot product of a patch
with the kernel (convolution), the largest value of a window (max pooling), the mean of a
window (average pooling); each backward sends that pixel's gradient back to where it came
from. They are slow and meant to be read (notebooks show them); ``Conv2d``, ``MaxPool2d``
and ``AvgPool2d`` run them with ``implementation="reference"``, and the tests hold the fast
paths (:mod:`nnlib.conv`, :mod:`nnlib.pool`, :mod:`nnlib.kernels`) equal to them.

Shapes: x ``(N, C, H, W)``; output ``(N, C_out, H_out, W_out)`` with
``H_out = (H + 2·padding - kh) // stride + 1`` (PyTorch's floor rule; pools have no padding).
"""

from __future__ import annotations

import numpy as np

from ._geometry import conv_args, pad, pool_args
from ._validation import check_array

__all__ = [
    "avg_pool2d_reference",
    "avg_pool2d_reference_backward",
    "conv2d_reference",
    "conv2d_reference_backward",
    "max_pool2d_reference",
    "max_pool2d_reference_backward",
]


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

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_reference(x, np.ones((1, 1, 2, 2)))[0, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    x, weight, bias, (sh, sw), (ph, pw) = conv_args(x, weight, bias, stride, padding, "conv2d_reference")
    N, _, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    xp = pad(x, ph, pw)
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
    x, weight, _, (sh, sw), (ph, pw) = conv_args(x, weight, None, stride, padding, owner)
    N, C_in, H, W = x.shape
    C_out, _, kh, kw = weight.shape
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    grad_out = check_array(grad_out, "grad_out", owner, shape=(N, C_out, H_out, W_out))
    dtype = np.result_type(x, weight, grad_out)
    xp = pad(x, ph, pw)
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


def _windows(x, kernel, stride, out_hw):
    """Yield (i, j, rows, cols): output pixel (i, j) and the slices of its input window."""
    (kh, kw), (sh, sw), (H_out, W_out) = kernel, stride, out_hw
    for i in range(H_out):
        for j in range(W_out):
            yield i, j, slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)


def max_pool2d_reference(x, kernel_size, stride=None) -> np.ndarray:
    """Max pooling as loops over the output pixels: each is the largest value of its window.

    Arguments, result and shapes as :func:`nnlib.pool.max_pool2d`.

    >>> max_pool2d_reference(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return _pool_loops(x, kernel_size, stride, np.max, "max_pool2d_reference")


def _pool_loops(x, kernel_size, stride, reduce, owner):
    """Output pixel (i, j) = reduce(window under it): the loops both pools share."""
    x, kernel, stride, out_hw = pool_args(x, kernel_size, stride, owner)
    out = np.empty(x.shape[:2] + out_hw, dtype=x.dtype)
    for i, j, rows, cols in _windows(x, kernel, stride, out_hw):
        out[:, :, i, j] = reduce(x[:, :, rows, cols], axis=(2, 3))
    return out


def max_pool2d_reference_backward(grad_out, x, kernel_size, stride=None) -> np.ndarray:
    """Each window sends its gradient to its first maximum (row-major order), as PyTorch does.

    Ties (several zeros after a ReLU, say) send the gradient to one pixel only, so nothing
    is counted twice. Overlapping windows add up. Arguments and shapes as
    :func:`nnlib.pool.max_pool2d_backward`.
    """
    owner = "max_pool2d_reference_backward"
    x, (kh, kw), stride, out_hw = pool_args(x, kernel_size, stride, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=x.shape[:2] + out_hw)
    N, C = x.shape[:2]
    grad_x = np.zeros(x.shape, dtype=np.result_type(x, grad_out))
    for i, j, rows, cols in _windows(x, (kh, kw), stride, out_hw):
        first = x[:, :, rows, cols].reshape(N, C, kh * kw).argmax(axis=2)  # (N, C)
        winner = np.arange(kh * kw) == first[:, :, None]  # one-hot over the window
        grad_x[:, :, rows, cols] += (winner * grad_out[:, :, i, j, None]).reshape(N, C, kh, kw)
    return grad_x


def avg_pool2d_reference(x, kernel_size, stride=None) -> np.ndarray:
    """Average pooling as loops over the output pixels: each is the mean of its window.

    Arguments, result and shapes as :func:`nnlib.pool.avg_pool2d`.

    >>> avg_pool2d_reference(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0, 0].tolist()  # (0+1+4+5)/4, ...
    [2.5, 4.5]
    """
    return _pool_loops(x, kernel_size, stride, np.mean, "avg_pool2d_reference")


def avg_pool2d_reference_backward(grad_out, x, kernel_size, stride=None) -> np.ndarray:
    """Every pixel of a window receives the window's gradient divided by kh·kw.

    Arguments and shapes as :func:`nnlib.pool.avg_pool2d_backward`.
    """
    owner = "avg_pool2d_reference_backward"
    x, (kh, kw), stride, out_hw = pool_args(x, kernel_size, stride, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=x.shape[:2] + out_hw)
    grad_x = np.zeros(x.shape, dtype=np.result_type(x, grad_out))
    for i, j, rows, cols in _windows(x, (kh, kw), stride, out_hw):
        grad_x[:, :, rows, cols] += grad_out[:, :, i, j, None, None] / (kh * kw)
    return grad_x
