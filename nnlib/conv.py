"""Convolution: the Conv2d layer and the documented im2col path it is built on.

Three implementations of one cross-correlation, all public and tested equal:

* :func:`conv2d_reference` (in :mod:`nnlib.conv_reference`) loops over the output
  positions: each output pixel is the dot product of one input patch with the kernel.
* :func:`conv2d_im2col` turns the whole convolution into one matrix product. Every patch
  becomes a row of a matrix (:func:`im2col`), so ``out = patches @ kernels.T`` runs in
  BLAS; the backward pass (:func:`conv2d_im2col_backward`) is two more products and
  :func:`col2im`, which adds each patch's gradient back where the patch was taken.
* :func:`conv2d` / :func:`conv2d_forward` / :func:`conv2d_backward`, the default behind
  :class:`Conv2d`, run the same im2col idea tuned for speed in :mod:`nnlib.kernels`
  (transposed patch matrix, channel-major memory, two halves of the batch on two threads).

``Conv2d(..., implementation="reference" | "im2col" | "fast")`` picks one. Pooling lives in
:mod:`nnlib.pool`; this module re-exports it so that ``nnlib.conv`` keeps every old name.

Output size (PyTorch's rule, floor division)::

    H_out = (H + 2·padding - kernel) // stride + 1
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import init, kernels
from ._geometry import (
    check_grad,
    check_implementation,
    check_input,
    conv_args,
    conv_output_size,
    out_hw,
    pad,
    pair,
)
from ._validation import check_array, check_positive, check_rng
from .conv_reference import conv2d_reference, conv2d_reference_backward
from .module import Module, Parameter
from .pool import (  # noqa: F401  (re-exported: nnlib.conv keeps its old names)
    AvgPool2d,
    MaxPool2d,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

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
    "conv2d_im2col",
    "conv2d_im2col_backward",
    "conv2d_reference",
    "conv2d_reference_backward",
    "conv_output_size",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
]


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

    Examples
    --------
    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    owner = "im2col"
    x = check_input(x, owner)
    (kh, kw) = pair(kernel_size, "kernel_size", owner)
    (sh, sw) = pair(stride, "stride", owner)
    (ph, pw) = pair(padding, "padding", owner, allow_zero=True)
    N, C = x.shape[:2]
    H_out, W_out = out_hw(x.shape, (kh, kw), (sh, sw), (ph, pw), owner)
    # A strided *view* (no copy yet): windows[n, c, i, j] is the patch at (i, j).
    windows = sliding_window_view(pad(x, ph, pw), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
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
    (kh, kw) = pair(kernel_size, "kernel_size", owner)
    (sh, sw) = pair(stride, "stride", owner)
    (ph, pw) = pair(padding, "padding", owner, allow_zero=True)
    H_out, W_out = out_hw((N, C, H, W), (kh, kw), (sh, sw), (ph, pw), owner)
    cols = check_array(cols, "cols", owner, shape=(N * H_out * W_out, C * kh * kw))
    patches = cols.reshape(N, H_out, W_out, C, kh, kw)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            xp[:, :, p : p + sh * (H_out - 1) + 1 : sh, q : q + sw * (W_out - 1) + 1 : sw] += (
                patches[:, :, :, :, p, q].transpose(0, 3, 1, 2)
            )
    return xp[:, :, ph : ph + H, pw : pw + W]


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0) -> np.ndarray:
    """2-D cross-correlation as one matrix product: ``im2col(x) @ weight.reshape(C_out, -1).T``.

    Arguments, result and shapes as :func:`conv2d_reference`.
    """
    x, weight, bias, stride, padding = conv_args(x, weight, bias, stride, padding, "conv2d_im2col")
    N, C_out = x.shape[0], weight.shape[0]
    H_out, W_out = out_hw(x.shape, weight.shape[2:], stride, padding, "conv2d_im2col")
    patches = im2col(x, weight.shape[2:], stride, padding)  # (N·H_out·W_out, C_in·kh·kw)
    y = patches @ weight.reshape(C_out, -1).T  # every patch against every kernel
    if bias is not None:
        y = y + bias
    return y.reshape(N, H_out, W_out, C_out).transpose(0, 3, 1, 2)


def conv2d_im2col_backward(grad_out, x, weight, stride=1, padding=0):
    """Gradients of :func:`conv2d_im2col`, by the same matrix read backwards.

    With ``Y = P @ W_mat.T`` (P: the patches, one per row)::

        dL/dW_mat = dL/dY.T @ P       dL/db = dL/dY summed over rows
        dL/dP     = dL/dY @ W_mat     dL/dx = col2im(dL/dP)

    Parameters
    ----------
    grad_out : array (N, C_out, H_out, W_out)
    x, weight, stride, padding : the arguments of the forward call

    Returns
    -------
    (grad_x, grad_weight, grad_bias) : arrays (N, C_in, H, W), (C_out, C_in, kh, kw), (C_out,)

    Shape
    -----
    - grad_out: ``(N, C_out, H_out, W_out)``; gradients shaped like x, weight and bias.
    """
    owner = "conv2d_im2col_backward"
    x, weight, _, stride, padding = conv_args(x, weight, None, stride, padding, owner)
    C_out = weight.shape[0]
    H_out, W_out = out_hw(x.shape, weight.shape[2:], stride, padding, owner)
    grad_out = check_array(grad_out, "grad_out", owner, shape=(x.shape[0], C_out, H_out, W_out))
    grad_y = grad_out.transpose(0, 2, 3, 1).reshape(-1, C_out)  # rows like the patches
    patches = im2col(x, weight.shape[2:], stride, padding)
    grad_weight = (grad_y.T @ patches).reshape(weight.shape)
    grad_x = col2im(grad_y @ weight.reshape(C_out, -1), x.shape, weight.shape[2:], stride, padding)
    return grad_x, grad_weight, grad_y.sum(axis=0)


# ---- the fast path (tuned kernels in nnlib.kernels) -----------------------------------------
def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """Fast convolution that also returns what :func:`conv2d_backward` needs.

    The im2col product of :func:`conv2d_im2col`, tuned (see :mod:`nnlib.kernels`). Computes
    in ``x``'s dtype (float32 stays float32).

    Parameters
    ----------
    x, weight, bias, stride, padding : as in :func:`conv2d_reference`

    Returns
    -------
    out : ndarray (N, C_out, H_out, W_out), an NCHW-shaped view of channel-major memory
    cache : tuple, opaque; pass it to :func:`conv2d_backward`

    Shape
    -----
    - x: ``(N, C_in, H, W)``; output: ``(N, C_out, H_out, W_out)`` with
      ``H_out = (H + 2·padding - kh) // stride + 1`` (same for W)
    """
    x, weight, bias, stride, padding = conv_args(x, weight, bias, stride, padding, "conv2d_forward")
    return _forward(x, weight, bias, stride, padding, kernels.Workspace())


def _forward(x, weight, bias, stride, padding, workspace, keep_patches=True):
    w_mat = weight.astype(x.dtype, copy=False).reshape(weight.shape[0], -1)
    b = None if bias is None else bias.astype(x.dtype, copy=False)
    out, cache = kernels.conv2d_forward(x, w_mat, b, weight.shape[2:], stride, padding, workspace,
                                        keep_patches)
    return out, (cache, weight.shape)


def conv2d_backward(grad_out, cache, input_grad=True):
    """Gradients of :func:`conv2d_forward`: the products of :func:`conv2d_im2col_backward`.

    Parameters
    ----------
    grad_out : array (N, C_out, H_out, W_out)
    cache : the second value returned by :func:`conv2d_forward`
    input_grad : bool, default True
        False skips dL/dx (None is returned in its place), as for a network's first layer.

    Returns and shapes as in :func:`conv2d_im2col_backward`.
    """
    kernel_cache, w_shape = cache
    geometry, x_shape = kernel_cache[0], kernel_cache[3]
    grad_out = check_array(grad_out, "grad_out", "conv2d_backward",
                           shape=(x_shape[0], w_shape[0], geometry.H_out, geometry.W_out))
    grad_x, grad_w, grad_b = kernels.conv2d_backward(grad_out, kernel_cache, input_grad)
    return grad_x, grad_w.reshape(w_shape), grad_b


def conv2d(x, weight, bias=None, stride=1, padding=0) -> np.ndarray:
    """Fast 2-D cross-correlation; equals :func:`conv2d_reference` and :func:`conv2d_im2col`.

    Arguments and shapes as :func:`conv2d_reference`; the result is in x's dtype.

    >>> conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))).shape
    (1, 2, 2, 2)
    """
    x, weight, bias, stride, padding = conv_args(x, weight, bias, stride, padding, "conv2d")
    return _forward(x, weight, bias, stride, padding, kernels.Workspace(), keep_patches=False)[0]


# ---- the layer ---------------------------------------------------------------------------------
def _connection_table(connections, out_channels, in_channels, owner):
    if connections is None:
        return None
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
    table.setflags(write=False)
    return table


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
        connections have zero weight, stay zero (the table is applied in every forward) and
        never receive gradient. None: every output sees every input.
    rng : Generator, int or None
        Seed for :meth:`reset_parameters`.
    implementation : {"fast", "im2col", "reference"}, default "fast"
        "reference" runs the readable loops (:func:`conv2d_reference`), "im2col" the
        documented matrix form (:func:`conv2d_im2col`); same numbers, slower.
    input_grad : bool, default True
        False: backward returns None instead of dL/dx, and skips computing it. Set it on a
        network's first layer when no one needs the input's gradient (PyTorch skips it
        for inputs that do not require grad); set it back to True for saliency maps or
        adversarial examples.

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
        output channel times kh·kw); see :func:`nnlib.init.pytorch_default`
    bias : Parameter ``(out_channels,)`` or None, from the same range
    connections : read-only boolean array ``(out_channels, in_channels)`` or None

    Examples
    --------
    >>> conv = Conv2d(1, 6, 5, padding=2, rng=0)
    >>> conv(np.zeros((2, 1, 28, 28))).shape
    (2, 6, 28, 28)
    """

    per_sample = True  # image n of the output depends on image n of the input only

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, connections=None, *, rng=None, implementation: str = "fast",
                 input_grad: bool = True):
        owner = "Conv2d"
        check_positive(in_channels, "in_channels", owner, integer=True)
        check_positive(out_channels, "out_channels", owner, integer=True)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", owner)
        self.stride = pair(stride, "stride", owner)
        self.padding = pair(padding, "padding", owner, allow_zero=True)
        self.implementation = check_implementation(implementation, owner)
        self.input_grad = bool(input_grad)
        self.connections = _connection_table(connections, out_channels, in_channels, owner)
        self.weight = Parameter(np.zeros((out_channels, in_channels, *self.kernel_size)), "weight")
        self.bias = Parameter(np.zeros(out_channels), "bias") if bias else None
        self._out_shape = None
        self._scratch = kernels.Workspace()
        self.reset_parameters(rng)

    @property
    def mask(self):
        """The connection table as a ``(out, in, 1, 1)`` weight mask, or None."""
        return None if self.connections is None else self.connections[:, :, None, None]

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default: weight and bias from U(-1/√fan_in, 1/√fan_in)."""
        rng = check_rng(rng, "rng", "Conv2d")
        W, b = init.pytorch_default(self.weight.shape, rng, self.weight.dtype, connections=self.connections)
        self.weight.value, self.weight.grad = W, np.zeros_like(W)
        if self.bias is not None:
            self.bias.value, self.bias.grad = b, np.zeros_like(b)

    def _effective_weight(self, dtype):
        W = self.weight.value.astype(dtype, copy=False)
        return W if self.connections is None else W * self.mask

    def forward(self, x):
        self._cache = self._out_shape = None  # free the last batch's patches first
        owner = "Conv2d.forward"
        x = check_input(x, owner, self.in_channels)
        H_out, W_out = out_hw(x.shape, self.kernel_size, self.stride, self.padding, owner)
        W = self._effective_weight(x.dtype)
        b = None if self.bias is None else self.bias.value.astype(x.dtype, copy=False)
        self._out_shape = (x.shape[0], self.out_channels, H_out, W_out)
        if self.implementation == "fast":
            out, self._cache = _forward(x, W, b, self.stride, self.padding, self._scratch,
                                        keep_patches=self.training)
            return out
        self._cache = (x, W)
        forward = conv2d_reference if self.implementation == "reference" else conv2d_im2col
        return forward(x, W, b, self.stride, self.padding)

    def backward(self, grad_y):
        grad_y = check_grad(self, grad_y)
        if self.implementation == "fast":
            grad_x, grad_w, grad_b = conv2d_backward(grad_y, self._cache, self.input_grad)
        else:
            backward = (conv2d_reference_backward if self.implementation == "reference"
                        else conv2d_im2col_backward)
            x, W = self._cache
            grad_x, grad_w, grad_b = backward(grad_y, x, W, self.stride, self.padding)
            grad_x = grad_x if self.input_grad else None
        if self.connections is not None:
            grad_w = grad_w * self.mask  # absent connections never learn
        self.weight.grad += grad_w
        if self.bias is not None:
            self.bias.grad += grad_b
        return grad_x

    def num_trainable(self) -> int:
        """Parameters that can change: absent connections of the table are not counted."""
        kh, kw = self.kernel_size
        n_weights = self.weight.size if self.connections is None else int(self.connections.sum()) * kh * kw
        return n_weights + (0 if self.bias is None else self.bias.size)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        if self.connections is not None:
            s += f", connections={int(self.connections.sum())}/{self.connections.size}"
        if self.implementation != "fast":
            s += f", implementation={self.implementation!r}"
        if not self.input_grad:
            s += ", input_grad=False"
        return s
