"""Dense layers, activations, Dropout and Flatten, each a forward next to its backward.

Shapes use N for the batch. Every forward keeps its input's dtype (float32 stays float32);
integer inputs are promoted to float64.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from . import init
from ._validation import check_array, check_flag, check_in_range, check_positive, check_rng
from .functional import sigmoid  # noqa: F401  (nnlib.layers.sigmoid, where notebooks found it)
from .kernels import matmul
from .module import Module, Parameter


class Linear(Module):
    r"""Affine map :math:`y = x W^\top + b`.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    rng : Generator, int or None
        Seed for the initial weights (PyTorch's default: U(±1/√in_features) for W and b).

    Shape
    -----
    - Input: ``(N, in_features)``
    - Output: ``(N, out_features)``

    Attributes
    ----------
    weight : Parameter ``(out_features, in_features)``
    bias : Parameter ``(out_features,)`` or None
    """

    per_sample = True  # each row of the output depends on its own row of the input only

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None):
        check_positive(in_features, "in_features", "Linear", integer=True)
        check_positive(out_features, "out_features", "Linear", integer=True)
        check_flag(bias, "bias", "Linear")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.zeros((out_features, in_features)), "weight")
        self.bias = Parameter(np.zeros(out_features), "bias") if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        rng = check_rng(rng, "rng", "Linear")
        W, b = init.pytorch_default(self.weight.shape, rng, self.weight.dtype)
        self.weight.value = W
        self.weight.grad = np.zeros_like(W)
        if self.bias is not None:
            self.bias.value = b.astype(self.weight.dtype)
            self.bias.grad = np.zeros_like(self.bias.value)

    def forward(self, x):
        x = check_array(x, "x", "Linear.forward", shape=(None, self.in_features))
        self._x, self._out_shape = x, (x.shape[0], self.out_features)
        # kernels.matmul, not @: a product big enough for OpenBLAS to thread would change
        # its last bits with the number of BLAS threads (same seed, different weights)
        y = matmul(x, self.weight.value.T.astype(x.dtype, copy=False))
        if self.bias is not None:
            y += self.bias.value.astype(x.dtype, copy=False)
        return y

    def backward(self, grad_y):
        grad_y = self._check_grad(grad_y)  # before any .grad changes
        x = self._x
        # dL/dW = Σ_n grad_y[n]ᵀ x[n]; dL/db = Σ_n grad_y[n]; dL/dx = grad_y W
        self.weight.grad += matmul(grad_y.T, x).astype(self.weight.dtype, copy=False)
        if self.bias is not None:
            self.bias.grad += grad_y.sum(axis=0).astype(self.bias.dtype, copy=False)
        return matmul(grad_y, self.weight.value.astype(grad_y.dtype, copy=False))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Elementwise(Module):
    """An activation y = f(x) whose backward is grad_y * f'(x), from the cached x and y.

    Subclasses name their pair of :mod:`nnlib.functional` functions and, if any, the one
    hyperparameter both take (``param``: ``negative_slope``, ``alpha``), stored on the layer.
    """

    f = staticmethod(F.identity)
    df = staticmethod(F.identity_grad)
    param: str | None = None
    per_sample = True

    def _kwargs(self) -> dict:
        return {self.param: getattr(self, self.param)} if self.param else {}

    def extra_repr(self) -> str:
        return "".join(f"{k}={v}" for k, v in self._kwargs().items())

    def forward(self, x):
        x = check_array(x, "x", f"{type(self).__name__}.forward")
        self._x, self._out_shape = x, x.shape
        self._y = self.f(x, **self._kwargs())
        return self._y

    def backward(self, grad_y):
        grad_y = self._check_grad(grad_y)
        return grad_y * self.df(self._x, self._y, **self._kwargs())


class Sigmoid(_Elementwise):
    r"""σ(x) = 1 / (1 + e^{-x});  σ'(x) = σ(x)(1 - σ(x)). Saturates for large \|x\|.

    Shape: any, output same as input.
    """

    f, df = staticmethod(F.sigmoid), staticmethod(F.sigmoid_grad)


class Tanh(_Elementwise):
    """tanh(x);  tanh'(x) = 1 - tanh²(x). Shape: any, output same as input."""

    f, df = staticmethod(F.tanh), staticmethod(F.tanh_grad)


class ReLU(_Elementwise):
    """max(0, x); derivative 1 where x > 0, else 0 (we take 0 at x = 0, as PyTorch does).

    Shape: any, output same as input.
    """

    f, df = staticmethod(F.relu), staticmethod(F.relu_grad)
    _fused = False  # True after a Sequential ran this ReLU inside the max-pool after it

    def forward(self, x):
        self._fused = False
        return super().forward(x)

    def backward(self, grad_y):
        grad_y = self._check_grad(grad_y)
        if self._fused:  # the max-pool's backward has applied this ReLU's mask already
            return grad_y
        return grad_y * (self._x > 0)  # one pass: bool × float keeps the float dtype


class LeakyReLU(_Elementwise):
    """x for x > 0, negative_slope·x otherwise: dead units still get a small gradient.

    Shape: any, output same as input.
    """

    f, df, param = staticmethod(F.leaky_relu), staticmethod(F.leaky_relu_grad), "negative_slope"

    def __init__(self, negative_slope: float = 0.01):
        check_in_range(negative_slope, "negative_slope", "LeakyReLU", 0.0, 1.0, hi_open=False)
        self.negative_slope = negative_slope


class ELU(_Elementwise):
    """x for x > 0, alpha·(e^x - 1) otherwise; derivative 1 or y + alpha.

    Shape: any, output same as input.
    """

    f, df, param = staticmethod(F.elu), staticmethod(F.elu_grad), "alpha"

    def __init__(self, alpha: float = 1.0):
        check_positive(alpha, "alpha", "ELU", allow_zero=True)
        self.alpha = alpha


class Identity(Module):
    """y = x. Shape: any, output same as input."""

    per_sample = True

    def forward(self, x):
        x = check_array(x, "x", "Identity.forward")
        self._out_shape = x.shape
        return x

    def backward(self, grad_y):
        return self._check_grad(grad_y)


#: the layer of each activation in :data:`nnlib.functional.ACTIVATIONS`, by the same name
ACTIVATION_LAYERS = {"relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "sigmoid": Sigmoid, "tanh": Tanh,
                     "identity": Identity}


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale the
    survivors by 1/(1-p), so the expected activation is unchanged and eval needs no rescaling.

    Parameters
    ----------
    p : float in [0, 1)
    rng : Generator, int or None — seed of the masks, for repeatable runs.

    Shape: any, output same as input.
    """

    def __init__(self, p: float = 0.5, rng=None):
        check_in_range(p, "p", "Dropout", 0.0, 1.0)
        self.p = p
        self.rng = check_rng(rng, "rng", "Dropout")

    def forward(self, x):
        x = check_array(x, "x", "Dropout.forward")
        self._out_shape = x.shape
        if not self.training or self.p == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._mask = keep.astype(x.dtype) / np.asarray(1 - self.p, dtype=x.dtype)
        with np.errstate(invalid="ignore"):  # a dropped ±inf becomes NaN, silently, as in PyTorch
            return x * self._mask

    def backward(self, grad_y):
        grad_y = self._check_grad(grad_y)
        return grad_y if self._mask is None else grad_y * self._mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1·d2·...). Shape: Input ``(N, *)``, output ``(N, prod(*))``."""

    per_sample = True

    def forward(self, x):
        x = check_array(x, "x", "Flatten.forward", min_ndim=1)
        self._shape = x.shape
        # prod rather than -1: an empty batch (0, ...) has no size to infer from
        self._out_shape = (x.shape[0], int(np.prod(x.shape[1:])))
        return x.reshape(self._out_shape)

    def backward(self, grad_y):
        return self._check_grad(grad_y).reshape(self._shape)
