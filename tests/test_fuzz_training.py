"""Fuzzing losses, optimizers, fit/predict/evaluate, load and TrainingJob (issue 16).

Each property: the call works and obeys its law, or it is refused with a ValueError or
TypeError that names the caller, and then no parameter has changed.
"""

import io
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import nnlib
from nnlib.jobs import TrainingJob
from nnlib.optim import SGD, Adam, RMSProp, clip_grad_norm_
from tests.helpers import training_steps
from tests.strategies import arrays, batches, float_dtypes, fuzz, garbage, medium_ints, shapes, small_ints

LOSSES = [nnlib.MSELoss, nnlib.BCELoss, nnlib.BCEWithLogitsLoss, nnlib.CrossEntropyLoss, nnlib.HingeLoss]


def _valid_target(loss, pred, data):
    n = pred.shape[0]
    if isinstance(loss, nnlib.CrossEntropyLoss):
        return data.draw(st.lists(st.integers(0, max(pred.shape[1] - 1, 0)), min_size=n, max_size=n).map(np.array))
    if isinstance(loss, nnlib.HingeLoss):
        return data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n).map(np.array))
    if isinstance(loss, (nnlib.BCELoss, nnlib.BCEWithLogitsLoss)):
        return data.draw(arrays(pred.shape, dtype=np.float64, lo=0, hi=1))
    return data.draw(arrays(pred.shape, dtype=pred.dtype))


def _losses(make, n, k, dtype, spoil, data):
    loss = make()
    name = type(loss).__name__
    shape = (n, k) if isinstance(loss, (nnlib.CrossEntropyLoss, nnlib.MSELoss)) else (n, 1)
    lo, hi = (0, 1) if isinstance(loss, nnlib.BCELoss) else (-100, 100)
    pred = data.draw(arrays(shape, dtype=dtype, lo=lo, hi=hi))
    target = _valid_target(loss, pred, data)
    if spoil == "nan-pred" and pred.size:
        pred = pred.astype(float)
        pred.flat[0] = np.nan
    elif spoil == "shape":
        target = np.zeros((n + 1, 3))
    elif spoil == "garbage":
        target = data.draw(garbage)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy chatter leaks out of a loss
            value = loss(pred, target)
            grad = loss.backward()
    except (ValueError, TypeError) as err:
        assert str(err).startswith(name), err
        assert spoil != "none" or k == 0, err
        return
    assert isinstance(value, float) and grad.shape == pred.shape
    if spoil == "none" and pred.size:
        assert value >= 0 and np.all(np.isfinite(grad))  # losses are non-negative


test_losses, test_losses_long = fuzz(
    _losses, fast=40, make=st.sampled_from(LOSSES), n=batches, k=st.integers(0, 4), dtype=float_dtypes,
    spoil=st.sampled_from(["none", "none", "nan-pred", "shape", "garbage"]), data=st.data())


def _optimizers(make, shapes_, dtype, nan, kwargs, data):
    params = [nnlib.Parameter(data.draw(arrays(s, dtype=dtype))) for s in shapes_]
    for p in params:
        p.grad[...] = data.draw(arrays(p.shape, dtype=dtype, nan=nan))
    before = [p.value.copy() for p in params]
    cls, make = make
    try:
        opt = make(params, **kwargs)
    except (ValueError, TypeError) as err:
        assert str(err).startswith(cls), err
        assert all(np.array_equal(p.value, b) for p, b in zip(params, before))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):  # a NaN gradient may overflow; it must not raise
            opt.step()
    for p, b in zip(params, before):
        assert p.value.shape == b.shape and p.value.dtype == b.dtype
        if np.all(np.isfinite(p.grad)):
            assert np.all(np.isfinite(p.value))


hyper = st.one_of(st.just({}), st.fixed_dictionaries({"lr": garbage}),
                  st.fixed_dictionaries({"lr": st.floats(1e-4, 1)}), st.fixed_dictionaries({"weight_decay": garbage}))
OPTIMIZERS = [("SGD", lambda ps, **kw: SGD(ps, **{"lr": 0.1, **kw})), ("RMSProp", RMSProp), ("Adam", Adam)]
test_optimizers, test_optimizers_long = fuzz(
    _optimizers, fast=25, make=st.sampled_from(OPTIMIZERS),
    shapes_=st.lists(shapes(0, 3, batch=st.integers(0, 3)), min_size=1, max_size=3), dtype=float_dtypes,
    nan=st.booleans(), kwargs=hyper, data=st.data())


def _clip(grads, max_norm):
    params = [nnlib.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad[...] = g
    finite = all(np.all(np.isfinite(g)) for g in grads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        total = clip_grad_norm_(params, max_norm)
    assert (len(caught) == 0) == finite
    if finite:
        after = np.sqrt(sum(float(np.sum(p.grad.astype(float) ** 2)) for p in params))
        assert after <= max_norm * (1 + 1e-5) + 1e-30
        assert total >= 0


test_clip_grad_norm, test_clip_grad_norm_long = fuzz(
    _clip, fast=25, grads=st.lists(arrays(shapes(1, 3), dtype=float_dtypes, nan=True, lo=-1e20, hi=1e20),
                                   min_size=1, max_size=3),
    max_norm=st.floats(1e-6, 1e6))


# ---- fit, predict, evaluate ------------------------------------------------------------------
BAD_FIT = {
    "epochs": garbage, "batch_size": garbage, "seed": st.one_of(st.text(max_size=2), st.just(-1), st.just(1.5)),
    "shuffle": st.one_of(st.none(), st.integers(0, 1), st.text(max_size=1)),
    "progress": st.one_of(st.none(), st.just("yes")), "callbacks": st.one_of(st.just([object()]), st.just(5)),
    "early_stopping": st.one_of(st.just(5), st.just("es")), "scheduler": st.one_of(st.just("cos"), st.just(0.5)),
    "clip_grad_norm": st.one_of(st.just(-1.0), st.just("1"), st.just(float("nan"))),
    "validation": st.one_of(st.just("val"), st.just((np.ones((3, 2)),)), st.just((np.ones((3, 5)), np.zeros(3)))),
    "X": st.one_of(st.just(np.full((4, 2), np.nan)), st.just(np.ones((4, 3))), st.just(np.ones(4)),
                   st.just([[1.0], [2.0, 3.0]]), st.just(np.array([["a", "b"]] * 4)), st.just(np.ones((0, 2)))),
    "y": st.one_of(st.just(np.array([0, 1, 5, 1])), st.just(np.array([0.5, 1, 1, 0])), st.just(np.array(1)),
                   st.just(np.zeros(3)), st.just(np.eye(2)[[0, 1, 1, 0]]), st.just([[0], [1, 1]])),
}


def _fit_refusals(arg, data):
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 3, 2], rng=0)
    before = [p.value.copy() for p in model.parameters()]
    kwargs = dict(epochs=2, batch_size=2, progress=False, X=X, y=y)
    value = data.draw(BAD_FIT[arg])
    kwargs[arg] = value
    if arg in ("epochs", "batch_size") and isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return  # a valid draw
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises((ValueError, TypeError)) as info:
        nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    message = str(info.value)
    assert message.startswith(("fit:", "ClipGradNorm:", "EarlyStopping")), message
    assert all(np.array_equal(p.value, b) for p, b in zip(model.parameters(), before))


test_fit_refusals, test_fit_refusals_long = fuzz(
    _fit_refusals, fast=30, arg=st.sampled_from(sorted(BAD_FIT)), data=st.data())


def _fit_runs(n, batch_size, epochs, width, use_val, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)).astype(dtype)
    y = rng.integers(0, 2, n)
    model = nnlib.models.mlp([2, width, 2], rng=seed).to(dtype)
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), X, y, epochs=epochs,
                  batch_size=batch_size, validation=(X, y) if use_val else None, seed=seed, progress=False)
    assert h.epochs == epochs and all(len(v) == epochs for v in h.values())
    assert all(np.all(np.isfinite(v)) for v in h.values())
    assert all(p.value.dtype == dtype for p in model.parameters())
    out = nnlib.predict(model, X[:0])
    assert out.shape == (0, 2)
    assert 0 <= nnlib.evaluate(model, X, y) <= 1


test_fit_runs, test_fit_runs_long = fuzz(
    _fit_runs, fast=15, n=st.integers(1, 9), batch_size=st.integers(1, 12), epochs=small_ints, width=medium_ints,
    use_val=st.booleans(), dtype=float_dtypes, seed=st.integers(0, 2**16))


def _predict_evaluate(rows, batch_size, labels, dtype):
    model = nnlib.models.mlp([3, 4, 2], rng=0)
    X = np.ones((rows, 3), dtype)
    try:
        out = nnlib.predict(model, X, batch_size=batch_size)
    except ValueError as err:
        assert str(err).startswith("predict: argument 'batch_size'"), err
        return
    assert out.shape == (rows, 2) and out.dtype == dtype
    try:
        acc = nnlib.evaluate(model, X, labels, batch_size=batch_size)
    except (ValueError, TypeError) as err:
        assert str(err).startswith("evaluate: argument"), err
    else:
        assert 0 <= acc <= 1


test_predict_evaluate, test_predict_evaluate_long = fuzz(
    _predict_evaluate, fast=25, rows=batches, batch_size=st.one_of(garbage, st.integers(1, 4)),
    labels=st.one_of(garbage, st.lists(st.integers(-1, 2), max_size=5).map(np.array)), dtype=float_dtypes)


# ---- load: any damage is one clear error, nothing changes --------------------------------------
def _saved() -> bytes:
    buf = io.BytesIO()
    nnlib.models.mlp([2, 3, 1], rng=0).save(buf)
    return buf.getvalue()


SAVED = _saved()


def _load_damaged(edits, cut):
    data = bytearray(SAVED)
    for at, value in edits:
        data[at % len(data)] = value
    data = bytes(data[: len(data) - cut])
    model = nnlib.models.mlp([2, 3, 1], rng=1)
    before = model.state_dict()
    try:
        model.load(io.BytesIO(data))
    except ValueError as err:
        assert str(err).startswith("Sequential.load:"), err
        assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    else:  # the edits hit bytes nobody reads (time stamps, padding): the saved weights, exactly
        ref = nnlib.models.mlp([2, 3, 1], rng=0).state_dict()
        assert all(np.array_equal(ref[k], v) for k, v in model.state_dict().items())


test_load_damaged, test_load_damaged_long = fuzz(
    _load_damaged, fast=30, edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.just(0), st.integers(0, len(SAVED))))


# ---- TrainingJob: any sequence of button presses ----------------------------------------------
def _job_controls(actions):
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 3, 2], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    loss = nnlib.CrossEntropyLoss()
    job = TrainingJob(model, training_steps(model, opt, loss, X, y, 40), update_every=0.0,
                      on_update=lambda j: j.latest("loss"))
    stopped = False
    for action in actions:
        n = job.n_steps
        if action == "start":
            started = job.start()
            assert (started or job.done) and not (stopped and started)
        elif action == "pause":
            job.pause()
        elif action == "step":
            if job.running:
                with pytest.raises(RuntimeError, match="pause"):
                    job.step()
            else:
                job.step(2)
        elif action == "stop":
            job.stop()
            stopped = True
        elif action == "read":
            assert job.predict(X).shape == (4, 2)
            assert nnlib.predict(model, X).shape == (4, 2)
        assert job.n_steps >= n and job.error is None
        if stopped:
            assert job.state == "finished" and not job.running
    job.stop()
    assert job.n_steps <= 40 and job.start() is False
    # whatever the presses, the weights are those of the first n_steps steps of a plain loop
    ref = nnlib.models.mlp([2, 3, 2], rng=0)
    ref_opt = SGD(ref.parameters(), lr=0.1)
    for _ in range(job.n_steps):
        ref_opt.zero_grad()
        loss(ref(X), y)
        ref.backward(loss.backward())
        ref_opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


test_job_controls, test_job_controls_long = fuzz(
    _job_controls, fast=15,
    actions=st.lists(st.sampled_from(["start", "pause", "step", "stop", "read"]), max_size=8))
