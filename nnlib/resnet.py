r"""Residual connections, global average pooling and a small ResNet for 28x28 digits.

A residual block computes :math:`y = x + f(x)` (He, Zhang, Ren & Sun, 2016). Its gradient is

.. math:: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}
          + \frac{\partial L}{\partial y}\,\frac{\partial f}{\partial x},

so the upstream gradient reaches x unchanged along the identity path, *plus* whatever the
body contributes. In a plain stack every layer multiplies the gradient by its Jacobian, and
twenty factors a little below (or above) one vanish (or explode); in a stack of residual
blocks the product is of (I + ∂f/∂x) terms, which stay near the identity while the bodies
are small. When the body changes the shape (more channels, a stride), a ``projection``
(typically a 1x1 convolution with the same stride) maps x to the body's output shape.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_array, check_positive
from .conv import Conv2d, MaxPool2d
from .init import as_rng, kaiming_normal
from .layers import Flatten, Linear, ReLU
from .models import ACTIVATIONS
from .module import Module, Sequential
from .norm import BatchNorm1d, BatchNorm2d

__all__ = ["AdaptiveAvgPool2d", "Residual", "basic_block", "deep_cnn", "deep_mlp", "resnet_small"]


class Residual(Module):
    """``y = x + body(x)``, or ``projection(x) + body(x)`` when the shapes differ.

    Backward sends the upstream gradient down both paths and adds what comes back.

    Parameters
    ----------
    body : Module
        f, the residual branch (e.g. Conv-BN-ReLU-Conv-BN).
    projection : Module or None, default None
        The shortcut's map when ``body(x)`` is not shaped like ``x`` (e.g. ``Conv2d(c_in,
        c_out, 1, stride=2)``); None: the identity.

    Shape
    -----
    - Input: whatever ``body`` takes, e.g. ``(N, C_in, H, W)``
    - Output: ``body``'s output shape, which must equal ``x``'s (or ``projection(x)``'s)

    Attributes
    ----------
    body : Module
    projection : Module or None

    Raises
    ------
    ValueError from forward, when ``body(x)`` and the shortcut have different shapes.

    Examples
    --------
    >>> block = Residual(Sequential(Linear(4, 4, rng=0), ReLU(), Linear(4, 4, rng=1)))
    >>> block(np.ones((2, 4))).shape
    (2, 4)
    >>> down = Residual(Conv2d(8, 16, 3, stride=2, padding=1, rng=0), projection=Conv2d(8, 16, 1, stride=2, rng=1))
    >>> down(np.zeros((1, 8, 14, 14))).shape
    (1, 16, 7, 7)
    """

    def __init__(self, body: Module, projection: Module | None = None):
        for name, m in (("body", body), ("projection", projection)):
            if m is not None and not isinstance(m, Module):
                raise TypeError(f"Residual: argument '{name}' must be an nnlib Module, got {type(m).__name__}")
        if body is None:
            raise TypeError("Residual: argument 'body' must be an nnlib Module, got None")
        self.body = body
        self.projection = projection

    def forward(self, x):
        x = check_array(x, "x", "Residual.forward", min_ndim=1)
        fx = self.body(x)
        shortcut = x if self.projection is None else self.projection(x)
        if shortcut.shape != fx.shape:
            if self.projection is None:
                raise ValueError(
                    f"Residual.forward: body(x) has shape {tuple(fx.shape)} but x has shape "
                    f"{tuple(x.shape)}; x + body(x) needs equal shapes. Pass projection=... that maps x "
                    "to the body's output shape (e.g. Conv2d(c_in, c_out, 1, stride=s))"
                )
            raise ValueError(
                f"Residual.forward: body(x) has shape {tuple(fx.shape)} but projection(x) has shape "
                f"{tuple(shortcut.shape)}; expected equal shapes"
            )
        return shortcut + fx

    def backward(self, grad_y):
        # y = s(x) + f(x): both paths receive grad_y, their gradients with respect to x add up
        grad_body = self.body.backward(grad_y)
        grad_shortcut = grad_y if self.projection is None else self.projection.backward(grad_y)
        return grad_shortcut + grad_body


def _adaptive_bounds(n_in: int, n_out: int) -> list[tuple[int, int]]:
    """PyTorch's windows: cell i covers [floor(i·n_in/n_out), ceil((i+1)·n_in/n_out))."""
    return [((i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)) for i in range(n_out)]


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input's height and width.

    Output cell (i, j) is the mean of rows ``floor(i·H/H_out)`` to ``ceil((i+1)·H/H_out)``
    (exclusive) and the same rule for columns, PyTorch's windows, which may overlap by one
    when H_out does not divide H. ``output_size=1`` is *global average pooling*: one number
    per channel, the mean of its whole feature map (how ResNets turn maps into a vector).

    Parameters
    ----------
    output_size : int or (H_out, W_out)
        Each >= 1 (an int means a square output); an entry None keeps that input size.

    Shape
    -----
    - Input: ``(N, C, H_in, W_in)``
    - Output: ``(N, C, H_out, W_out)``

    Examples
    --------
    >>> AdaptiveAvgPool2d(1)(np.arange(16.0).reshape(1, 1, 4, 4)).ravel()
    array([7.5])
    >>> AdaptiveAvgPool2d((2, 1))(np.arange(6.0).reshape(1, 1, 3, 2)).ravel()
    array([1.5, 3.5])
    """

    def __init__(self, output_size):
        owner = "AdaptiveAvgPool2d"
        size = (output_size, output_size) if isinstance(output_size, numbers.Integral) else output_size
        if isinstance(output_size, bool) or not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(
                f"{owner}: argument 'output_size' must be an int or a pair (H_out, W_out), got {output_size!r}"
            )
        for s in size:
            if s is not None:
                check_positive(s, "output_size", owner, integer=True)
        self.output_size = output_size
        self._size = tuple(size)
        self._x_shape = None

    def forward(self, x):
        owner = "AdaptiveAvgPool2d.forward"
        x = check_array(x, "x", owner, ndim=4)
        H, W = x.shape[2:]
        h_out, w_out = (H if self._size[0] is None else self._size[0]), (W if self._size[1] is None else self._size[1])
        if H == 0 or W == 0:
            raise ValueError(f"{owner}: argument 'x' expected a non-empty height and width, got {tuple(x.shape)}")
        self._x_shape, self._dtype = x.shape, x.dtype
        self._rows, self._cols = _adaptive_bounds(H, h_out), _adaptive_bounds(W, w_out)
        if (h_out, w_out) == (1, 1):  # global average pooling, the common case, in one call
            return x.mean(axis=(2, 3), keepdims=True)
        out = np.empty(x.shape[:2] + (h_out, w_out), dtype=x.dtype)
        for i, (r0, r1) in enumerate(self._rows):
            for j, (c0, c1) in enumerate(self._cols):
                out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
        return out

    def backward(self, grad_y):
        owner = "AdaptiveAvgPool2d.backward"
        if self._x_shape is None:
            raise RuntimeError(f"{owner}: call forward() before backward()")
        out_shape = self._x_shape[:2] + (len(self._rows), len(self._cols))
        grad_y = check_array(grad_y, "grad_y", owner, shape=out_shape)
        grad_x = np.zeros(self._x_shape, dtype=np.result_type(self._dtype, grad_y))
        # every pixel of a window gets the window's gradient / its area (windows may overlap: add)
        for i, (r0, r1) in enumerate(self._rows):
            for j, (c0, c1) in enumerate(self._cols):
                area = (r1 - r0) * (c1 - c0)
                grad_x[:, :, r0:r1, c0:c1] += grad_y[:, :, i : i + 1, j : j + 1] / area
        return grad_x

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


def basic_block(in_channels: int, out_channels: int, stride: int = 1, rng=None) -> Sequential:
    """ResNet's basic block: ``ReLU(shortcut(x) + BN(Conv3x3(ReLU(BN(Conv3x3(x))))))``.

    The convolutions have no bias (the batch norm after each one has its own shift). When
    the block changes the channel count or the stride, the shortcut is a 1x1 convolution
    with that stride followed by batch norm (ResNet's "option B"); otherwise the identity.

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int, default 1 (2 halves the height and width)
    rng : Generator, int or None, seed of the convolutions' initial weights

    Returns
    -------
    Sequential(Residual(body, projection), ReLU())

    Shape
    -----
    - Input: ``(N, in_channels, H, W)``
    - Output: ``(N, out_channels, H_out, W_out)``, ``H_out = (H - 1) // stride + 1``
    """
    owner = "basic_block"
    check_positive(in_channels, "in_channels", owner, integer=True)
    check_positive(out_channels, "out_channels", owner, integer=True)
    check_positive(stride, "stride", owner, integer=True)
    rng = as_rng(rng)
    body = Sequential(
        Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False, rng=rng),
        BatchNorm2d(out_channels),
        ReLU(),
        Conv2d(out_channels, out_channels, 3, padding=1, bias=False, rng=rng),
        BatchNorm2d(out_channels),
    )
    projection = None
    if stride != 1 or in_channels != out_channels:
        projection = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rng=rng),
                                BatchNorm2d(out_channels))
    return Sequential(Residual(body, projection), ReLU())


def resnet_small(widths=(8, 16, 32), blocks_per_stage: int = 1, in_channels: int = 1,
                 num_classes: int = 10, rng=None) -> Sequential:
    """A small ResNet for 28x28 grey digits, sized to train on a laptop CPU like LeNet-5.

    Stem: Conv3x3(in_channels -> widths[0]) - BN - ReLU at 28x28, then MaxPool2d(2) to 14x14.
    Then one stage per entry of ``widths``, each of ``blocks_per_stage`` :func:`basic_block`
    s; every stage after the first starts with stride 2 (14 -> 7 -> 4), and its first block
    has a 1x1-convolution shortcut. Then global average pooling, Flatten and one Linear.

    Parameters
    ----------
    widths : sequence of int, default (8, 16, 32)
        Channels of each stage.
    blocks_per_stage : int, default 1
        Residual blocks per stage; each adds two 3x3 convolutions of depth.
    in_channels : int, default 1
    num_classes : int, default 10
    rng : Generator, int or None, seed of every initial weight

    Returns
    -------
    Sequential, float64 (``.to(np.float32)`` for speed); logits ``(N, num_classes)``.

    Shape
    -----
    - Input: ``(N, in_channels, H, W)``, e.g. ``(N, 1, 28, 28)`` (any H, W >= 2 works: the
      global average pooling removes the dependence on the size)
    - Output: ``(N, num_classes)``

    Examples
    --------
    >>> model = resnet_small(rng=0)
    >>> model(np.zeros((2, 1, 28, 28))).shape, model.num_parameters()
    ((2, 10), 19810)
    """
    owner = "resnet_small"
    if isinstance(widths, numbers.Integral) or not hasattr(widths, "__len__") or len(widths) == 0:
        raise ValueError(f"{owner}: argument 'widths' must be a non-empty sequence of ints, got {widths!r}")
    for i, w in enumerate(widths):
        check_positive(w, f"widths[{i}]", owner, integer=True)
    check_positive(blocks_per_stage, "blocks_per_stage", owner, integer=True)
    check_positive(in_channels, "in_channels", owner, integer=True)
    check_positive(num_classes, "num_classes", owner, integer=True)
    rng = as_rng(rng)
    layers = [Conv2d(in_channels, widths[0], 3, padding=1, bias=False, rng=rng), BatchNorm2d(widths[0]), ReLU(),
              MaxPool2d(2)]
    c = widths[0]
    for s, width in enumerate(widths):
        for b in range(blocks_per_stage):
            stride = 2 if (s > 0 and b == 0) else 1
            layers.append(basic_block(c, width, stride, rng=rng))
            c = width
    layers += [AdaptiveAvgPool2d(1), Flatten(), Linear(c, num_classes, rng=rng)]
    return Sequential(*layers)



# ---- deep stacks for the depth experiments ------------------------------------------------------
def _check_depth_args(owner, depth, width, batch_norm, residual, init_scale, inputs, num_classes):
    check_positive(inputs[1], inputs[0], owner, integer=True)
    check_positive(num_classes, "num_classes", owner, integer=True)
    check_positive(depth, "depth", owner, integer=True)
    if depth < 2:
        raise ValueError(f"{owner}: argument 'depth' must be >= 2 (an input layer and an output layer), got {depth}")
    if residual and depth % 2:
        raise ValueError(
            f"{owner}: argument 'depth' must be even when residual=True (the layers between the first and "
            f"the last come in blocks of two), got {depth}"
        )
    check_positive(width, "width", owner, integer=True)
    for name, flag in (("batch_norm", batch_norm), ("residual", residual)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{owner}: argument '{name}' must be True or False, got {flag!r}")
    if init_scale is not None:
        check_positive(init_scale, "init_scale", owner)


def _deep_stack(depth, batch_norm, residual, init_scale, rng, weight, norm, act, stem, head):
    """stem, then depth - 2 weight layers (plain, or residual blocks of two), then head.

    ``weight(n_in, n_out, rng)`` builds a hidden weight layer; ``stem(unit)`` and
    ``head(width, initialised, rng)`` return lists of modules.
    """
    rng = as_rng(rng)

    def initialised(m):
        if init_scale is not None:  # He-normal times init_scale; biases start at zero
            m.weight.value = init_scale * kaiming_normal(m.weight.shape, rng=rng)
            if m.bias is not None:
                m.bias.value = np.zeros_like(m.bias.value)
        return m

    def unit(n_in, n_out):  # weight layer [+ batch norm]
        return [initialised(weight(n_in, n_out, rng))] + ([norm(n_out)] if batch_norm else [])

    layers = stem(unit)
    width = next(m for m in layers if hasattr(m, "weight")).weight.shape[0]
    if residual:
        for _ in range((depth - 2) // 2):
            body = Sequential(*unit(width, width), act(), *unit(width, width))
            layers += [Residual(body), act()]
    else:
        for _ in range(depth - 2):
            layers += [*unit(width, width), act()]
    return Sequential(*layers, *head(width, initialised, rng))


def deep_mlp(depth: int, width: int = 32, *, batch_norm: bool = False, residual: bool = False,
             activation: str = "relu", init_scale: float | None = None, in_features: int = 784,
             num_classes: int = 10, rng=None) -> Sequential:
    """A deep fully connected network, plain, batch-normalised and/or residual.

    ``depth`` counts the Linear layers: one from the input, ``depth - 2`` of size
    width x width, one to the classes. With ``batch_norm`` every hidden Linear is followed by
    BatchNorm1d (and loses its bias, which the norm's shift replaces); with ``residual`` the
    hidden layers come in ResNet blocks ``act(x + L(act(L(x))))`` (batch norm after each L
    when both are on). The input is flattened first, so MNIST images go in as they are.

    Parameters
    ----------
    depth : int >= 2 (even when ``residual``)
    width : int, default 32
    batch_norm, residual : bool, default False
    activation : str, default "relu" (any name of ``nnlib.models.ACTIVATIONS``)
    init_scale : float or None, default None
        None: PyTorch's default initialisation (U(±1/√fan_in), weights and biases). A number
        s: weights N(0, s²·2/fan_in), i.e. s times He initialisation, and zero biases; s = 1
        keeps the activations' scale through ReLU layers, s < 1 shrinks it layer after layer
        and s > 1 grows it.
    in_features : int, default 784
    num_classes : int, default 10
    rng : Generator, int or None

    Returns
    -------
    Sequential, float64

    Shape
    -----
    - Input: ``(N, in_features)`` or anything that flattens to it, e.g. ``(N, 1, 28, 28)``
    - Output: ``(N, num_classes)`` logits

    Examples
    --------
    >>> model = deep_mlp(20, residual=True, rng=0)
    >>> sum(isinstance(m, Linear) for m in model.modules()), sum(isinstance(m, Residual) for m in model.modules())
    (20, 9)
    >>> model(np.zeros((2, 1, 28, 28))).shape
    (2, 10)
    """
    owner = "deep_mlp"
    _check_depth_args(owner, depth, width, batch_norm, residual, init_scale, ("in_features", in_features),
                      num_classes)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{owner}: argument 'activation' must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    act = ACTIVATIONS[activation]
    return _deep_stack(
        depth, batch_norm, residual, init_scale, rng,
        weight=lambda n_in, n_out, r: Linear(n_in, n_out, bias=not batch_norm, rng=r),
        norm=BatchNorm1d, act=act,
        stem=lambda unit: [Flatten(), *unit(in_features, width), act()],
        head=lambda w, initialised, r: [initialised(Linear(w, num_classes, rng=r))],
    )


def deep_cnn(depth: int, width: int = 8, *, batch_norm: bool = False, residual: bool = False,
             init_scale: float | None = None, in_channels: int = 1, num_classes: int = 10,
             rng=None) -> Sequential:
    """A deep convolutional network for 28x28 images, plain, batch-normalised and/or residual.

    ``depth`` counts the weight layers: a 3x3 convolution at 28x28 (then ReLU and
    MaxPool2d(4) down to 7x7), ``depth - 2`` 3x3 convolutions of ``width`` channels at 7x7
    (padding 1, so the size stays), and a Linear from the flattened 7x7 maps to the classes.
    ``batch_norm`` and ``residual`` work as in :func:`deep_mlp`, with BatchNorm2d. The small
    maps keep a 30-layer network cheap enough to train on a laptop CPU in seconds per epoch.

    Parameters
    ----------
    depth : int >= 2 (even when ``residual``)
    width : int, default 8, channels of every convolution
    batch_norm, residual : bool, default False
    init_scale : float or None, default None (as in :func:`deep_mlp`)
    in_channels : int, default 1
    num_classes : int, default 10
    rng : Generator, int or None

    Returns
    -------
    Sequential, float64, whose weight layers come in the order the input meets them

    Shape
    -----
    - Input: ``(N, in_channels, 28, 28)``; after the stem ``(N, width, 7, 7)``
    - Output: ``(N, num_classes)`` logits

    Examples
    --------
    >>> model = deep_cnn(10, batch_norm=True, rng=0)
    >>> model(np.zeros((2, 1, 28, 28))).shape, sum(isinstance(m, Conv2d) for m in model.modules())
    ((2, 10), 9)
    """
    _check_depth_args("deep_cnn", depth, width, batch_norm, residual, init_scale, ("in_channels", in_channels),
                      num_classes)
    return _deep_stack(
        depth, batch_norm, residual, init_scale, rng,
        weight=lambda c_in, c_out, r: Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm, rng=r),
        norm=BatchNorm2d, act=ReLU,
        stem=lambda unit: [*unit(in_channels, width), ReLU(), MaxPool2d(4)],
        head=lambda w, initialised, r: [Flatten(), initialised(Linear(w * 7 * 7, num_classes, rng=r))],
    )
