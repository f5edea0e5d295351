"""Checkers of notebook 05: right on a correct answer, not yet on a stub and on plausible mistakes,
and a hint that never holds the answer."""

import numpy as np
import pytest

import nnlib
from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import regularization as checks


def said(capsys):
    return capsys.readouterr().out


# ---- the patience rule ----------------------------------------------------------------------------
def early_stop(val_losses, patience):  # right, written another way than the reference
    v = np.asarray(val_losses, dtype=float)
    improved = np.r_[True, v[1:] < np.minimum.accumulate(v)[:-1]]
    last = np.maximum.accumulate(np.where(improved, np.arange(len(v)), 0))
    hit = np.flatnonzero(np.arange(len(v)) - last >= patience)
    stop = hit[0] if len(hit) else len(v) - 1
    return int(last[stop]) + 1, int(stop) + 1


def early_stop_zero_based(val_losses, patience):
    kept, stopped = early_stop(val_losses, patience)
    return kept - 1, stopped - 1


def early_stop_ties_improve(val_losses, patience):  # a repeated value counts as an improvement
    return early_stop(np.asarray(val_losses, dtype=float) - 1e-12 * np.arange(len(val_losses)), patience)


def early_stop_one_late(val_losses, patience):
    kept, stopped = early_stop(val_losses, patience + 1)
    return kept, stopped


def stub(*args, **kwargs):
    raise NotImplementedError("replace this line with your code")


def test_reference_rule_by_hand():
    curve = [5, 4, 4.5, 4.2, 3, 3.5, 3.6, 3.7]
    assert checks.patience_rule(curve, 2) == (2, 4)
    assert checks.patience_rule(curve, 3) == (5, 8)
    assert checks.patience_rule(curve, 10) == (5, 8)  # never fires: the last epoch
    assert checks.patience_rule([1, 1, 1], 2) == (1, 3)  # a tie is not an improvement


@pytest.mark.parametrize("patience", [3, 10])
def test_reference_rule_picks_what_nnlib_early_stopping_picks(patience):
    X, y = nnlib.datasets.function_samples("sin", n=12, noise=0.3, random_x=True, seed=1)
    Xv, yv = nnlib.datasets.function_samples("sin", n=30, noise=0.3, random_x=True, seed=2)

    def run(callbacks):
        model = nnlib.models.mlp([1, 16, 16, 1], "tanh", rng=0)
        return nnlib.fit(model, nnlib.MSELoss(), nnlib.optim.Adam(model.parameters(), lr=0.03), X, y, epochs=120,
                         batch_size=len(X), validation=(Xv, yv), progress=False, callbacks=callbacks)

    full = run([])
    stopped = run([nnlib.EarlyStopping(patience=patience, restore_best=True)])
    assert (stopped.best_epoch, len(stopped["loss"])) == checks.patience_rule(full["val_loss"], patience)


def test_early_stop_right(capsys):
    assert checks.early_stop(early_stop) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("wrong", [stub, early_stop_zero_based, early_stop_ties_improve, early_stop_one_late, 3])
def test_early_stop_not_yet(wrong, capsys):
    assert checks.early_stop(wrong) is False
    assert said(capsys).startswith(NOT_YET)


# ---- the L2 gradient --------------------------------------------------------------------------------
def l2(model, lam):
    for layer in model.modules():
        if isinstance(layer, nnlib.Linear):
            layer.weight.grad += 2 * lam * layer.weight.value


def l2_with_biases(model, lam):  # note 002's sum from i = 0
    for p in model.parameters():
        p.grad += 2 * lam * p.value


def l2_overwrites(model, lam):
    for layer in model.modules():
        if isinstance(layer, nnlib.Linear):
            layer.weight.grad[...] = 2 * lam * layer.weight.value


def l2_half(model, lam):  # forgets the factor 2
    for layer in model.modules():
        if isinstance(layer, nnlib.Linear):
            layer.weight.grad += lam * layer.weight.value


def test_the_reference_penalty_gradient_is_the_derivative_of_the_penalty():
    model = nnlib.models.mlp([3, 4, 2], rng=0)
    lam, h = 0.3, 1e-6
    w = model[0].weight
    penalty = lambda: lam * sum(float(np.sum(m.weight.value**2)) for m in model.modules()
                                if isinstance(m, nnlib.Linear))
    w.value[1, 2] += h
    up = penalty()
    w.value[1, 2] -= 2 * h
    down = penalty()
    w.value[1, 2] += h
    checks._reference_l2(model, lam)
    assert np.isclose(w.grad[1, 2], (up - down) / (2 * h), rtol=1e-6)
    assert not model[0].bias.grad.any()


def test_l2_right(capsys):
    assert checks.l2_penalty_grad(l2) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("wrong", [stub, l2_with_biases, l2_overwrites, l2_half, "l2"])
def test_l2_not_yet(wrong, capsys):
    assert checks.l2_penalty_grad(wrong) is False
    text = said(capsys)
    assert text.startswith(NOT_YET) and "2 * lam" not in text


# ---- inverted dropout -------------------------------------------------------------------------------
class Dropout(nnlib.Module):
    def __init__(self, p, rng=None):
        self.p, self.rng = p, np.random.default_rng(rng)

    def forward(self, x):
        if not self.training or self.p == 0:
            self.scale = np.ones_like(x)
        else:
            self.scale = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.scale

    def backward(self, grad_out):
        return grad_out * self.scale


class NotesDropout(Dropout):  # drops without scaling (the notes' training pass)
    def forward(self, x):
        self.scale = (self.rng.random(x.shape) >= self.p) * 1.0 if self.training else np.ones_like(x)
        return x * self.scale


class KeepsWithP(Dropout):  # keeps a unit with probability p instead of 1 - p
    def forward(self, x):
        if not self.training or self.p == 0:
            self.scale = np.ones_like(x)
        else:
            self.scale = (self.rng.random(x.shape) < self.p) / (1 - self.p)
        return x * self.scale


class OneMask(Dropout):  # draws its mask once
    def forward(self, x):
        if not hasattr(self, "fixed"):
            self.fixed = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        self.scale = self.fixed if self.training and self.p else np.ones_like(x)
        return x * self.scale


class BackwardIgnoresMask(Dropout):
    def backward(self, grad_out):
        return grad_out


class DropsInEval(Dropout):
    def forward(self, x):
        self.scale = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.scale


class StubDropout(nnlib.Module):
    def __init__(self, p, rng=None):
        self.p = p

    def forward(self, x):
        raise NotImplementedError("replace this line with your code")


def test_the_reference_class_matches_nnlib_dropout_exactly():
    x = np.random.default_rng(0).standard_normal((50, 40))
    mine, theirs = Dropout(0.3, rng=5), nnlib.Dropout(0.3, rng=5)
    np.testing.assert_array_equal(mine(x), theirs(x))
    np.testing.assert_array_equal(mine.backward(x), theirs.backward(x))


def test_dropout_right(capsys):
    assert checks.inverted_dropout(Dropout) is True
    assert said(capsys).startswith(RIGHT)


def test_nnlib_dropout_itself_passes():
    assert checks.inverted_dropout(nnlib.Dropout) is True


@pytest.mark.parametrize("wrong", [StubDropout, NotesDropout, KeepsWithP, OneMask, BackwardIgnoresMask,
                                   DropsInEval, Dropout(0.5)])
def test_dropout_not_yet(wrong, capsys):
    assert checks.inverted_dropout(wrong) is False
    assert said(capsys).startswith(NOT_YET)


# ---- questions ----------------------------------------------------------------------------------------
def test_weight_decay_halving_counts_the_steps_of_nnlib_sgd(capsys):
    w = nnlib.Parameter(np.ones(1))
    opt = nnlib.optim.SGD([w], lr=0.1, weight_decay=0.006)
    steps = 0
    while w.value[0] > 0.5:
        w.grad[...] = 0.0
        opt.step()
        steps += 1
    assert steps == 1155                  # ceil(ln 0.5 / ln(1 - 0.0006))
    assert checks.weight_decay_halving(steps) is True
    said(capsys)
    for wrong in (1154, 1156, 115, 0.006, None):
        assert checks.weight_decay_halving(wrong) is False
        assert "1155" not in said(capsys)


def test_l1_threshold(capsys):
    assert checks.l1_threshold(0.6) is True
    said(capsys)
    for wrong in (0.15, 0.3, 1.2, None):
        assert checks.l1_threshold(wrong) is False
        assert "0.6" not in said(capsys)


def test_smallest_patience(capsys):
    curve = [5, 4, 4.5, 4.2, 3, 3.5, 3.6, 3.7, 2.0, 2.5]  # best at epoch 9, after a 3-epoch bump
    assert checks.smallest_patience(4, curve) is True
    said(capsys)
    for wrong in (3, 5, 9, 4.5):
        assert checks.smallest_patience(wrong, curve) is False
        assert said(capsys).startswith(NOT_YET)
