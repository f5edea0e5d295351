"""Argument checks and output-size arithmetic shared by convolution and pooling.

One home for the rules every conv/pool entry point applies: an int or a pair for kernel,
stride and padding; PyTorch's floor rule for the output size; NCHW input with the right
number of channels. Messages follow :mod:`nnlib._validation` (who asks, which argument,
what was expected, what arrived).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_array, check_positive


def pair(value, name: str, owner: str, *, allow_zero: bool = False) -> tuple[int, int]:
    """3 -> (3, 3); (3, 5) -> (3, 5); anything else is refused with a message."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{owner}: argument '{name}' must be an int or a pair of ints, got {value!r}")
    for v in value:
        check_positive(v, name, owner, integer=True, allow_zero=allow_zero)
    return int(value[0]), int(value[1])


def out_size(n: int, k: int, s: int, p: int, axis: str, owner: str, shape=None) -> int:
    """``(n + 2p - k) // s + 1``, refusing a kernel larger than the padded input."""
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
    return out_size(n, kernel, stride, padding, "this axis", owner)


def check_input(x, owner: str, channels: int | None = None) -> np.ndarray:
    """An NCHW float array, with ``channels`` channels when given."""
    x = check_array(x, "x", owner, ndim=4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{owner}: argument 'x' expected shape (N, {channels}, H, W) ({channels} input "
            f"channels), got {tuple(x.shape)} with {x.shape[1]} channels"
        )
    return x


def conv_args(x, weight, bias, stride, padding, owner):
    """Validated (x, weight, bias, stride pair, padding pair) of a functional convolution."""
    weight = check_array(weight, "weight", owner, ndim=4)
    x = check_input(x, owner, weight.shape[1])
    if bias is not None:
        bias = check_array(bias, "bias", owner, shape=(weight.shape[0],))
    stride = pair(stride, "stride", owner)
    padding = pair(padding, "padding", owner, allow_zero=True)
    out_hw(x.shape, weight.shape[2:], stride, padding, owner)
    return x, weight, bias, stride, padding


def out_hw(x_shape, kernel, stride, padding, owner) -> tuple[int, int]:
    """(H_out, W_out) of a window sliding over the last two axes of ``x_shape``."""
    return (out_size(x_shape[2], kernel[0], stride[0], padding[0], "the height", owner, x_shape),
            out_size(x_shape[3], kernel[1], stride[1], padding[1], "the width", owner, x_shape))


def pool_args(x, kernel_size, stride, owner):
    """Validated (x, kernel pair, stride pair, (H_out, W_out)) of a functional pooling."""
    x = check_input(x, owner)
    kernel = pair(kernel_size, "kernel_size", owner)
    stride = kernel if stride is None else pair(stride, "stride", owner)
    return x, kernel, stride, out_hw(x.shape, kernel, stride, (0, 0), owner)


def pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Zero-pad the last two axes of an NCHW array."""
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def check_grad(layer, grad_y):
    """grad_y of a layer's backward: forward ran, and the shape is the forward output's."""
    owner = f"{type(layer).__name__}.backward"
    if getattr(layer, "_out_shape", None) is None:
        raise RuntimeError(f"{owner}: call forward() before backward()")
    return check_array(grad_y, "grad_y", owner, shape=layer._out_shape)


def check_implementation(value, owner: str, choices=("fast", "im2col", "reference")) -> str:
    """One of the implementations a layer offers, or a message listing them."""
    if value not in choices:
        raise ValueError(f"{owner}: argument 'implementation' must be one of {list(choices)}, got {value!r}")
    return value
