"""Checkers of notebook 07's exercises (one convention: see :mod:`nnlib.exercises`).

Coding exercises: :func:`conv2d_forward` (a convolutional layer's forward pass, checked against
``nnlib.conv.conv2d`` on fresh random shapes with stride and padding) and
:func:`max_pool_backward` (checked against ``nnlib.MaxPool2d``'s backward, and that each
window's gradient lands on its first maximum). Questions: :func:`output_size`,
:func:`parameters`, :func:`shift_kernel`, :func:`sparsity`, :func:`receptive_field`,
:func:`folded_parameters`. Each prints one line, right or not yet with a hint that never holds
the answer, and returns a bool.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from ..conv import MaxPool2d, conv2d
from . import _describe, as_number, check_function, verdict

__all__ = ["conv2d_forward", "max_pool_backward", "output_size", "parameters", "shift_kernel", "sparsity",
           "receptive_field", "folded_parameters"]


def _size(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1


def _quietly(check, *args, **kwargs):
    """Run a checker without printing; returns (ok, what it would have printed)."""
    with contextlib.redirect_stdout(io.StringIO()) as said:
        ok = check(*args, **kwargs)
    return ok, said.getvalue()


# ---- a convolutional layer's forward pass ------------------------------------------------------------
def _conv_inputs(rng):
    """Random N, C_in, C_out, image and kernel sizes (rectangular too), stride 1-3, padding 0-2."""
    n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    h, w = (int(v) for v in rng.integers(max(kh, kw), 10, size=2))
    x = rng.standard_normal((n, c_in, h, w))
    return x, rng.standard_normal((c_out, c_in, kh, kw)), rng.standard_normal(c_out), stride, padding


def _conv_reference(x, weight, bias, stride, padding):
    return conv2d(x, weight, bias, stride=stride, padding=padding)


def _conv_variants():
    """Convolutions with one known mistake each, and the hint that names it."""
    return {
        "the kernel is flipped: deep-learning 'convolution' is a cross-correlation, out[i, j] reads "
        "x[i·s + a, j·s + b] with weight[a, b], no flip.":
            lambda x, w, b, s, p: _conv_reference(x, w[:, :, ::-1, ::-1], b, s, p),
        "the bias is missing: every output channel o adds bias[o] to each of its pixels.":
            lambda x, w, b, s, p: _conv_reference(x, w, 0 * b, s, p),
        "the padding is not applied: pad the height and width (not the batch or channels) with zeros first.":
            lambda x, w, b, s, p: _conv_reference(x, w, b, s, 0),
        "the stride is ignored: output pixel (i, j) reads the window whose corner is at (i·s, j·s).":
            lambda x, w, b, s, p: _conv_reference(x, w, b, 1, p),
    }


def _conv_mistake_inputs(rng):
    """Inputs on which every mistake of :func:`_conv_variants` shows: padding 1, stride 2, no symmetry."""
    return (rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4), 2, 1)


def conv2d_forward(student) -> bool:
    """Checks ``conv2d_forward(x, weight, bias, stride, padding) -> (N, C_out, H_out, W_out)`` against
    ``nnlib.conv.conv2d`` on 8 fresh random inputs: batches and channels of 1-3, rectangular kernels,
    strides 1-3 whose steps do not always divide the image, padding 0-2."""
    hint = ("out[n, o, i, j] = bias[o] + Σ over input channels c and kernel offsets (a, b) of "
            "weight[o, c, a, b] · x_padded[n, c, i·s + a, j·s + b].")
    ok, said = _quietly(check_function, student, _conv_reference, _conv_inputs, hint=hint, trials=8, seed=7)
    if not ok and "NotImplementedError" not in said and callable(student):
        for mistake, variant in _conv_variants().items():  # does it compute one of the usual mistakes?
            if _quietly(check_function, student, variant, _conv_mistake_inputs, hint="", trials=2)[0]:
                return verdict(False, mistake)
    print(said, end="")
    return ok


# ---- the backward pass of max pooling ------------------------------------------------------------------
def _pool_reference(grad_out, x, size, stride):
    layer = MaxPool2d(size, stride)
    layer(x)
    return layer.backward(grad_out)


def _pool_inputs(kind):
    """Inputs of one kind: distinct values in windows that tile or skip; ties (whole numbers 0-2, as after a
    ReLU); overlapping windows (stride < size)."""

    def make(rng):
        size = int(rng.integers(2, 4))
        stride = int(rng.integers(1, size)) if kind == "overlap" else int(rng.integers(size, size + 2))
        n, c = (int(v) for v in rng.integers(1, 3, size=2))
        h, w = (int(v) for v in rng.integers(size, 9, size=2))
        x = rng.integers(0, 3, (n, c, h, w)).astype(float) if kind == "ties" else rng.standard_normal((n, c, h, w))
        grad_out = rng.standard_normal((n, c, _size(h, size, stride), _size(w, size, stride)))
        return grad_out, x, size, stride

    return make


def _first_max_oracle(grad_out, x, size, stride):
    """Where each gradient must land for windows that tile the map (size == stride): on the window's
    maximum, found by comparing each entry with its window's maximum, not by nnlib."""
    n, c, h, w = grad_out.shape
    windows = x[:, :, :h * size, :w * size].reshape(n, c, h, size, w, size)
    is_max = windows == windows.max(axis=(3, 5), keepdims=True)
    dx = np.zeros_like(x, dtype=float)
    dx[:, :, :h * size, :w * size] = (is_max * grad_out[:, :, :, None, :, None]).reshape(n, c, h * size, w * size)
    return dx


def _distinct_tiling(rng):
    """Distinct values (no ties) in 2x2 windows that tile the map."""
    n, c, h, w = (int(v) for v in rng.integers(1, 4, size=4))
    x = rng.permutation(n * c * 4 * h * w).reshape(n, c, 2 * h, 2 * w).astype(float)
    return rng.uniform(1, 2, (n, c, h, w)), x, 2, 2


def max_pool_backward(student) -> bool:
    """Checks ``max_pool_backward(grad_out, x, size, stride) -> dx``: that each window's gradient lands
    on its maximum, then against ``nnlib.MaxPool2d``'s backward on fresh random inputs: distinct values,
    ties (the first maximum in row-major order takes it all, as in PyTorch) and overlapping windows."""
    if not callable(student):
        return verdict(False, "pass your function itself, e.g. checks.max_pool_backward(max_pool_backward).")
    ok, said = _quietly(check_function, student, _first_max_oracle, _distinct_tiling, trials=3, seed=3,
                        hint="on windows that tile the map, each output's gradient should land on its window's "
                             "largest entry and nowhere else.")
    if not ok:
        print(said, end="")
        return False
    hints = {"distinct": "compare with the forward pass: which entry of each window became the output?",
             "ties": "when several entries of a window share the maximum, only the first one (row by row) gets "
                     "the gradient, as in PyTorch; np.argmax returns the first.",
             "overlap": "when windows overlap (stride < size) an entry can be the maximum of several windows: "
                        "add their gradients (+=), do not overwrite."}
    for seed, (kind, hint) in enumerate(hints.items()):
        ok, said = _quietly(check_function, student, _pool_reference, _pool_inputs(kind), hint=hint, trials=4,
                            seed=seed)
        if not ok:
            print(said, end="")
            return False
    return verdict(True, "", "Each window's gradient lands on its first maximum, and overlapping windows add up: "
                             "it agrees with nnlib.MaxPool2d on 12 random inputs.")


# ---- questions -----------------------------------------------------------------------------------------
def _whole_number(answer):
    value = as_number(answer)
    return None if value is None or value != int(value) else int(value)


def _question(answer, right, wrong, hint, praise, what="a whole number"):
    """Right when ``answer`` equals ``right``; a known wrong answer gets its own hint from ``wrong``."""
    value = _whole_number(answer)
    if value is None:
        return verdict(False, f"answer with {what} (got {_describe(answer)}).")
    return verdict(value == right, wrong.get(value, hint), praise)


def output_size(answer) -> bool:
    """A 64x64 image, a 7x7 convolution with padding 3 and stride 2, then 3x3 max pooling with stride 2:
    the side of the result."""
    conv = _size(64, 7, 2, 3)
    return _question(answer, _size(conv, 3, 2),
                     {conv: "that is the size after the convolution; the pooling shrinks it again.",
                      conv // 2: "the pooling window is 3 wide, not 2: apply the formula with k = 3, s = 2, p = 0."},
                     "apply ⌊(n + 2p − k)/s⌋ + 1 twice: to the convolution, then to the pooling (no padding).",
                     "Two floors in a row: convolution, then pooling.")


def parameters(answer) -> bool:
    """Learnable parameters of a convolution from 3 to 16 channels with 5x5 kernels and biases."""
    c_in, c_out, k = 3, 16, 5
    return _question(answer, c_out * (c_in * k * k + 1),
                     {c_out * c_in * k * k: "you counted the weights; what else does each output channel learn?",
                      c_out * c_in * (k * k + 1): "that is the notes' c(hw + 1) per output channel; the per-channel"
                                                  " results are summed: how many biases does one output channel need?",
                      c_in * k * k + 1: "that is one output channel; the layer has 16."},
                     "count the weight tensor (C_out, C_in, kh, kw) and the bias (C_out,).",
                     "One kernel per pair of channels, one bias per output channel.")


def shift_kernel(kernel) -> bool:
    """A 3x3 kernel that, with padding 1, moves an image one pixel to the right: out[i, j] = x[i, j - 1]."""
    try:
        k = np.asarray(kernel, dtype=float)
    except (TypeError, ValueError):
        k = None
    if k is None or k.shape != (3, 3) or not np.all(np.isfinite(k)):
        return verdict(False, f"give a 3x3 array of numbers, e.g. np.zeros((3, 3)) with one entry changed "
                              f"(got {_describe(kernel)}).")
    x = np.random.default_rng(5).random((1, 1, 8, 8))
    out = conv2d(x, k[None, None], padding=1)[0, 0]
    right, left = np.zeros((8, 8)), np.zeros((8, 8))
    right[:, 1:], left[:, :-1] = x[0, 0, :, :-1], x[0, 0, :, 1:]
    if np.allclose(out, left):
        return verdict(False, "your kernel moves the image to the LEFT: a convolution layer does not flip its kernel, "
                              "out[i, j] = Σ k[a, b]·x[i + a − 1, j + b − 1].")
    return verdict(np.allclose(out, right), "only one entry is non-zero. Which input pixel must out[i, j] copy, and "
                                            "which kernel entry multiplies it?",
                   "Cross-correlation reads x[i + a − 1, j + b − 1] with weight k[a, b].")


def sparsity(answer) -> bool:
    """The fraction of non-zero entries in the matrix of a valid, stride-1 convolution of a 100x100
    image with a 3x3 kernel."""
    value = as_number(answer)
    if value is None:
        return verdict(False, f"answer with one number between 0 and 1 (got {_describe(answer)}).")
    n, k = 100, 3
    right = k * k / (n * n)  # every row: k·k non-zeros among n·n columns
    if np.isclose(value, 100 * right, rtol=1e-3):
        return verdict(False, "that looks like a percentage; give a fraction.")
    return verdict(bool(np.isclose(value, right, rtol=1e-3)),
                   "each output pixel (a row) reads k·k input pixels out of all n·n (the columns).",
                   "Each row has k² non-zeros out of n² columns, whatever the number of rows.")


def receptive_field(answer) -> bool:
    """Width of the receptive field after LeNet's C1 (5x5), S2 (2x2, stride 2), C3 (5x5), S4 (2x2, stride 2)."""
    layers = [(5, 1), (2, 2), (5, 1), (2, 2)]
    r, jump, naive = 1, 1, 1
    for k, s in layers:
        r, jump, naive = r + (k - 1) * jump, jump * s, naive + k - 1
    after_c3 = 1 + 4 + 1 + 4 * 2
    return _question(answer, r,
                     {naive: "each layer's k − 1 counts in pixels of the layer below it: after a stride-2 pooling, "
                             "one step is 2 input pixels.",
                      after_c3: "that is after C3; S4 widens it once more."},
                     "grow the field layer by layer: r += (k − 1) · (input pixels between neighbouring units of the "
                     "layer below), starting from r = 1.",
                     "Each layer adds (k − 1) steps of the layer below, and pooling makes the steps longer.")


def folded_parameters(answer) -> bool:
    """A 1x1 convolution 256 -> 64 then a 3x3 convolution 64 -> 64, biases, nothing between: the
    parameters of the one convolution they fold into."""
    folded = 64 * (256 * 9 + 1)
    stack = 64 * (256 + 1) + 64 * (64 * 9 + 1)
    return _question(answer, folded,
                     {stack: "that is the two-layer stack; the folded convolution maps 256 channels straight to 64 "
                             "with 3x3 kernels.",
                      64 * 256 * 9: "you counted the weights; the folded convolution has biases too."},
                     "the folded layer is one convolution from 256 to 64 channels with 3x3 kernels: count its weight "
                     "tensor and its bias.",
                     "The bottleneck is a cheaper way to write a convolution that is no more powerful.")
