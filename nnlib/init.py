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


def pytorch_default(weight_shape, rng=None, dtype=np.float64):
    """PyTorch's Linear/Conv default: kaiming_uniform(a=√5) for W, i.e. U(±1/√fan_in),
    and the bias from the same range. Returns (W, b)."""
    rng = as_rng(rng)
    fan_in, _ = fans(weight_shape)
    bound = 1.0 / math.sqrt(fan_in)
    W = kaiming_uniform(weight_shape, a=math.sqrt(5), rng=rng, dtype=dtype)
    b = rng.uniform(-bound, bound, weight_shape[0]).astype(dtype)
    return W, b


SCHEMES = {
    "default": None,  # pytorch_default
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
    except under 'default'. Returns the module, so it chains."""
    if scheme not in SCHEMES:
        raise ValueError(
            f"initialize: argument 'scheme' must be one of {sorted(SCHEMES)}, got {scheme!r}"
        )
    rng = as_rng(rng)
    for m in module.modules():
        W = getattr(m, "weight", None)
        if W is None:
            continue
        b = getattr(m, "bias", None)
        if scheme == "default":
            m.reset_parameters(rng)
            continue
        fn = SCHEMES[scheme]
        if scheme == "zeros":
            W.value = zeros(W.shape, W.dtype)
        else:
            W.value = fn(W.shape, rng=rng, dtype=W.dtype, **kwargs)
        W.grad = np.zeros_like(W.value)
        if b is not None:
            b.value = np.zeros_like(b.value)
            b.grad = np.zeros_like(b.value)
        mask = getattr(m, "mask", None)  # keep absent connections absent
        if mask is not None:
            W.value *= mask
    return module
