"""Activation functions, their derivatives, softmax and log-softmax: the maths, once.

The layers (:mod:`nnlib.layers`), the losses (:mod:`nnlib.losses`) and the notebooks'
pictures all call these, so a formula is written in one place. Every function keeps a
float input's dtype (float32 stays float32); other inputs become float64.

Each derivative takes ``(x, y)`` with ``y = f(x)`` already computed, because some read
better from the output (σ' = σ(1 - σ), tanh' = 1 - tanh²) and a layer has both cached.
At a kink the derivative is the right-hand one PyTorch uses at 0: ReLU'(0) = 0.

Examples
--------
>>> f, df = ACTIVATIONS["tanh"]
>>> x = np.array([0.0, 1.0]); y = f(x)
>>> df(x, y).round(4)
array([1.  , 0.42])
"""

from __future__ import annotations

import numpy as np


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def sigmoid(x):
    """σ(x) = 1/(1+e^{-x}) without overflow: for x < 0 use e^{x}/(1+e^{x})."""
    x = _float(x)
    e = np.exp(-np.abs(x))  # never overflows: the exponent is <= 0
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_grad(x, y):
    """σ'(x) = σ(x)(1 - σ(x)), from y = σ(x)."""
    return y * (1 - y)


def tanh(x):
    return np.tanh(_float(x))


def tanh_grad(x, y):
    """tanh'(x) = 1 - tanh²(x), from y = tanh(x)."""
    return 1 - y * y


def relu(x):
    return np.maximum(_float(x), 0)


def relu_grad(x, y):
    """1 where x > 0, else 0 (0 at the kink, as in PyTorch)."""
    x = _float(x)
    return (x > 0).astype(x.dtype)


def leaky_relu(x, negative_slope: float = 0.01):
    x = _float(x)
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def leaky_relu_grad(x, y, negative_slope: float = 0.01):
    x = _float(x)
    return np.where(x > 0, 1.0, negative_slope).astype(x.dtype)


def elu(x, alpha: float = 1.0):
    """x for x > 0, alpha·(e^x - 1) otherwise."""
    x = _float(x)
    # expm1 of min(x, 0): accurate near 0 and never overflows for large positive x
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def elu_grad(x, y, alpha: float = 1.0):
    """1 for x > 0, else alpha·e^x = y + alpha."""
    x = _float(x)
    return np.where(x > 0, 1.0, y + alpha).astype(x.dtype)


def identity(x):
    return _float(x)


def identity_grad(x, y):
    return np.ones_like(_float(x))


#: name -> (f, df): ``y = f(x)`` and ``df(x, y)``, the derivative at x. Leaky ReLU's
#: ``negative_slope`` and ELU's ``alpha`` are keyword arguments of both.
ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "identity": (identity, identity_grad),
}


def activation(name: str):
    """``(f, df)`` of a named activation; a ValueError lists the names when it is unknown."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: argument 'name' must be one of {list(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def log_softmax(z, axis: int = -1):
    """log softmax along ``axis``, shifted by the max so exp never overflows."""
    z = _float(z)
    if z.shape[axis] == 0:
        return z.copy()
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(z, axis: int = -1):
    """exp(z) / Σ exp(z) along ``axis`` (each row sums to 1), stable for huge logits."""
    return np.exp(log_softmax(z, axis))
