import doctest

import numpy as np
import pytest

import nnlib
from nnlib import gradcheck
from nnlib.gradcheck import _rel_error, numerical_gradient
from nnlib.norm import batch_norm_backward_reference

TOL = 1e-6
SHAPES = {  # layer class -> input shapes it accepts, all with 3 channels
    nnlib.BatchNorm1d: [(5, 3), (4, 3, 2)],
    nnlib.BatchNorm2d: [(3, 3, 2, 2), (1, 3, 2, 3)],
}
CASES = [(cls, shape) for cls, shapes in SHAPES.items() for shape in shapes]


def train_gradcheck(module, x, seed=99, h=1e-6, details=False):
    """nnlib.gradcheck in *training* mode (nnlib.gradcheck switches to eval): the max relative
    error of dL/dx and of every parameter's gradient, for L = Σ r ⊙ module(x).
    With ``details``: {name: (analytic, numerical)} instead."""
    module.to(np.float64).train()
    x = np.array(x, dtype=np.float64)
    r = np.random.default_rng(seed).standard_normal(module(x).shape)
    out = lambda: module(x)  # noqa: E731
    module.zero_grad()
    module(x)
    pairs = {"x": (module.backward(r), numerical_gradient(out, x, h, r))}
    for name, p in module.named_parameters():
        pairs[name] = (p.grad.copy(), numerical_gradient(out, p.value, h, r))
    module.zero_grad()
    return pairs if details else max(_rel_error(a, n) for a, n in pairs.values())


def batch(shape, seed=0, loc=2.0, scale=3.0):
    return np.random.default_rng(seed).normal(loc, scale, shape)


def with_random_affine(bn, seed=1):
    rng = np.random.default_rng(seed)
    bn.weight.value = rng.normal(1.0, 0.5, bn.num_features)
    bn.bias.value = rng.normal(0.0, 0.5, bn.num_features)
    return bn


# ---- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_training_mode(cls, shape, affine):
    bn = with_random_affine(cls(3)) if affine else cls(3, affine=False)
    assert train_gradcheck(bn, batch(shape)) < TOL


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_eval_mode(cls, shape, affine):
    bn = with_random_affine(cls(3)) if affine else cls(3, affine=False)
    for seed in range(3):  # running statistics far from their 0/1 start
        bn(batch((6,) + shape[1:], seed))
    assert gradcheck(bn, batch(shape, seed=7)) < TOL  # gradcheck runs in eval mode


def test_train_gradcheck_notices_a_wrong_backward():
    class EvalBackwardAlways(nnlib.BatchNorm1d):
        def backward(self, grad_y):
            x_hat, inv_std, _ = self._cache
            self._cache = (x_hat, inv_std, False)  # forgets that μ, σ depend on x
            return super().backward(grad_y)

    assert train_gradcheck(EvalBackwardAlways(3), batch((5, 3))) > 1e-2


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (3, 3, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_reference_backward_equals_layer(shape, affine):
    x, g = batch(shape), batch(shape, seed=1, loc=0.0, scale=1.0)
    bn = with_random_affine(nnlib.BatchNorm2d(3)) if affine else nnlib.BatchNorm2d(3, affine=False)
    bn._ndims = (len(shape),)  # the maths is rank-agnostic; lend BatchNorm2d every rank
    bn(x)
    grad_x = bn.backward(g)
    weight = bn.weight.value if affine else None
    ref_x, ref_w, ref_b = batch_norm_backward_reference(g, x, weight, bn.eps)
    np.testing.assert_allclose(grad_x, ref_x, rtol=0, atol=1e-12)
    if affine:
        np.testing.assert_allclose(bn.weight.grad, ref_w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(bn.bias.grad, ref_b, rtol=0, atol=1e-12)


def test_reference_backward_checks_its_arguments():
    with pytest.raises(ValueError, match=r"batch_norm_backward_reference: argument 'grad_y' expected shape"):
        batch_norm_backward_reference(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"argument 'weight' expected shape \(3,\)"):
        batch_norm_backward_reference(np.ones((4, 3)), np.ones((4, 3)), np.ones(2))


def test_parameter_gradients_accumulate_over_two_backward_calls():
    bn = with_random_affine(nnlib.BatchNorm1d(3))
    x, g = batch((5, 3)), batch((5, 3), seed=1)
    bn(x)
    bn.backward(g)
    once = bn.weight.grad.copy(), bn.bias.grad.copy()
    bn.backward(g)
    np.testing.assert_allclose(bn.weight.grad, 2 * once[0])
    np.testing.assert_allclose(bn.bias.grad, 2 * once[1])


# ---- what the forward pass computes ----------------------------------------------------------
@pytest.mark.parametrize("cls, shape", CASES)
def test_training_output_has_zero_mean_unit_variance_per_channel(cls, shape):
    y = cls(3, eps=1e-12)(batch(shape))
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-10)


def test_running_statistics_follow_the_momentum_rule():
    bn = nnlib.BatchNorm2d(3, momentum=0.3)
    mean, var = np.zeros(3), np.ones(3)
    for seed in range(4):
        x = batch((4, 3, 2, 5), seed)
        bn(x)
        m = 4 * 2 * 5
        mean = 0.7 * mean + 0.3 * x.mean(axis=(0, 2, 3))
        var = 0.7 * var + 0.3 * x.var(axis=(0, 2, 3)) * m / (m - 1)  # unbiased
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-13)
    assert int(bn.num_batches_tracked) == 4


def test_momentum_none_is_a_cumulative_average():
    bn = nnlib.BatchNorm1d(3, momentum=None)
    xs = [batch((5, 3), seed) for seed in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(axis=0) for x in xs], axis=0), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(axis=0, ddof=1) for x in xs], axis=0), rtol=1e-13)


def test_eval_mode_uses_running_statistics_and_leaves_them_alone():
    bn = with_random_affine(nnlib.BatchNorm1d(3))
    for seed in range(3):
        bn(batch((8, 3), seed))
    before = bn.state_dict()
    bn.eval()
    x = batch((1, 3), seed=9)  # a batch of one is fine in eval mode
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.weight.value + bn.bias.value
    np.testing.assert_allclose(bn(x), expected, rtol=1e-13)
    for name, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_eval_output_of_one_example_does_not_depend_on_its_batch_mates():
    bn = nnlib.BatchNorm1d(3)
    for seed in range(3):
        bn(batch((8, 3), seed))
    x = batch((4, 3), seed=5)
    alone_train = bn(x[:2])[0]
    bn.eval()
    np.testing.assert_allclose(bn(x)[0], bn(x[:1])[0])
    assert not np.allclose(alone_train, bn(x[:1])[0])


def test_a_constant_channel_is_normalised_to_zero_not_nan():
    x = batch((5, 3))
    x[:, 1] = 4.0
    y = nnlib.BatchNorm1d(3)(x)
    assert np.all(np.isfinite(y)) and np.all(y[:, 1] == 0)


# ---- state, dtypes, printing -------------------------------------------------------------------
def test_state_dict_round_trip_keeps_running_statistics(tmp_path):
    model = nnlib.Sequential(nnlib.Linear(3, 4, rng=0), nnlib.BatchNorm1d(4, momentum=0.2), nnlib.ReLU())
    for seed in range(3):
        model(batch((6, 3), seed))
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                       "1.running_var", "1.num_batches_tracked"}
    model.save(tmp_path / "bn.npz")
    fresh = nnlib.Sequential(nnlib.Linear(3, 4, rng=5), nnlib.BatchNorm1d(4), nnlib.ReLU())
    fresh.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(fresh[1].running_mean, model[1].running_mean)
    np.testing.assert_array_equal(fresh[1].running_var, model[1].running_var)
    assert int(fresh[1].num_batches_tracked) == 3
    x = batch((2, 3), seed=8)
    np.testing.assert_array_equal(fresh.eval()(x), model.eval()(x))


def test_load_refuses_running_statistics_of_the_wrong_size():
    state = nnlib.BatchNorm2d(4, affine=False).state_dict()
    with pytest.raises(ValueError, match=r"parameter 'running_mean' expected shape \(3,\), got \(4,\)"):
        nnlib.BatchNorm2d(3, affine=False).load_state_dict(state)


@pytest.mark.parametrize("cls, shape", CASES)
@pytest.mark.parametrize("training", [True, False])
def test_float32_in_float32_out(cls, shape, training):
    bn = cls(3).to(np.float32).train(training)
    assert bn.running_mean.dtype == bn.running_var.dtype == bn.weight.dtype == np.float32
    x = batch(shape).astype(np.float32)
    y = bn(x)
    assert y.dtype == np.float32
    assert bn.backward(np.ones_like(y)).dtype == np.float32
    assert bn.weight.grad.dtype == bn.running_var.dtype == np.float32
    np.testing.assert_allclose(y, cls(3).train(training)(x.astype(np.float64)), atol=1e-5)


def test_reset_parameters_and_running_stats():
    bn = with_random_affine(nnlib.BatchNorm1d(2))
    bn(batch((4, 2)))
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.weight.value, [1, 1])
    np.testing.assert_array_equal(bn.bias.value, [0, 0])
    np.testing.assert_array_equal(bn.running_mean, [0, 0])
    np.testing.assert_array_equal(bn.running_var, [1, 1])
    assert int(bn.num_batches_tracked) == 0


def test_parameters_and_repr_like_pytorch():
    assert [n for n, _ in nnlib.BatchNorm2d(4).named_parameters()] == ["weight", "bias"]
    assert nnlib.BatchNorm2d(4, affine=False).parameters() == []
    assert repr(nnlib.BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True)"


def test_docstring_examples_run():
    import nnlib.norm

    result = doctest.testmod(nnlib.norm, extraglobs={"np": np})
    assert result.attempted >= 5 and result.failed == 0


# ---- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, shape", [(nnlib.BatchNorm1d, (1, 3)), (nnlib.BatchNorm1d, (1, 3, 1)),
                                        (nnlib.BatchNorm2d, (1, 3, 1, 1))])
def test_one_value_per_channel_in_training_is_refused(cls, shape):
    bn = cls(3)
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when training, got input "
                                         rf"of shape \({shape[0]}, 3"):
        bn(np.ones(shape))
    assert int(bn.num_batches_tracked) == 0  # nothing was updated
    bn.eval()
    assert bn(np.ones(shape)).shape == shape


def test_batch_of_one_image_with_several_pixels_is_allowed_as_in_pytorch():
    assert nnlib.BatchNorm2d(3)(batch((1, 3, 2, 2))).shape == (1, 3, 2, 2)


@pytest.mark.parametrize("cls, shape", [(nnlib.BatchNorm1d, (4, 2)), (nnlib.BatchNorm1d, (4, 5, 2)),
                                        (nnlib.BatchNorm2d, (4, 2, 3, 3))])
def test_wrong_channel_count(cls, shape):
    with pytest.raises(ValueError, match=rf"{cls.__name__}.forward: argument 'x' expected 3 channels "
                                         rf"\(num_features\) on axis 1, got {shape[1]}"):
        cls(3)(np.ones(shape))


@pytest.mark.parametrize("cls, shape, expected", [
    (nnlib.BatchNorm1d, (3,), r"2-D or 3-D array \(N, C\) or \(N, C, L\), got 1-D"),
    (nnlib.BatchNorm1d, (2, 3, 2, 2), r"2-D or 3-D array \(N, C\) or \(N, C, L\), got 4-D"),
    (nnlib.BatchNorm2d, (4, 3), r"4-D array \(N, C, H, W\), got 2-D with shape \(4, 3\)"),
])
def test_wrong_rank(cls, shape, expected):
    with pytest.raises(ValueError, match=rf"{cls.__name__}.forward: argument 'x' expected a {expected}"):
        cls(3)(np.ones(shape))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_features": 0}, "argument 'num_features' must be > 0, got 0"),
    ({"num_features": 2.5}, "argument 'num_features' must be an integer, got 2.5"),
    ({"eps": 0}, "argument 'eps' must be > 0, got 0"),
    ({"momentum": 1.5}, r"argument 'momentum' must be in \[0.0, 1.0\], got 1.5"),
    ({"momentum": -0.1}, r"argument 'momentum' must be in \[0.0, 1.0\], got -0.1"),
    ({"affine": "yes"}, "argument 'affine' must be True or False, got 'yes'"),
])
def test_bad_constructor_arguments(kwargs, match):
    args = {"num_features": 3, **kwargs}
    with pytest.raises(ValueError, match=f"BatchNorm2d: {match}"):
        nnlib.BatchNorm2d(**args)


def test_bad_backward_calls():
    bn = nnlib.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match=r"BatchNorm1d.backward: call forward\(\) before backward\(\)"):
        bn.backward(np.ones((4, 3)))
    bn(batch((4, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm1d.backward: argument 'grad_y' expected shape \(4, 3\)"):
        bn.backward(np.ones((5, 3)))


def test_non_numeric_input():
    with pytest.raises(TypeError, match="BatchNorm1d.forward: argument 'x' must hold real numbers"):
        nnlib.BatchNorm1d(3)(np.array([["a", "b", "c"]] * 2))


# ---- PyTorch, when installed ---------------------------------------------------------------------
def torch_pair(cls, affine=True, momentum=0.1, seed=1):
    """An nnlib layer and its torch twin (float64), with the same random γ and β."""
    torch = pytest.importorskip("torch")
    ours = cls(3, momentum=momentum, affine=affine)
    theirs = getattr(torch.nn, cls.__name__)(3, momentum=momentum, affine=affine).double()
    if affine:
        with_random_affine(ours, seed)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.value))
            theirs.bias.copy_(torch.from_numpy(ours.bias.value))
    return torch, ours, theirs


def forward_backward_both(torch, ours, theirs, x, g):
    """Outputs, input gradients and parameter gradients of both layers (gradients zeroed first)."""
    ours.zero_grad()
    theirs.zero_grad()
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(g))
    y = ours(x)
    gx = ours.backward(g)
    pairs = [(y, yt.detach().numpy()), (gx, xt.grad.numpy())]
    for name, p in ours.named_parameters():
        pairs.append((p.grad, getattr(theirs, name).grad.numpy()))
    return pairs


@pytest.mark.parametrize("cls, shape", CASES + [(nnlib.BatchNorm2d, (8, 3, 5, 4))])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_matches_pytorch_train_then_eval(cls, shape, affine, momentum):
    torch, ours, theirs = torch_pair(cls, affine, momentum)
    for step in range(4):  # several training steps: outputs, gradients, running statistics
        x, g = batch(shape, seed=step), batch(shape, seed=100 + step, loc=0.0, scale=1.0)
        for a, b in forward_backward_both(torch, ours, theirs, x, g):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-10, atol=1e-12)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    x, g = batch(shape, seed=50), batch(shape, seed=51, loc=0.0, scale=1.0)
    for a, b in forward_backward_both(torch, ours, theirs, x, g):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_pytorch_state_dict_loads_by_the_same_names():
    torch, ours, theirs = torch_pair(nnlib.BatchNorm2d)
    for seed in range(3):
        theirs(torch.from_numpy(batch((4, 3, 2, 2), seed)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.eval()
    x = batch((2, 3, 2, 2), seed=9)
    np.testing.assert_allclose(ours.eval()(x), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
