"""Pooling: MaxPool2d and AvgPool2d, and the vectorised functions they are built on.

Three implementations, tested equal:

* :func:`max_pool2d_reference` / :func:`avg_pool2d_reference` (in
  :mod:`nnlib.conv_reference`) loop over the output pixels: the definitions.
* :func:`max_pool2d` / :func:`avg_pool2d` and their backwards loop over the kh·kw offsets
  inside a window instead, each step one operation on whole shifted views: offset (p, q)
  of every window at once.
* The layers, for disjoint windows (stride == kernel, the usual case), run the tuned
  kernels of :mod:`nnlib.kernels` (a contiguous stack of the windows, the first-maximum
  masks kept from the forward pass, two halves of the batch on two threads).

Output size (no padding, PyTorch's floor rule)::

    H_out = (H - kernel) // stride + 1
"""

from __future__ import annotations

import numpy as np

from . import kernels
from ._geometry import check_grad, check_implementation, check_input, out_hw, pair, pool_args
from ._validation import check_array
from .conv_reference import (
    avg_pool2d_reference,
    avg_pool2d_reference_backward,
    max_pool2d_reference,
    max_pool2d_reference_backward,
)
from .layers import ReLU
from .module import Module

__all__ = [
    "AvgPool2d",
    "MaxPool2d",
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
]


def _offset_view(a, p, q, stride, out_hw):
    """The input pixels that kernel offset (p, q) visits, one per output pixel: (N, C, Ho, Wo)."""
    (sh, sw), (H_out, W_out) = stride, out_hw
    return a[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw]


def _offsets(kernel):
    return [(p, q) for p in range(kernel[0]) for q in range(kernel[1])]


def _max_pool(x, kernel, stride, out_hw):
    out = _offset_view(x, 0, 0, stride, out_hw).copy()
    for p, q in _offsets(kernel)[1:]:
        np.maximum(out, _offset_view(x, p, q, stride, out_hw), out=out)
    return out


def _max_pool_backward(grad_out, x, kernel, stride, out_hw):
    out = _max_pool(x, kernel, stride, out_hw)
    grad_x = np.zeros(x.shape, dtype=np.result_type(x, grad_out))
    claimed = np.zeros(out.shape, dtype=bool)
    for p, q in _offsets(kernel):
        # The gradient goes to the first maximum in the window (row-major), as in PyTorch,
        # so ties (e.g. several zeros after a ReLU) are not counted twice.
        view = _offset_view(x, p, q, stride, out_hw)
        hit = ((view == out) | (np.isnan(view) & np.isnan(out))) & ~claimed  # a NaN is a maximum
        claimed |= hit
        _offset_view(grad_x, p, q, stride, out_hw)[...] += grad_out * hit
    return grad_x


def _avg_pool(x, kernel, stride, out_hw):
    out = _offset_view(x, 0, 0, stride, out_hw).copy()
    for p, q in _offsets(kernel)[1:]:
        out += _offset_view(x, p, q, stride, out_hw)
    return out * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=x.dtype)


def _avg_pool_backward(grad_out, x, kernel, stride, out_hw):
    grad_x = np.zeros(x.shape, dtype=np.result_type(x, grad_out))
    share = grad_out * np.asarray(1.0 / (kernel[0] * kernel[1]), dtype=grad_x.dtype)
    for p, q in _offsets(kernel):
        _offset_view(grad_x, p, q, stride, out_hw)[...] += share
    return grad_x


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

    Examples
    --------
    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, kernel, stride, hw = pool_args(x, kernel_size, stride, "max_pool2d")
    return _max_pool(x, kernel, stride, hw)


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
    return _checked_backward(_max_pool_backward, grad_out, x, kernel_size, stride, "max_pool2d_backward")


def _checked_backward(backward, grad_out, x, kernel_size, stride, owner):
    x, kernel, stride, hw = pool_args(x, kernel_size, stride, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=x.shape[:2] + hw)
    return backward(grad_out, x, kernel, stride, hw)


def avg_pool2d(x, kernel_size, stride=None) -> np.ndarray:
    """Mean of every kh x kw window (no padding, PyTorch's floor rule).

    Arguments, result and shapes as :func:`max_pool2d`.

    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0, 0].tolist()  # (0+1+4+5)/4, ...
    [2.5, 4.5]
    """
    x, kernel, stride, hw = pool_args(x, kernel_size, stride, "avg_pool2d")
    return _avg_pool(x, kernel, stride, hw)


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: every pixel of a window gets grad / (kh·kw).

    Arguments and shapes as :func:`max_pool2d_backward` (only x's shape and dtype are used).
    """
    return _checked_backward(_avg_pool_backward, grad_out, x, kernel_size, stride, "avg_pool2d_backward")


# ---- the layers ------------------------------------------------------------------------------
class _Pool2d(Module):
    """Shared by MaxPool2d and AvgPool2d: arguments, shapes, and the choice of implementation."""

    mode = ""  # "max" or "avg"
    per_sample = True

    def __init__(self, kernel_size, stride=None, *, implementation: str = "fast"):
        owner = type(self).__name__
        self._kernel = pair(kernel_size, "kernel_size", owner)
        self._stride = self._kernel if stride is None else pair(stride, "stride", owner)
        # kept as given, so the repr reads like PyTorch's: MaxPool2d(kernel_size=2, stride=2)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.implementation = check_implementation(implementation, owner, ("fast", "reference"))
        self._out_shape = None

    _relu_mask = None  # set by MaxPool2d.forward_fused: where the fused ReLU's output is > 0

    def forward(self, x):
        self._relu_mask = None
        owner = f"{type(self).__name__}.forward"
        x = check_input(x, owner)
        hw = out_hw(x.shape, self._kernel, self._stride, (0, 0), owner)
        self._out_shape = x.shape[:2] + hw
        self._x, self._cache = x, None
        if self.implementation == "reference":
            reference = max_pool2d_reference if self.mode == "max" else avg_pool2d_reference
            return reference(x, self._kernel, self._stride)
        if self._stride == self._kernel:  # disjoint windows: the tuned kernel
            out, self._cache = kernels.pool2d_forward(x, self._kernel, self.mode)
            return out
        pool = _max_pool if self.mode == "max" else _avg_pool
        return pool(x, self._kernel, self._stride, hw)

    def backward(self, grad_y):
        grad_y = check_grad(self, grad_y)
        if self._relu_mask is not None:  # fused: the ReLU's derivative, on the pooled map
            grad_y = grad_y * self._relu_mask
        if self._cache is not None:
            return kernels.pool2d_backward(grad_y, self._cache)
        if self.implementation == "reference":
            backward = max_pool2d_reference_backward if self.mode == "max" else avg_pool2d_reference_backward
            return backward(grad_y, self._x, self._kernel, self._stride)
        backward = _max_pool_backward if self.mode == "max" else _avg_pool_backward
        return backward(grad_y, self._x, self._kernel, self._stride, self._out_shape[2:])

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}"
        if self.implementation != "fast":
            s += f", implementation={self.implementation!r}"
        return s


class MaxPool2d(_Pool2d):
    """Max over each kh x kw window; the gradient flows to the window's (first) maximum.

    Parameters
    ----------
    kernel_size : int or pair
    stride : int, pair or None (default: kernel_size, non-overlapping windows)
    implementation : {"fast", "reference"}, default "fast"
        "reference" runs the loops of :func:`max_pool2d_reference`; same numbers, slower.

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

    mode = "max"

    def fuses_with(self, previous, x) -> bool:
        """Whether a Sequential may run ``self(previous(x))`` as :meth:`forward_fused`: a
        ReLU before this layer's fast path (disjoint windows), on a float NCHW array."""
        return (type(previous) is ReLU and self.implementation == "fast" and self._stride == self._kernel
                and isinstance(x, np.ndarray) and x.ndim == 4 and x.dtype.kind == "f")

    def forward_fused(self, relu, x):
        """``self(relu(x))``, computed as ``relu(self(x))``: the maximum of a window commutes
        with the increasing ReLU, so the ReLU runs on the 4x smaller pooled map.

        Backward then applies the ReLU's mask on the pooled map before routing each window's
        gradient to its first maximum, and ``relu.backward`` passes the gradient on as it is.
        Same numbers as the two layers one after the other (tested: ties, NaNs, gradients);
        only the gradient between the two layers is not formed.
        """
        relu._check_guard()
        self._check_guard()
        y = self.forward(x)
        np.maximum(y, 0, out=y)  # fresh memory of ours: the ReLU in place
        self._relu_mask = y > 0  # kept apart: the caller may change y in place
        relu._fused, relu._x, relu._y, relu._out_shape = True, None, None, x.shape
        return y


class AvgPool2d(_Pool2d):
    """Mean over each kh x kw window; each input pixel gets its windows' gradient / (kh·kw).

    Parameters and Shape: as :class:`MaxPool2d` ("reference" runs the loops of
    :func:`avg_pool2d_reference`).

    Examples
    --------
    >>> AvgPool2d(2)(np.ones((3, 6, 28, 28))).shape
    (3, 6, 14, 14)
    """

    mode = "avg"
