"""Optimizers with PyTorch's update rules, learning-rate schedules and gradient clipping.

Usage, as in PyTorch::

    opt = Adam(model.parameters(), lr=1e-3)
    opt.zero_grad(); loss(model(x), y); model.backward(loss.backward()); opt.step()

Each optimizer keeps its per-parameter state (velocity, squared-gradient average, ...) in
arrays shaped like the parameter, so ``step()`` is a few vectorised lines per parameter.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._validation import check_flag, check_in_range, check_positive
from .callbacks import Callback
from .module import Module, Parameter


def _parameter_list(params, owner: str, *, single_ok: bool = False) -> list[Parameter]:
    """``params`` as a list of distinct Parameters, or an error that says what to pass."""
    if isinstance(params, Parameter) and single_ok:
        return [params]
    if isinstance(params, (Module, Parameter)) or not hasattr(params, "__iter__"):
        hint = " (pass model.parameters())" if isinstance(params, Module) else ""
        raise TypeError(
            f"{owner}: argument 'params' must be an iterable of Parameters{hint}, got {type(params).__name__}"
        )
    params = list(params)
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"{owner}: argument 'params'[{i}] must be a Parameter, got {type(p).__name__}")
        if id(p) in seen:
            # PyTorch warns that this "will cause an error" in future: it would be stepped twice
            raise ValueError(f"{owner}: argument 'params'[{i}] appears twice ({p!r}); each Parameter once")
        seen.add(id(p))
    return params


class Optimizer:
    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        owner = type(self).__name__
        params = _parameter_list(params, owner)
        if not params:
            raise ValueError(f"{owner}: argument 'params' is empty; expected at least one Parameter")
        check_positive(lr, "lr", owner)
        check_positive(weight_decay, "weight_decay", owner, allow_zero=True)
        self.params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0  # steps taken

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)

    def _grad(self, p: Parameter) -> np.ndarray:
        """The gradient used by the rule: L2 weight decay adds wd·p (PyTorch's coupled form)."""
        return p.grad + self.weight_decay * p.value if self.weight_decay else p.grad

    def step(self) -> None:
        self.t += 1
        for i, p in enumerate(self.params):
            self._update(i, p, self._grad(p))

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr:g}{self._extra()})"

    def _extra(self) -> str:
        return f", weight_decay={self.weight_decay:g}" if self.weight_decay else ""


class SGD(Optimizer):
    """Stochastic gradient descent with optional heavy-ball momentum:
    ``v = momentum·v + g;  p -= lr·v`` (``p -= lr·g`` when momentum is 0).
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        check_in_range(momentum, "momentum", "SGD", 0.0, 1.0)
        self.momentum = float(momentum)
        self.v = [np.zeros_like(p.value) for p in self.params]

    def _update(self, i, p, g):
        if self.momentum == 0:
            p.value -= self.lr * g
            return
        # PyTorch starts the buffer at the first gradient, which equals 0·v + g with v = 0
        self.v[i] = self.momentum * self.v[i] + g
        p.value -= self.lr * self.v[i]

    def _extra(self):
        return f", momentum={self.momentum:g}" + super()._extra()


class RMSProp(Optimizer):
    """Divide each coordinate's step by a running RMS of its gradients:
    ``s = alpha·s + (1-alpha)·g²;  p -= lr·g / (sqrt(s) + eps)``.
    """

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        check_in_range(alpha, "alpha", "RMSProp", 0.0, 1.0)
        check_positive(eps, "eps", "RMSProp", allow_zero=True)
        self.alpha, self.eps = float(alpha), float(eps)
        self.s = [np.zeros_like(p.value) for p in self.params]

    def _update(self, i, p, g):
        self.s[i] = self.alpha * self.s[i] + (1 - self.alpha) * g * g
        p.value -= self.lr * g / (np.sqrt(self.s[i]) + self.eps)

    def _extra(self):
        return f", alpha={self.alpha:g}, eps={self.eps:g}" + super()._extra()


# PyTorch spells it RMSprop
RMSprop = RMSProp


class Adam(Optimizer):
    """Momentum (first moment m) and RMSProp (second moment v) with bias correction:
    ``m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;  m̂ = m/(1-b1^t);  v̂ = v/(1-b2^t);
    p -= lr·m̂ / (sqrt(v̂) + eps)``. The correction undoes the pull towards the zero start.
    """

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: argument 'betas' must be a pair (beta1, beta2), got {betas!r}") from None
        check_in_range(b1, "betas[0]", "Adam", 0.0, 1.0)
        check_in_range(b2, "betas[1]", "Adam", 0.0, 1.0)
        check_positive(eps, "eps", "Adam", allow_zero=True)
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def _update(self, i, p, g):
        b1, b2 = self.betas
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
        m_hat = self.m[i] / (1 - b1**self.t)
        v_hat = self.v[i] / (1 - b2**self.t)
        p.value -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype, copy=False)

    def _extra(self):
        return f", betas={self.betas}, eps={self.eps:g}" + super()._extra()


# ---- learning-rate schedules (call .step() once per epoch, as in PyTorch) ------------------
class LRScheduler(Callback):
    """Sets ``optimizer.lr`` from the epoch count. Call ``step()`` after each epoch, as in
    PyTorch, or hand the schedule to ``fit(..., callbacks=[schedule])``, which steps it at
    every epoch's end."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: argument 'optimizer' must be an nnlib optimizer, "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def on_train_begin(self, state) -> None:
        if state.optimizer is not self.optimizer:
            raise ValueError(
                f"{type(self).__name__}: this schedule drives another optimizer than the one fit() steps; "
                "build it on the optimizer passed to fit"
            )

    def on_epoch_end(self, state) -> None:
        self.step()


class StepLR(LRScheduler):
    """Staircase decay: lr = base_lr · gamma^(epoch // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        check_positive(step_size, "step_size", "StepLR", integer=True)
        check_positive(gamma, "gamma", "StepLR")
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min)·(1 + cos(π·epoch/T_max))/2, then stays at eta_min."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        super().__init__(optimizer)
        check_positive(T_max, "T_max", "CosineAnnealingLR", integer=True)
        check_positive(eta_min, "eta_min", "CosineAnnealingLR", allow_zero=True)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, epoch: int) -> float:
        e = min(epoch, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * e / self.T_max)) / 2


def clip_grad_norm_(params, max_norm: float, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    The direction is kept; only an exploding step is shortened. Returns the norm before
    clipping. ``params``: an iterable of Parameters, or one Parameter (as in PyTorch).

    A NaN or infinite norm cannot be clipped. As in PyTorch, ``error_if_nonfinite=True``
    raises a RuntimeError; by default the gradients are scaled by the non-finite norm
    anyway (NaN makes every gradient NaN; infinity zeroes the finite entries), here with
    a RuntimeWarning, since the next step would spoil the parameters.
    """
    params = _parameter_list(params, "clip_grad_norm_", single_ok=True)
    check_positive(max_norm, "max_norm", "clip_grad_norm_")
    check_flag(error_if_nonfinite, "error_if_nonfinite", "clip_grad_norm_")
    with np.errstate(invalid="ignore", over="ignore"):
        # scaled by the largest entry, so gradients of 1e200 do not overflow when squared
        big = max((float(np.max(np.abs(p.grad))) for p in params if p.grad.size), default=0.0)
        if big == 0.0 or not math.isfinite(big):
            total = big if not any(np.isnan(p.grad).any() for p in params) else math.nan
        else:
            total = big * math.sqrt(sum(float(np.sum((p.grad.astype(np.float64) / big) ** 2)) for p in params))
    if not math.isfinite(total):
        message = (f"clip_grad_norm_: the total gradient norm is {total}, so it cannot be clipped; "
                   "check the loss and the learning rate")
        if error_if_nonfinite:
            raise RuntimeError(message)
        warnings.warn(message + "; the gradients were scaled by it as PyTorch does", RuntimeWarning, stacklevel=2)
    if not total <= max_norm:  # also true for NaN
        scale = max_norm / (total + 1e-6)
        with np.errstate(invalid="ignore"):
            for p in params:
                p.grad *= np.asarray(scale, dtype=p.grad.dtype)
    return total
