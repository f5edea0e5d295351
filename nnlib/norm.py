r"""Batch normalization (Ioffe & Szegedy, 2015): every channel rescaled to mean 0, variance 1.

In training mode each channel c is normalised with the statistics of the current batch,

.. math:: \hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta,

where μ_B and σ²_B (the *biased* variance, divided by m) are taken over the m = N (or N·L,
or N·H·W) values of that channel in the batch. Running averages of μ_B and of the
*unbiased* variance (divided by m - 1) are kept on the side, with PyTorch's momentum rule

.. math:: \text{running} \leftarrow (1 - \text{momentum})\cdot\text{running} + \text{momentum}\cdot\text{batch},

and eval mode normalises with them instead, so a prediction no longer depends on which
other examples share its batch. The names, arguments and numbers are PyTorch's
(``torch.nn.BatchNorm1d`` / ``BatchNorm2d``); the tests hold them equal to it.

The backward pass
-----------------
With ĝ = γ·g (g = dL/dy) and σ = √(σ²_B + ε), the chain rule through the two batch
statistics gives (sums over the m values of a channel)::

    dL/dσ²  = Σ ĝ·(x - μ)·(-1/2)·σ⁻³
    dL/dμ   = Σ -ĝ/σ  +  dL/dσ² · Σ -2(x - μ)/m          (the second sum is 0)
    dL/dx   = ĝ/σ  +  dL/dσ² · 2(x - μ)/m  +  dL/dμ / m

:func:`batch_norm_backward_reference` computes exactly these three lines. Substituting
x - μ = σ·x̂ collapses them into the form the layer uses::

    dL/dx = (γ/σ) · (g - mean(g) - x̂ · mean(g·x̂))

i.e. the upstream gradient with its mean and its component along x̂ removed: a shift of
all inputs, or a scaling about their mean, does not change x̂, so it gets no gradient.
In both modes dL/dγ = Σ g·x̂ and dL/dβ = Σ g; in eval mode μ and σ are constants and
dL/dx = g·γ/σ.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_array, check_in_range, check_positive
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm_backward_reference"]


def batch_norm_backward_reference(grad_y, x, weight=None, eps: float = 1e-5):
    """Training-mode gradient of batch normalization, step by step through μ and σ².

    The readable reference for :class:`BatchNorm1d` / :class:`BatchNorm2d`: the chain rule
    written out node by node (see the module docstring); the layers use the collapsed
    one-line form, and a test holds the two equal.

    Parameters
    ----------
    grad_y : array, dL/dy, shaped like x
    x : array ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``, the forward input
    weight : array ``(C,)`` or None (γ; None means γ = 1, i.e. ``affine=False``)
    eps : float, default 1e-5

    Returns
    -------
    (grad_x, grad_weight, grad_bias) : arrays shaped like x, ``(C,)`` and ``(C,)``

    Shape
    -----
    - x, grad_y: ``(N, C, *)``; statistics are per channel C, over N and every trailing axis.

    Examples
    --------
    >>> x = np.array([[1.0], [2.0], [4.0]])
    >>> gx, gw, gb = batch_norm_backward_reference(np.ones_like(x), x)
    >>> np.allclose(gx, 0), gb
    (True, array([3.]))
    """
    owner = "batch_norm_backward_reference"
    x = check_array(x, "x", owner, min_ndim=2)
    grad_y = check_array(grad_y, "grad_y", owner, shape=x.shape)
    axes, shape = _channel_axes(x)
    m = x.size // x.shape[1]
    gamma = np.ones(x.shape[1]) if weight is None else check_array(weight, "weight", owner, shape=(x.shape[1],))
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    sigma = np.sqrt(var + eps)
    x_hat = (x - mu) / sigma
    g_hat = grad_y * gamma.reshape(shape)  # dL/dx̂
    total = lambda a: np.sum(a, axis=axes, keepdims=True)  # noqa: E731  (Σ over a channel's m values)
    d_var = total(g_hat * (x - mu)) * -0.5 * sigma**-3
    d_mu = total(-g_hat / sigma) + d_var * total(-2 * (x - mu)) / m
    grad_x = g_hat / sigma + d_var * 2 * (x - mu) / m + d_mu / m
    return grad_x, np.sum(grad_y * x_hat, axis=axes), np.sum(grad_y, axis=axes)


def _channel_axes(x):
    """Axes to reduce over (all but the channel axis 1) and the shape that broadcasts (C,)."""
    axes = (0,) + tuple(range(2, x.ndim))
    return axes, (1, x.shape[1]) + (1,) * (x.ndim - 2)


class _BatchNorm(Module):
    """Shared body of BatchNorm1d and BatchNorm2d; subclasses set the accepted ranks."""

    _ndims: tuple = ()
    _layout: str = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True):
        owner = type(self).__name__
        check_positive(num_features, "num_features", owner, integer=True)
        check_positive(eps, "eps", owner)
        if momentum is not None:
            check_in_range(momentum, "momentum", owner, 0.0, 1.0, hi_open=False)
        if not isinstance(affine, (bool, np.bool_)):
            raise ValueError(f"{owner}: argument 'affine' must be True or False, got {affine!r}")
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, bool(affine)
        self.weight = Parameter(np.ones(num_features), "weight") if affine else None
        self.bias = Parameter(np.zeros(num_features), "bias") if affine else None
        self.register_buffer("running_mean", np.zeros(num_features))
        self.register_buffer("running_var", np.ones(num_features))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache = None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen (PyTorch's starting point)."""
        self.running_mean = np.zeros_like(self.running_mean)
        self.running_var = np.ones_like(self.running_var)
        self.num_batches_tracked = np.array(0, dtype=np.int64)

    def reset_parameters(self, rng=None) -> None:
        """γ = 1, β = 0 (``rng`` is accepted for symmetry with the other layers and unused)."""
        self.reset_running_stats()
        if self.affine:
            for p, fill in ((self.weight, 1.0), (self.bias, 0.0)):
                p.value = np.full(self.num_features, fill, dtype=p.dtype)
                p.grad = np.zeros_like(p.value)

    def _check_input(self, x) -> np.ndarray:
        owner = f"{type(self).__name__}.forward"
        x = check_array(x, "x", owner)
        if x.ndim not in self._ndims:
            raise ValueError(
                f"{owner}: argument 'x' expected a {' or '.join(f'{d}-D' for d in self._ndims)} array "
                f"{self._layout}, got {x.ndim}-D with shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{owner}: argument 'x' expected {self.num_features} channels (num_features) on axis 1, "
                f"got {x.shape[1]} in shape {tuple(x.shape)}"
            )
        if self.training and x.size // x.shape[1] <= 1:
            raise ValueError(
                f"{owner}: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(x.shape)}; a batch of one has no variance to normalise by. Use a batch of "
                "2 or more, or call .eval() to use the running statistics"
            )
        return x

    def forward(self, x):
        x = self._check_input(x)
        axes, shape = _channel_axes(x)
        if self.training:
            mean = x.mean(axis=axes, keepdims=True)
            x_hat = x - mean
            var = np.mean(x_hat * x_hat, axis=axes)  # divides by m: the biased variance
            self._update_running_stats(mean.reshape(-1), var, m=x.size // x.shape[1])
        else:
            var = self.running_var.astype(x.dtype)
            x_hat = x - self.running_mean.astype(x.dtype).reshape(shape)
        inv_std = 1.0 / np.sqrt(var + np.asarray(self.eps, dtype=x.dtype))
        x_hat *= inv_std.reshape(shape)
        self._cache = (x_hat, inv_std, self.training)
        if not self.affine:
            return x_hat
        return x_hat * self.weight.value.astype(x.dtype).reshape(shape) + self.bias.value.astype(x.dtype).reshape(shape)

    def _update_running_stats(self, mean, var, m: int) -> None:
        self.num_batches_tracked = self.num_batches_tracked + 1
        # momentum=None: a cumulative average over every batch seen, as in PyTorch
        f = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (m / (m - 1))
        self.running_mean = ((1 - f) * self.running_mean + f * mean).astype(self.running_mean.dtype)
        self.running_var = ((1 - f) * self.running_var + f * unbiased).astype(self.running_var.dtype)

    def backward(self, grad_y):
        owner = f"{type(self).__name__}.backward"
        if self._cache is None:
            raise RuntimeError(f"{owner}: call forward() before backward()")
        x_hat, inv_std, training = self._cache
        grad_y = check_array(grad_y, "grad_y", owner, shape=x_hat.shape)
        axes, shape = _channel_axes(x_hat)
        sum_g, sum_gx = np.sum(grad_y, axis=axes), np.sum(grad_y * x_hat, axis=axes)  # dβ, dγ
        scale = inv_std  # dy/dx̂ · dx̂/dx for fixed statistics: γ/σ per channel
        if self.affine:
            self.weight.grad += sum_gx.astype(self.weight.dtype)
            self.bias.grad += sum_g.astype(self.bias.dtype)
            scale = self.weight.value.astype(x_hat.dtype) * inv_std
        if not training:  # μ and σ are constants of the running statistics
            return grad_y * scale.reshape(shape)
        # γ/σ · (g - mean(g) - x̂·mean(g·x̂)): the module docstring derives it
        m = x_hat.size // x_hat.shape[1]
        grad_x = x_hat * (sum_gx / -m).reshape(shape)
        grad_x += grad_y
        grad_x -= (sum_g / m).reshape(shape)
        grad_x *= scale.reshape(shape)
        return grad_x

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


_DOC = """{summary}

    Parameters
    ----------
    num_features : int
        C, the number of channels (features) on axis 1 of the input.
    eps : float, default 1e-5
        Added to the variance before the square root, so a constant channel does not divide by 0.
    momentum : float in [0, 1] or None, default 0.1
        Weight of the newest batch in the running statistics:
        ``running = (1 - momentum)·running + momentum·batch``. None: a plain cumulative
        average over every batch seen (PyTorch's meaning).
    affine : bool, default True
        Learn a per-channel scale γ (``weight``) and shift β (``bias``) after normalising.

    Shape
    -----
    {shape}

    Attributes
    ----------
    weight : Parameter ``(C,)`` or None, γ, initialised to 1 (None when ``affine=False``)
    bias : Parameter ``(C,)`` or None, β, initialised to 0
    running_mean : ndarray ``(C,)``, buffer (saved in the state dict), starts at 0
    running_var : ndarray ``(C,)``, buffer of the *unbiased* batch variances, starts at 1
    num_batches_tracked : 0-d int64 array, buffer, batches seen in training mode

    Raises
    ------
    ValueError from forward, on a wrong rank, a channel count other than ``num_features``,
    or, in training mode, one value per channel (e.g. a batch of one: it has no variance).

    Examples
    --------
{examples}
    """


class BatchNorm1d(_BatchNorm):
    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    _ndims = (4,)
    _layout = "(N, C, H, W)"


BatchNorm1d.__doc__ = _DOC.format(
    summary="Batch normalization of a batch of feature vectors ``(N, C)`` (or sequences ``(N, C, L)``).",
    shape="- Input: ``(N, C)`` or ``(N, C, L)``; statistics per feature C over N (and L)\n"
          "    - Output: same shape as the input",
    examples="""    >>> bn = BatchNorm1d(3)
    >>> y = bn(np.array([[1.0, 10.0, 0.0], [3.0, 30.0, 0.0]]))
    >>> y.round(3)
    array([[-1., -1.,  0.],
           [ 1.,  1.,  0.]])
    >>> bn.running_mean, bn.running_var
    (array([0.2, 2. , 0. ]), array([ 1.1, 20.9,  0.9]))""",
)

BatchNorm2d.__doc__ = _DOC.format(
    summary="Batch normalization of images: one mean and variance per channel, over N, H and W.",
    shape="- Input: ``(N, C, H, W)``; statistics per channel C over N·H·W values\n"
          "    - Output: ``(N, C, H, W)``, same shape",
    examples="""    >>> bn = BatchNorm2d(6)
    >>> y = bn(np.random.default_rng(0).normal(5.0, 3.0, (8, 6, 4, 4)))
    >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0)), bool(np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3))
    (True, True)""",
)
