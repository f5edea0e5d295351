"""Each optimizer's first steps, against values computed by hand from its update rule."""

import math

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
