import warnings

import numpy as np
import pytest

import nnlib
from nnlib import gradcheck

TOL = 1e-6


def loss_as_module_pair(loss, target):
    """(forward, backward) for gradcheck: the loss value as a function of pred."""
    def forward(pred):
        return np.array(loss(pred, target))

    def backward(g):
        return loss.backward() * g
    return forward, backward


@pytest.mark.parametrize("n", [1, 7])
def test_mse_value_and_gradient(n, rng):
    pred, target = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    loss = nnlib.MSELoss()
    assert loss(pred, target) == pytest.approx(np.mean((pred - target) ** 2))
    assert gradcheck(loss_as_module_pair(loss, target), pred) < TOL


@pytest.mark.parametrize("n", [1, 6])
def test_bce_value_and_gradient(n, rng):
    p = rng.uniform(0.05, 0.95, (n, 1))
    y = rng.integers(0, 2, (n, 1)).astype(float)
    loss = nnlib.BCELoss()
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss(p, y) == pytest.approx(expected)
    assert gradcheck(loss_as_module_pair(loss, y), p) < TOL


@pytest.mark.parametrize("n", [1, 6])
def test_bce_with_logits_matches_bce_of_sigmoid(n, rng):
    z = rng.standard_normal((n, 1)) * 3
    y = rng.integers(0, 2, (n, 1)).astype(float)
    a = nnlib.BCEWithLogitsLoss()(z, y)
    b = nnlib.BCELoss()(1 / (1 + np.exp(-z)), y)
    assert a == pytest.approx(b, rel=1e-10)
    assert gradcheck(loss_as_module_pair(nnlib.BCEWithLogitsLoss(), y), z) < TOL


def test_bce_with_logits_is_stable_for_huge_logits():
    loss = nnlib.BCEWithLogitsLoss()
    with np.errstate(over="raise", invalid="raise"):
        v = loss(np.array([[1e4], [-1e4]]), np.array([[0.0], [1.0]]))
    assert v == pytest.approx(1e4)
    assert np.all(np.isfinite(loss.backward()))


@pytest.mark.parametrize("n,k", [(1, 2), (5, 4)])
def test_cross_entropy_value_and_gradient(n, k, rng):
    z = rng.standard_normal((n, k))
    y = rng.integers(0, k, n)
    loss = nnlib.CrossEntropyLoss()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert loss(z, y) == pytest.approx(-np.mean(np.log(p[np.arange(n), y])))
    assert gradcheck(loss_as_module_pair(loss, y), z) < TOL


def test_cross_entropy_is_stable_for_logits_of_1e4():
    loss = nnlib.CrossEntropyLoss()
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    with np.errstate(over="raise", invalid="raise"):
        v = loss(z, np.array([1, 2]))
        g = loss.backward()
    # first row: log-softmax of the label is -1e4; second row: two equal maxima, -log 2
    assert v == pytest.approx((1e4 + np.log(2)) / 2)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g.sum(axis=1), 0, atol=1e-12)


@pytest.mark.parametrize("n", [1, 8])
def test_hinge_value_and_gradient(n, rng):
    s = rng.standard_normal((n,)) * 2
    s = np.where(np.abs(1 - np.abs(s)) < 1e-3, 0.5, s)  # stay off the kink at margin 1
    y = rng.choice([-1.0, 1.0], n)
    loss = nnlib.HingeLoss()
    assert loss(s, y) == pytest.approx(np.mean(np.maximum(0, 1 - y * s)))
    assert gradcheck(loss_as_module_pair(loss, y), s) < TOL


def test_hinge_rejects_zero_one_labels():
    with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
        nnlib.HingeLoss()(np.zeros(3), np.array([0, 1, 1]))


def test_cross_entropy_labels_out_of_range():
    with pytest.raises(ValueError, match=r"argument 'target' expected labels in \[0, 2\], got values from 0 to 3"):
        nnlib.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))


def test_cross_entropy_labels_wrong_length():
    with pytest.raises(ValueError, match="expected 2 labels"):
        nnlib.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"expected shape \(4, 2\) \(same as pred\), got \(4, 3\)"):
        nnlib.MSELoss()(np.zeros((4, 2)), np.zeros((4, 3)))


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="BCEWithLogitsLoss"):
        nnlib.BCELoss()(np.array([[2.0]]), np.array([[1.0]]))


def test_column_scores_accept_flat_targets():
    v = nnlib.MSELoss()(np.zeros((3, 1)), np.ones(3))
    assert v == 1.0


# ---- misuse (issue 16, rows 10, 14, 15) ---------------------------------------------------
@pytest.mark.parametrize("loss, pred, target, match", [
    # row 10: a NaN prediction gave nan, a target of 2.0 gave 0.693; PyTorch refuses both
    (nnlib.BCELoss(), [[np.nan], [0.5]], [[1.0], [0.0]],
     r"BCELoss: argument 'pred' must hold values in \[0, 1\], got nan"),
    (nnlib.BCELoss(), [[0.5]], [[2.0]], r"BCELoss: argument 'target' must hold values in \[0, 1\], got 2"),
    (nnlib.BCELoss(), [[0.5]], [[np.nan]], r"BCELoss: argument 'target' must hold values in \[0, 1\], got nan"),
    (nnlib.BCEWithLogitsLoss(), [[3.0]], [[-1.0]],
     r"BCEWithLogitsLoss: argument 'target' must hold values in \[0, 1\]"),
    # row 15: K = 0 said "labels in [0, -1]"
    (nnlib.CrossEntropyLoss(), np.zeros((2, 0)), [0, 0],
     r"argument 'pred' expected logits of shape \(N, K\) with K >= 1"),
    (nnlib.CrossEntropyLoss(), np.zeros((2, 3)), 1,
     r"argument 'target' expected integer labels of shape \(N,\), got shape \(\)"),
    (nnlib.CrossEntropyLoss(), np.zeros((2, 3)), np.eye(3)[[0, 1]], r"one-hot rows\? pass y.argmax\(axis=1\)"),
    (nnlib.MSELoss(), [[1.0, 2.0], [3.0]], [[1.0, 2.0]], "MSELoss: argument 'pred' is a ragged nested list"),
])
def test_bad_predictions_and_targets_are_refused_by_name(loss, pred, target, match):
    with pytest.raises(ValueError, match=match):
        loss(pred, target)


@pytest.mark.parametrize("loss", [nnlib.MSELoss(), nnlib.BCELoss(), nnlib.BCEWithLogitsLoss(),
                                  nnlib.CrossEntropyLoss(), nnlib.HingeLoss()])
def test_backward_before_the_loss_says_so(loss):
    # row 15: AttributeError '_diff' / '_p' / ...
    name = type(loss).__name__
    with pytest.raises(RuntimeError, match=rf"{name}\.backward: call the loss first"):
        loss.backward()


@pytest.mark.parametrize("loss, pred, target", [
    (nnlib.MSELoss(), np.zeros((0, 3)), np.zeros((0, 3))),
    (nnlib.BCELoss(), np.zeros((0, 1)), np.zeros((0, 1))),
    (nnlib.BCEWithLogitsLoss(), np.zeros((0, 1)), np.zeros((0, 1))),
    (nnlib.CrossEntropyLoss(), np.zeros((0, 3)), np.zeros(0, dtype=int)),
    (nnlib.HingeLoss(), np.zeros(0), np.zeros(0)),
])
def test_an_empty_batch_is_nan_as_in_pytorch_without_warnings(loss, pred, target):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(loss(pred, target))
        assert loss.backward().shape == pred.shape


def test_bce_accepts_the_ends_of_the_unit_interval():
    assert nnlib.BCELoss()(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]])) < 1e-10


def test_bce_of_float32_probabilities_at_0_and_1_is_finite_as_in_pytorch():
    # found by fuzzing: 1 - 1e-12 rounds to 1 in float32, so the clip gave 0·log 0 = NaN;
    # PyTorch clamps each log at -100
    loss = nnlib.BCELoss()
    p = np.array([[1.0], [0.0], [1.0]], np.float32)
    assert loss(p, np.array([[0.0], [1.0], [1.0]])) == pytest.approx(200 / 3)
    assert np.all(np.isfinite(loss.backward()))


def test_bce_matches_pytorch_at_the_edges_when_installed():
    torch = pytest.importorskip("torch")
    p = np.array([[0.0], [1.0], [0.3], [1e-30], [1 - 1e-9]])
    y = np.array([[1.0], [0.0], [1.0], [0.0], [0.5]])
    loss = nnlib.BCELoss()
    value = loss(p, y)
    tp = torch.tensor(p, requires_grad=True)
    expected = torch.nn.BCELoss()(tp, torch.tensor(y))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), tp.grad.numpy(), rtol=1e-6)
