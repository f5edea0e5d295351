"""Loss functions: ``value = loss(pred, target)`` is a float (mean over the batch) and
``loss.backward()`` returns d value / d pred, ready to feed into ``model.backward``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_array, check_labels
from .layers import sigmoid


class Loss:
    """Base class: validates shapes, caches what backward needs."""

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    def _pred_target(self, pred, target, owner):
        pred = check_array(pred, "pred", owner, finite=False)
        target = check_array(target, "target", owner)
        if target.shape != pred.shape:
            if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1 and target.shape[0] == pred.shape[0]:
                target = target.reshape(-1, 1)  # y of shape (N,) against scores (N, 1)
            else:
                raise ValueError(
                    f"{owner}: argument 'target' expected shape {tuple(pred.shape)} (same as pred), "
                    f"got {tuple(target.shape)}"
                )
        return pred, target.astype(pred.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """mean((pred - target)²) over all elements. Shape: pred and target ``(N, *)``, equal."""

    def forward(self, pred, target) -> float:
        pred, target = self._pred_target(pred, target, "MSELoss")
        self._diff = pred - target
        return float(np.mean(self._diff**2))

    def backward(self):
        return 2 * self._diff / self._diff.size


class BCELoss(Loss):
    """Binary cross-entropy on probabilities p in (0, 1):
    -mean(y log p + (1-y) log(1-p)). p is clipped to [eps, 1-eps] so log never sees 0.

    Shape: pred and target ``(N,)`` or ``(N, 1)``; target in {0, 1} (or [0, 1]).
    """

    def __init__(self, eps: float = 1e-12):
        self.eps = eps

    def forward(self, pred, target) -> float:
        p, y = self._pred_target(pred, target, "BCELoss")
        if np.any((p < 0) | (p > 1)):
            raise ValueError(
                "BCELoss: argument 'pred' must hold probabilities in [0, 1] "
                f"(got values from {p.min():.4g} to {p.max():.4g}); for raw scores use BCEWithLogitsLoss"
            )
        self._p = np.clip(p, self.eps, 1 - self.eps)
        self._y = y
        return float(-np.mean(y * np.log(self._p) + (1 - y) * np.log1p(-self._p)))

    def backward(self):
        p, y = self._p, self._y
        return (p - y) / (p * (1 - p)) / p.size


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z, computed as max(z,0) - z·y + log(1 + e^{-|z|}),
    which never overflows; its gradient is simply (σ(z) - y) / N.

    Shape: pred and target ``(N,)`` or ``(N, 1)``.
    """

    def forward(self, pred, target) -> float:
        z, y = self._pred_target(pred, target, "BCEWithLogitsLoss")
        self._z, self._y = z, y
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def backward(self):
        return (sigmoid(self._z) - self._y) / self._z.size


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, shifted by the max so exp never overflows."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(z)))


class CrossEntropyLoss(Loss):
    """Softmax + negative log-likelihood on logits: -mean_n log softmax(z_n)[y_n].
    Stable for logits of any size (log-sum-exp with the max subtracted).
    Gradient: (softmax(z) - onehot(y)) / N.

    Shape: pred ``(N, K)`` logits, target ``(N,)`` integer labels in [0, K).
    """

    def forward(self, pred, target) -> float:
        z = check_array(pred, "pred", "CrossEntropyLoss", ndim=2)
        y = check_labels(target, "target", "CrossEntropyLoss", n=z.shape[0], n_classes=z.shape[1])
        logp = log_softmax(z)
        self._logp, self._y = logp, y
        return float(-np.mean(logp[np.arange(len(y)), y]))

    def backward(self):
        grad = np.exp(self._logp)
        grad[np.arange(len(self._y)), self._y] -= 1
        return grad / len(self._y)


class HingeLoss(Loss):
    """mean(max(0, 1 - y·s)) for labels y in {-1, +1} and scores s: zero once a point is
    on the right side with margin 1. Subgradient: -y/N where the margin is violated.

    Shape: pred and target ``(N,)`` or ``(N, 1)``.
    """

    def forward(self, pred, target) -> float:
        s, y = self._pred_target(pred, target, "HingeLoss")
        if not np.all(np.isin(y, (-1, 1))):
            raise ValueError(
                "HingeLoss: argument 'target' expected labels in {-1, +1}, "
                f"got values {np.unique(y)[:5].tolist()}"
            )
        self._y = y
        self._active = (1 - y * s) > 0
        return float(np.mean(np.maximum(0, 1 - y * s)))

    def backward(self):
        return np.where(self._active, -self._y, 0).astype(self._y.dtype) / self._y.size
