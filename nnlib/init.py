"""Weight initializers.

Why it matters: with n inputs, a unit's pre-activation is a sum of n terms, so its variance
grows like n·Var(w). Xavier/Glorot keeps the variance of activations and of gradients about
constant through tanh/sigmoid layers (Var(w) = 2/(fan_in + fan_out)); He/Kaiming does the
same for ReLU, which zeroes half its inputs (Var(w) = 2/fan_in).

Every function takes ``rng``: a ``numpy.random.Generator``, an int seed, or None (fresh
entropy), so every experiment can be repeated exactly.
"""

from __future__ import annotations

import math

import numpy as np


def as_rng(rng=None) -> np.random.Generator:
    """Accept a Generator, a seed or None; always hand back a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a Linear (out, in) or Conv (out, in, kh, kw) weight."""
    if len(shape) < 2:
        raise ValueError(f"fans: argument 'shape' expected at least 2 dimensions, got {tuple(shape)}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, dtype=np.float64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def small_normal(shape, std: float = 0.01, rng=None, dtype=np.float64) -> np.ndarray:
    """N(0, std²): the classic 'small random numbers', fine for shallow nets only."""
    return (as_rng(rng).standard_normal(shape) * std).astype(dtype)


def xavier_uniform(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return as_rng(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_normal(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return (as_rng(rng).standard_normal(shape) * std).astype(dtype)


def kaiming_uniform(shape, a: float = 0.0, rng=None, dtype=np.float64) -> np.ndarray:
    """He-uniform for a leaky ReLU of negative slope ``a`` (a=0: plain ReLU)."""
    fan_in, _ = fans(shape)
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in)
    return as_rng(rng).uniform(-bound, bound, shape).astype(dtype)


def kaiming_normal(shape, a: float = 0.0, rng=None, dtype=np.float64) -> np.ndarray:
    fan_in, _ = fans(shape)
    std = math.sqrt(2.0 / (1 + a * a)) / math.sqrt(fan_in)
    return (as_rng(rng).standard_normal(shape) * std).astype(dtype)


def pytorch_default(weight_shape, rng=None, dtype=np.float64, connections=None):
    """PyTorch's Linear/Conv default: W from kaiming_uniform(a=√5), i.e. U(±1/√fan_in), and
    the bias from U(±1/√fan_in) too. Returns (W, b).

    Parameters
    ----------
    weight_shape : tuple, ``(out, in)`` or ``(out, in, kh, kw)``
    rng : Generator, int or None
    dtype : numpy float dtype of both arrays
    connections : boolean array ``(out, in)`` or None
        A connection table (LeNet-5's C3): each output channel's fan_in counts only its
        connected inputs (times kh·kw), so its bound is its own; absent weights are zero.

    Examples
    --------
    >>> W, b = pytorch_default((3, 4), rng=0)
    >>> bool(np.abs(W).max() <= 0.5), b.shape  # 1/√4
    (True, (3,))
    """
    rng = as_rng(rng)
    fan_in, _ = fans(weight_shape)
    if connections is None:
        W = kaiming_uniform(weight_shape, a=math.sqrt(5), rng=rng, dtype=dtype)
    else:
        # one fan_in, hence one bound, per output channel
        fan_in = np.asarray(connections).sum(axis=1) * (fan_in // weight_shape[1])
        fan_in = fan_in.reshape(-1, *([1] * (len(weight_shape) - 1)))
        W_bound = math.sqrt(2.0 / (1 + 5)) * np.sqrt(3.0 / fan_in)  # kaiming's, with a=√5
        W = rng.uniform(-W_bound, W_bound, weight_shape).astype(dtype)
        W = apply_connections(W, connections)
        fan_in = fan_in.reshape(-1)
    bound = 1.0 / np.sqrt(fan_in)
    b = rng.uniform(-bound, bound, weight_shape[0]).astype(dtype)
    return W, b


def apply_connections(W: np.ndarray, connections) -> np.ndarray:
    """Zero the weights of absent connections: W (out, in, ...) times the (out, in) table."""
    if connections is None:
        return W
    table = np.asarray(connections, dtype=bool)
    return W * table.reshape(table.shape + (1,) * (W.ndim - 2))


SCHEMES = {
    "default": None,  # the layer's reset_parameters, i.e. pytorch_default
    "zeros": zeros,
    "small": small_normal,
    "xavier": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": kaiming_normal,
    "kaiming": kaiming_normal,
    "kaiming_uniform": kaiming_uniform,
}


def initialize(module, scheme: str = "default", rng=None, **kwargs):
    """Re-initialise every Linear/Conv weight of ``module`` with a named scheme
    (``'default'``, ``'zeros'``, ``'small'``, ``'xavier'``, ``'he'``, ...); biases become zero
    except under 'default'. A layer's connection table (``connections``) is kept: absent
    weights stay zero. Returns the module, so it chains."""
    if scheme not in SCHEMES:
        raise ValueError(
            f"initialize: argument 'scheme' must be one of {sorted(SCHEMES)}, got {scheme!r}"
        )
    rng = as_rng(rng)
    for m in module.modules():
        W = getattr(m, "weight", None)
        if W is None or W.value.ndim < 2:  # a normalisation layer's per-channel scale is not a weight matrix
            continue
        if scheme == "default":
            m.reset_parameters(rng)
            continue
        if scheme == "zeros":
            W.value = zeros(W.shape, W.dtype)
        else:
            W.value = SCHEMES[scheme](W.shape, rng=rng, dtype=W.dtype, **kwargs)
        W.value = apply_connections(W.value, getattr(m, "connections", None))
        W.grad = np.zeros_like(W.value)
        b = getattr(m, "bias", None)
        if b is not None:
            b.value = np.zeros_like(b.value)
            b.grad = np.zeros_like(b.value)
    return module
