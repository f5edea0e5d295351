"""Each optimizer's first steps, against values computed by hand from its update rule."""

import math
import warnings

import numpy as np
import pytest

import nnlib
from nnlib.optim import SGD, Adam, CosineAnnealingLR, RMSProp, StepLR, clip_grad_norm_


def param(value, grad):
    p = nnlib.Parameter(np.array(value, dtype=float))
    p.grad[...] = grad
    return p


def test_sgd_plain_step():
    p = param([1.0, -2.0], [0.5, 1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [0.95, -2.1])


def test_sgd_momentum_two_steps_by_hand():
    p = param([1.0], [1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = 1,  p = 1 - 0.1 = 0.9
    assert p.value[0] == pytest.approx(0.9)
    opt.step()  # grad still 1: v = 0.9 + 1 = 1.9,  p = 0.9 - 0.19 = 0.71
    assert p.value[0] == pytest.approx(0.71)


def test_sgd_weight_decay_by_hand():
    p = param([2.0], [0.0])
    SGD([p], lr=0.1, weight_decay=0.5).step()  # g = 0 + 0.5*2 = 1; p = 2 - 0.1
    assert p.value[0] == pytest.approx(1.9)


def test_rmsprop_two_steps_by_hand():
    p = param([1.0], [2.0])
    opt = RMSProp([p], lr=0.01, alpha=0.9, eps=1e-8)
    opt.step()  # s = 0.1*4 = 0.4; p = 1 - 0.01*2/(sqrt(0.4)+1e-8)
    p1 = 1 - 0.01 * 2 / (math.sqrt(0.4) + 1e-8)
    assert p.value[0] == pytest.approx(p1, rel=1e-12)
    opt.step()  # s = 0.9*0.4 + 0.4 = 0.76
    assert p.value[0] == pytest.approx(p1 - 0.01 * 2 / (math.sqrt(0.76) + 1e-8), rel=1e-12)


def test_adam_first_step_is_lr_times_sign():
    # with bias correction, m_hat = g and v_hat = g², so the first step is lr·g/(|g| + eps)
    p = param([1.0, 1.0], [3.0, -0.001])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [1 - 0.1 * 3 / (3 + 1e-8), 1 + 0.1 * 0.001 / (0.001 + 1e-8)], rtol=1e-12)


def test_adam_second_step_by_hand():
    p = param([0.0], [1.0])
    opt = Adam([p], lr=0.1, betas=(0.5, 0.75), eps=0.0)
    opt.step()
    p.grad[...] = 3.0
    opt.step()
    m = 0.5 * 0.5 * 1 + 0.5 * 3            # 1.75
    v = 0.75 * 0.25 * 1 + 0.25 * 9         # 2.4375
    m_hat, v_hat = m / (1 - 0.25), v / (1 - 0.5625)
    assert p.value[0] == pytest.approx(-0.1 - 0.1 * m_hat / math.sqrt(v_hat), rel=1e-12)


def test_optimizers_keep_float32():
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: RMSProp(ps), lambda ps: Adam(ps)):
        p = nnlib.Parameter(np.ones(3, np.float32))
        p.grad[...] = 0.5
        make([p]).step()
        assert p.value.dtype == np.float32


def test_matches_pytorch_trajectories_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(4)
    grads = rng.standard_normal((5, 4))
    cases = [
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
         lambda ts: torch.optim.SGD(ts, lr=0.1, momentum=0.9, weight_decay=0.01)),
        (lambda ps: RMSProp(ps, lr=0.01, alpha=0.9, eps=1e-8),
         lambda ts: torch.optim.RMSprop(ts, lr=0.01, alpha=0.9, eps=1e-8)),
        (lambda ps: Adam(ps, lr=0.01, weight_decay=0.1),
         lambda ts: torch.optim.Adam(ts, lr=0.01, weight_decay=0.1)),
    ]
    for ours, theirs in cases:
        p = nnlib.Parameter(w0.copy())
        t = torch.tensor(w0.copy(), requires_grad=True)
        o, to = ours([p]), theirs([t])
        for g in grads:
            p.grad[...] = g
            o.step()
            t.grad = torch.tensor(g)
            to.step()
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lr", [0, -1, float("nan"), "0.1"])
def test_non_positive_lr_is_refused(lr):
    with pytest.raises(ValueError, match="argument 'lr' must be"):
        SGD([param([1.0], [0.0])], lr=lr)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, -0.1), (0.9, 1.5)])
def test_betas_outside_unit_interval_are_refused(betas):
    with pytest.raises(ValueError, match=r"argument 'betas\[[01]\]' must be in \[0.0, 1.0\)"):
        Adam([param([1.0], [0.0])], betas=betas)


def test_betas_must_be_a_pair():
    with pytest.raises(ValueError, match="pair"):
        Adam([param([1.0], [0.0])], betas=0.9)


def test_momentum_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="momentum"):
        SGD([param([1.0], [0.0])], lr=0.1, momentum=1.0)


def test_empty_params_are_refused():
    with pytest.raises(ValueError, match="empty"):
        Adam([])


def test_zero_grad():
    p = param([1.0], [5.0])
    SGD([p], lr=1).zero_grad()
    assert p.grad[0] == 0


def test_step_lr_staircase():
    opt = SGD([param([0.0], [0.0])], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    lrs = [sched.step() for _ in range(5)]
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]


def test_cosine_schedule_endpoints():
    opt = SGD([param([0.0], [0.0])], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    lrs = [sched.step() for _ in range(6)]
    assert lrs[1] == pytest.approx(0.1 + 0.9 * 0.5)  # halfway
    assert lrs[3] == pytest.approx(0.1) and lrs[5] == pytest.approx(0.1)


def test_clip_grad_norm_scales_to_max_and_keeps_direction():
    a, b = param([0.0, 0.0], [3.0, 0.0]), param([0.0], [4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[a.grad, b.grad], [0.6, 0.0, 0.8], rtol=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone():
    a = param([0.0], [0.5])
    clip_grad_norm_([a], max_norm=1.0)
    assert a.grad[0] == 0.5


# ---- misuse (issue 16, rows 10, 13, 15) ---------------------------------------------------
def test_a_parameter_listed_twice_is_refused():
    # row 10: SGD([p, p]) stepped p twice; PyTorch warns that this will become an error
    p = param([1.0], [1.0])
    with pytest.raises(ValueError, match=r"SGD: argument 'params'\[1\] appears twice"):
        SGD([p, p], lr=0.1)
    assert p.value[0] == 1.0


@pytest.mark.parametrize("params, match", [
    (None, "SGD: argument 'params' must be an iterable of Parameters, got NoneType"),
    (nnlib.Linear(2, 1), r"must be an iterable of Parameters \(pass model.parameters\(\)\), got Linear"),
    (nnlib.Parameter(np.ones(2)), "must be an iterable of Parameters, got Parameter"),
    ([np.ones(2)], r"argument 'params'\[0\] must be a Parameter, got ndarray"),
])
def test_params_that_are_not_parameters_are_named(params, match):
    # row 15: SGD(None) raised numpy's / Python's own error
    with pytest.raises(TypeError, match=match):
        SGD(params, lr=0.1)


def test_clip_grad_norm_accepts_one_parameter_as_pytorch_does_and_refuses_a_model():
    p = param([0.0, 0.0], [3.0, 4.0])
    assert clip_grad_norm_(p, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-5)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: argument 'params' .*\(pass model.parameters\(\)\)"):
        clip_grad_norm_(nnlib.Linear(2, 2), 1.0)


def test_clip_grad_norm_with_a_nan_gradient_warns_and_routes_it_as_pytorch():
    # row 13: returned nan silently and left the 100-norm gradient unclipped
    a, b = param([0.0, 0.0], [np.nan, 100.0]), param([0.0], [100.0])
    with pytest.warns(RuntimeWarning, match="clip_grad_norm_: the total gradient norm is nan"):
        total = clip_grad_norm_([a, b], 1.0)
    assert np.isnan(total) and np.all(np.isnan(a.grad)) and np.all(np.isnan(b.grad))  # as torch 2.13
    c = param([0.0, 0.0], [np.inf, 100.0])
    with pytest.warns(RuntimeWarning, match="norm is inf"):
        assert clip_grad_norm_([c], 1.0) == np.inf
    assert np.isnan(c.grad[0]) and c.grad[1] == 0.0  # as torch 2.13
    d = param([0.0], [np.nan])
    with pytest.raises(RuntimeError, match="norm is nan, so it cannot be clipped"):
        clip_grad_norm_([d], 1.0, error_if_nonfinite=True)
    assert np.isnan(d.grad[0])


def test_clip_grad_norm_of_huge_finite_gradients_does_not_overflow():
    a = param([0.0, 0.0], [3e200, 4e200])
    with np.errstate(over="raise"):
        assert clip_grad_norm_([a], 1.0) == pytest.approx(5e200)
    np.testing.assert_allclose(a.grad, [0.6, 0.8], rtol=1e-5)


def test_clip_grad_norm_matches_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for grads in ([rng.standard_normal(5), rng.standard_normal((2, 3))], [np.array([np.nan, 1.0])]):
        ours = [param(np.zeros_like(g), g) for g in grads]
        theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            n = clip_grad_norm_(ours, 0.5)
        m = float(torch.nn.utils.clip_grad_norm_(theirs, 0.5))
        np.testing.assert_allclose(n, m, rtol=1e-12)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_a_schedule_is_a_callback_of_its_own_optimizer_only():
    X, y = nnlib.datasets.moons(32)
    model = nnlib.models.mlp([2, 4, 2], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=32, progress=False,
                  callbacks=[StepLR(opt, step_size=1, gamma=0.5)])
    assert h["lr"] == [0.1, 0.05, 0.025]
    other = SGD(model.parameters(), lr=1.0)
    with pytest.raises(ValueError, match="StepLR: this schedule drives another optimizer"):
        nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, progress=False, callbacks=[StepLR(other, 1)])


def test_clip_grad_norm_of_tiny_gradients_beside_float32_ones_is_finite():
    # found by fuzzing: dividing a float32 gradient by 4.5e-91 underflowed to 0/0 = NaN
    a = param([0.0], [4.5e-91])
    b = nnlib.Parameter(np.zeros(1, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clip_grad_norm_([a, b], 1.0) == pytest.approx(4.5e-91)
