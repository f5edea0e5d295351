"""Tests for nnlib.dashboards.optimizers: surfaces, the race, the notes' forms, mini-batches,
schedules, clipping and the exercise checkers."""

import math
import warnings

import numpy as np
import pytest

from nnlib import optim
from nnlib.dashboards import optimizers as O
from nnlib.module import Parameter


# ---- surfaces ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(O.SURFACES))
def test_surface_gradient_and_hessian_match_finite_differences(key):
    s = O.SURFACES[key]
    rng = np.random.default_rng(0)
    h = 1e-6
    for _ in range(5):
        p = np.array([rng.uniform(*s.xlim), rng.uniform(*s.ylim)]) * 0.5
        num = np.array([(s.value(p + h * e) - s.value(p - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(s.gradient(p), num, rtol=1e-5, atol=1e-5)
        num_h = np.array([(s.gradient(p + h * e) - s.gradient(p - h * e)) / (2 * h) for e in np.eye(2)]).T
        np.testing.assert_allclose(s.hess(*p), num_h, rtol=1e-4, atol=1e-3)


def test_four_wells_has_four_minima_four_saddles_one_maximum():
    pts = O.critical_points("wells")
    kinds = [c.kind for c in pts]
    assert kinds.count("minimum") == 4 and kinds.count("saddle") == 4 and kinds.count("maximum") == 1
    best = O.global_minimum("wells")
    assert best.point[0] < 0 and best.point[1] < 0  # the tilt makes the (-, -) well deepest
    for c in pts:
        assert np.linalg.norm(O.SURFACES["wells"].gradient(np.array(c.point))) < 1e-8


def test_known_minima():
    assert O.global_minimum("ravine").point == (0.0, 0.0)
    np.testing.assert_allclose(O.global_minimum("rosenbrock").point, (1.0, 1.0), atol=1e-9)
    assert O.global_minimum("wall").kind == "minimum"


def test_get_surface_rejects_unknown_key():
    with pytest.raises(ValueError, match="'key' must be one of"):
        O.get_surface("himmelblau")


# ---- running optimizers --------------------------------------------------------------------
def test_sgd_trajectory_matches_closed_form_on_ravine():
    a, b = O.RAVINE_CURVATURES
    lr, steps = 0.03, 25
    tr = O.run_optimizer("ravine", lambda ps: optim.SGD(ps, lr=lr), steps)
    t = np.arange(steps + 1)
    x0, y0 = O.SURFACES["ravine"].start
    np.testing.assert_allclose(tr.path[:, 0], x0 * (1 - lr * a) ** t, rtol=1e-12)
    np.testing.assert_allclose(tr.path[:, 1], y0 * (1 - lr * b) ** t, rtol=1e-12, atol=1e-300)
    assert tr.diverged_at is None and tr.path.shape == (steps + 1, 2) and tr.losses.shape == (steps + 1,)


def test_adam_trajectory_matches_hand_written_rule():
    s = O.SURFACES["rosenbrock"]
    lr, (b1, b2), eps = 0.05, (0.9, 0.99), 1e-8
    tr = O.run_optimizer(s, lambda ps: optim.Adam(ps, lr=lr, betas=(b1, b2)), 30)
    p, m, v = np.array(s.start), np.zeros(2), np.zeros(2)
    for t in range(1, 31):
        g = s.gradient(p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(tr.final, p, rtol=1e-12)


def test_divergence_stops_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning may escape
        tr = O.run_optimizer("ravine", lambda ps: optim.SGD(ps, lr=0.5), 500)
    assert tr.diverged_at is not None and tr.diverged_at < 500
    assert np.all(np.isfinite(tr.path)) and len(tr.path) == tr.diverged_at


def test_divergence_on_overflowing_gradient_is_caught():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = O.run_optimizer("wall", lambda ps: optim.SGD(ps, lr=1.0), 50, start=(900.0, 0.0))
    assert tr.diverged_at == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps"),
    ({"steps": 10, "start": (1.0, 2.0, 3.0)}, "start"),
    ({"steps": 10, "start": (np.nan, 0.0)}, "NaN"),
    ({"steps": 10, "max_norm": -1.0}, "max_norm"),
])
def test_run_optimizer_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        O.run_optimizer("ravine", lambda ps: optim.SGD(ps, lr=0.1), **kwargs)


# ---- race and presets ----------------------------------------------------------------------
def test_race_runs_the_four_racers_with_nnlib_optim():
    trajs = O.race(steps=20)
    assert list(trajs) == list(O.RACERS)
    st = O.RaceSettings(steps=20)
    manual = O.run_optimizer("ravine", lambda ps: optim.SGD(ps, lr=st.lr_sgd, momentum=st.momentum), 20)
    np.testing.assert_array_equal(trajs["momentum"].path, manual.path)


def test_race_summary_lines():
    trajs = O.race(O.preset("too high a learning rate"))
    text = O.race_summary(trajs, "ravine")
    assert "SGD: diverged at step" in text and "lower it" in text
    assert "momentum: loss" in text and "Traceback" not in text
    grown = O.race(lr_sgd=0.102, steps=30)  # unstable, but still small after 30 steps
    assert grown["SGD"].diverged_at is None
    assert "the loss grew" in O.race_summary(grown, "ravine")


def test_preset_too_high_lr_diverges_sgd_only():
    trajs = O.race(O.preset("too high a learning rate"))
    assert trajs["SGD"].diverged_at is not None
    assert all(trajs[k].diverged_at is None for k in ("momentum", "RMSProp", "Adam"))


def test_preset_momentum_overshoots():
    trajs = O.race(O.preset("momentum overshoots"))
    assert trajs["momentum"].path[:, 0].max() > 2.0  # from x = -4.5 far past the minimum at 0
    assert trajs["SGD"].path[:, 0].max() <= 0.0  # plain SGD never crosses it in x


def test_preset_adam_on_a_ravine():
    trajs = O.race(O.preset("Adam on a ravine"))
    assert trajs["Adam"].final_loss < 1e-3
    assert trajs["SGD"].final_loss > 100 * trajs["Adam"].final_loss


def test_preset_momentum_escapes_local_minimum():
    trajs = O.race(O.preset("momentum escapes a local minimum"))
    best = np.array(O.global_minimum("wells").point)
    assert np.linalg.norm(trajs["momentum"].final - best) < 0.01
    assert np.linalg.norm(trajs["SGD"].final - best) > 1.0


def test_every_preset_is_valid_and_fast():
    import time

    for name in O.PRESETS:
        t0 = time.perf_counter()
        O.race(O.preset(name))
        assert time.perf_counter() - t0 < 0.5, name  # the slider budget is 100 ms on a laptop


def test_unknown_preset():
    with pytest.raises(ValueError, match="'name' must be one of"):
        O.preset("fast")


@pytest.mark.parametrize("field, value", [("lr_sgd", 0.0), ("lr_adaptive", -1.0), ("momentum", 1.0),
                                          ("alpha", 1.5), ("beta1", -0.1), ("beta2", 1.0),
                                          ("steps", 0), ("steps", 2.5), ("surface", "nowhere")])
def test_race_settings_validation(field, value):
    with pytest.raises(ValueError, match=field if field != "surface" else "key"):
        O.race(**{field: value})


# ---- notes' forms ---------------------------------------------------------------------------
def test_momentum_forms_on_a_constant_slope():
    beta, lr = 0.9, 0.1
    steps = O.constant_slope_steps(beta=beta, lr=lr, steps=200)
    assert steps["heavy-ball"][-1] == pytest.approx(lr / (1 - beta), rel=1e-6)
    assert steps["notes"][-1] == pytest.approx(lr * (1 + beta), rel=1e-12)
    assert steps["notes"][0] == steps["heavy-ball"][0] == pytest.approx(lr)


def test_notes_momentum_rule_by_hand():
    p = Parameter(np.array([1.0, 2.0]))
    opt = O.NotesMomentum([p], lr=0.1, beta=0.5)
    grads = [np.array([1.0, 0.0]), np.array([0.0, 2.0])]
    for g in grads:
        opt.zero_grad()
        p.grad += g
        opt.step()
    expected = np.array([1.0, 2.0]) - 0.1 * grads[0] - 0.1 * (0.5 * grads[0] + grads[1])
    np.testing.assert_allclose(p.value, expected)


def test_rmsprop_with_eps_equals_the_library_and_without_eps_can_nan():
    lib = O.run_optimizer("rosenbrock", lambda ps: optim.RMSProp(ps, lr=0.01, alpha=0.9), 100)
    notes_eps = O.run_optimizer("rosenbrock", lambda ps: O.NotesRMSProp(ps, lr=0.01, beta=0.9, eps=1e-8), 100)
    assert O.path_gap(lib, notes_eps) < 1e-12
    # on the smooth ravine ε only matters where the gradient is tiny
    lib = O.run_optimizer("ravine", lambda ps: optim.RMSProp(ps, lr=0.01, alpha=0.9), 100)
    notes = O.run_optimizer("ravine", lambda ps: O.NotesRMSProp(ps, lr=0.01, beta=0.9), 100)
    assert 0 < O.path_gap(lib, notes) < 1e-7
    # start on the ravine's axis: the y-gradient is exactly 0, so the notes' rule computes 0/0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bad = O.run_optimizer("ravine", lambda ps: O.NotesRMSProp(ps, lr=0.1, beta=0.9), 10, start=(-4.0, 0.0))
    assert bad.diverged_at == 1
    good = O.run_optimizer("ravine", lambda ps: optim.RMSProp(ps, lr=0.1, alpha=0.9), 10, start=(-4.0, 0.0))
    assert good.diverged_at is None and np.all(good.path[:, 1] == 0)


def test_notes_adam_corrected_equals_the_library():
    lib = O.run_optimizer("wells", lambda ps: optim.Adam(ps, lr=0.05), 80)
    notes = O.run_optimizer("wells", lambda ps: O.NotesAdam(ps, lr=0.05, eps=1e-8), 80)
    assert O.path_gap(lib, notes) < 1e-12


def test_adam_bias_correction_first_step_ratio():
    sizes = O.adam_first_steps(lr=0.1, betas=(0.9, 0.999), steps=5)
    assert sizes["corrected"][0] == pytest.approx(0.1, rel=1e-6)
    assert sizes["uncorrected"][0] / sizes["corrected"][0] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-6)


def test_compare_forms_has_six_runs():
    runs = O.compare_forms(steps=30)
    assert len(runs) == 6 and all(len(t.path) == 31 for t in runs.values())


@pytest.mark.parametrize("make, match", [
    (lambda: O.NotesMomentum([], lr=0.1), "empty"),
    (lambda: O.NotesMomentum([np.zeros(2)], lr=0.1), "Parameter"),
    (lambda: O.NotesMomentum([Parameter(np.zeros(2))], lr=0.0), "lr"),
    (lambda: O.NotesMomentum([Parameter(np.zeros(2))], lr=0.1, beta=1.0), "beta"),
    (lambda: O.NotesRMSProp([Parameter(np.zeros(2))], lr=0.1, eps=-1.0), "eps"),
    (lambda: O.NotesAdam([Parameter(np.zeros(2))], lr=0.1, betas=0.9), "pair"),
    (lambda: O.NotesAdam([Parameter(np.zeros(2))], lr=0.1, betas=(0.9, 1.2)), "betas"),
])
def test_notes_optimizers_validate(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_constant_slope_and_adam_steps_validate():
    with pytest.raises(ValueError, match="beta"):
        O.constant_slope_steps(beta=1.0)
    with pytest.raises(ValueError, match="'g'"):
        O.adam_first_steps(g=(1.0, 2.0, 3.0))


# ---- mini-batches --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def problem():
    return O.regression_problem()


def test_batch_sizes():
    assert O.batch_sizes(256) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert O.batch_sizes(100)[-2:] == [64, 100]
    assert O.batch_sizes(1) == [1]


def test_regression_gradient_matches_finite_differences(problem):
    theta = np.array([0.3, -0.7])
    h = 1e-6
    num = [(problem.loss(*(theta + h * e)) - problem.loss(*(theta - h * e))) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(problem.grad(theta), num, rtol=1e-6)
    np.testing.assert_allclose(problem.grad(problem.solution()), 0, atol=1e-10)


def test_gradient_noise_follows_the_sampling_formula(problem):
    for B in (1, 4, 32):
        measured, predicted = O.gradient_noise(problem, B, draws=3000)
        assert measured == pytest.approx(predicted, rel=0.1)
    assert O.gradient_noise(problem, 256) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert O.gradient_noise(problem, 4)[0] > O.gradient_noise(problem, 64)[0]


def test_minibatch_path_budget_and_full_batch_step(problem):
    tr = O.minibatch_path(problem, 8, epochs=2)
    assert len(tr.path) == 2 * 256 // 8 + 1
    full = O.minibatch_path(problem, 256, epochs=1, lr=0.05)
    start = np.array(O.MINIBATCH_START)
    np.testing.assert_allclose(full.path[1], start - 0.05 * problem.grad(start))


@pytest.mark.parametrize("B", [0, 257, 2.0])
def test_minibatch_rejects_bad_batch_size(problem, B):
    with pytest.raises(ValueError, match="batch_size"):
        O.minibatch_path(problem, B)
    with pytest.raises(ValueError, match="batch_size"):
        O.gradient_noise(problem, B)


def test_minibatch_table_and_caption(problem):
    table = O.minibatch_table(problem)
    assert sorted(table) == O.batch_sizes(256)
    assert table[1]["steps"] == 1024 and table[256]["steps"] == 4
    text = O.minibatch_caption(problem, table, 16)
    assert text.startswith("B = 16: 64 steps of 16 example-gradients each")


# ---- schedules and clipping ------------------------------------------------------------------
def test_lr_schedules_come_from_the_library():
    const = O.lr_schedule("constant", epochs=30, lr=0.05)
    stair = O.lr_schedule("staircase", epochs=30, lr=0.05, step_size=10, gamma=0.1)
    cos = O.lr_schedule("cosine", epochs=30, lr=0.05)
    assert np.all(const == 0.05)
    np.testing.assert_allclose(stair, np.repeat([0.05, 0.005, 0.0005], 10))
    assert cos[0] == 0.05 and cos[15] == pytest.approx(0.025)
    assert np.all(np.diff(cos) < 0)
    with pytest.raises(ValueError, match="kind"):
        O.lr_schedule("linear")
    with pytest.raises(ValueError, match="epochs"):
        O.lr_schedule("constant", epochs=0)


def test_decaying_schedules_end_lower_than_constant(problem):
    final = {k: O.train_with_schedule(problem, k)[-1] for k in O.SCHEDULES}
    assert final["staircase"] < final["constant"] and final["cosine"] < final["constant"]
    floor = float(problem.loss(*problem.solution()))
    assert all(v >= floor for v in final.values())


def test_clipping_tames_the_wall():
    runs = O.clipping_demo()
    assert runs["plain"].diverged_at is not None
    assert runs["clipped"].diverged_at is None and runs["clipped"].final_loss < 1e-2
    steps = np.linalg.norm(np.diff(runs["clipped"].path, axis=0), axis=1)
    assert steps.max() <= 0.1 * 5.0 + 1e-9
    assert runs["clipped"].grad_norms[0] == pytest.approx(math.hypot(216.0, 3.0))
    with pytest.raises(ValueError, match="max_norm"):
        O.clipping_demo(max_norm=0.0)


# ---- checkers --------------------------------------------------------------------------------
def test_check_max_lr():
    right, wrong = O.check_max_lr(0.1), O.check_max_lr(0.05)
    assert right.startswith("Right") and wrong.startswith("Not yet. Hint:")
    assert "0.1" not in wrong
    with pytest.raises(ValueError, match="answer"):
        O.check_max_lr("0.1")


def test_check_momentum_gain():
    assert O.check_momentum_gain(20).startswith("Right")
    wrong = O.check_momentum_gain(1.95)
    assert wrong.startswith("Not yet") and "20" not in wrong
    with pytest.raises(ValueError, match="beta"):
        O.check_momentum_gain(20, beta=1.0)


def test_check_adam_ratio():
    assert O.check_adam_ratio(3.1623).startswith("Right")
    wrong = O.check_adam_ratio(1 / 3.1623)
    assert wrong.startswith("Not yet") and "3.16" not in wrong
    with pytest.raises(ValueError, match="betas"):
        O.check_adam_ratio(3.0, betas=(0.9, 1.0))


# ---- widgets (thin wiring, but they must build and respond) ---------------------------------
def test_race_dashboard_preset_switch_updates_controls():
    box = O.race_dashboard()
    panel = box.children[0]
    presets, surface = panel.children[0], panel.children[1]
    presets.value = "Adam on a ravine"
    assert surface.value == "rosenbrock"
    assert panel.children[-1].value  # the message area is filled
    presets.value = "too high a learning rate"
    assert "diverged" in panel.children[-1].value


def test_minibatch_dashboard_builds(problem):
    table = O.minibatch_table(problem, epochs=1)
    box = O.minibatch_dashboard(problem, table)
    box.children[0].value = 256
    assert "B = 256" in box.children[1].value


# ---- stability of the momentum forms ----------------------------------------------------------
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.6, 0.9])
def test_momentum_limits_match_closed_forms(beta):
    assert O.momentum_limit(beta, "sgd") == pytest.approx(2.0, abs=1e-3)
    assert O.momentum_limit(beta, "heavy-ball") == pytest.approx(2 * (1 + beta), abs=1e-3)
    notes = min(1 / beta, 2 / (1 - beta)) if beta else 2.0
    assert O.momentum_limit(beta, "notes") == pytest.approx(notes, abs=1e-3)


def test_momentum_radius_predicts_the_runs():
    # the race default on the ravine: a = 0.09 * 20 = 1.8 with beta = 0.6
    assert O.momentum_radius(1.8, 0.6, "notes") > 1 > O.momentum_radius(1.8, 0.6, "heavy-ball")
    notes = O.run_optimizer("ravine", lambda ps: O.NotesMomentum(ps, lr=0.09, beta=0.6), 300)
    hb = O.run_optimizer("ravine", lambda ps: optim.SGD(ps, lr=0.09, momentum=0.6), 300)
    assert notes.final_loss > notes.losses[0] and hb.final_loss < 1e-30
    # measured growth per step along the steep axis equals the radius
    ys = np.abs(notes.path[200:, 1])
    peaks = ys[1:-1][(ys[1:-1] >= ys[:-2]) & (ys[1:-1] >= ys[2:])]
    assert (peaks[-1] / peaks[0]) ** (1 / 90) == pytest.approx(float(O.momentum_radius(1.8, 0.6, "notes")), rel=0.02)


def test_momentum_radius_validates():
    with pytest.raises(ValueError, match="form"):
        O.momentum_radius(1.0, 0.5, "nesterov")
    with pytest.raises(ValueError, match="beta"):
        O.momentum_radius(1.0, 1.0)


def test_static_figures_build(problem):
    import matplotlib

    figs = [
        O.plot_compare_forms(O.compare_forms(steps=10)),
        O.plot_momentum_steps(O.constant_slope_steps(steps=5), beta=0.9, lr=0.1),
        O.plot_schedules({k: O.lr_schedule(k, epochs=5) for k in O.SCHEDULES},
                         {k: O.train_with_schedule(problem, k, epochs=5) for k in O.SCHEDULES}, 0.0),
        O.plot_clipping(O.clipping_demo(steps=5)),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
