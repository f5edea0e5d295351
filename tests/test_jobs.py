"""nnlib.jobs.TrainingJob: background steps, pause/step/stop, safe reads, bit-identical results."""

import threading
import time

import numpy as np
import pytest

import nnlib
from nnlib.jobs import TrainingJob
from nnlib.module import guarded
from nnlib.optim import SGD


def problem(seed=0):
    X, y = nnlib.datasets.moons(200, noise=0.1, seed=seed)
    model = nnlib.models.mlp([2, 16, 2], rng=seed)
    return X, y, model


def steps(model, X, y, n_epochs=3, batch=20, seed=0, delay=0.0):
    loss_fn = nnlib.CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    for epoch in range(n_epochs):
        order = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            opt.step()
            if delay:
                time.sleep(delay)
            yield {"loss": loss, "epoch": epoch}


def weights(model):
    return [p.value.copy() for p in model.parameters()]


def test_background_run_equals_a_plain_loop_bit_for_bit():
    X, y, a = problem()
    for _ in steps(a, X, y):
        pass
    _, _, b = problem()
    job = TrainingJob(b, steps(b, X, y))
    assert job.start()
    assert job.join(timeout=30)
    assert job.state == "finished" and job.n_steps == 30
    for p, q in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(p, q)


def test_pause_step_resume_equal_an_uninterrupted_run():
    X, y, a = problem()
    TrainingJob(a, steps(a, X, y)).run()
    _, _, b = problem()
    job = TrainingJob(b, steps(b, X, y, delay=0.002))
    job.start()
    time.sleep(0.02)
    job.pause()
    assert job.state == "paused"
    done = job.n_steps
    assert job.step(3) == 3 and job.n_steps == done + 3
    job.start()
    job.join(timeout=30)
    assert job.state == "finished"
    for p, q in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(p, q)


def test_reads_during_training_are_safe_and_training_is_untouched():
    X, y, a = problem()
    TrainingJob(a, steps(a, X, y, n_epochs=5)).run()
    _, _, b = problem()
    job = TrainingJob(b, steps(b, X, y, n_epochs=5, delay=0.001))
    job.start()
    reads = refused = 0
    while job.running:
        out = job.predict(X)
        assert out.shape == (200, 2) and np.all(np.isfinite(out))
        reads += 1
        try:
            b(X)  # a direct call from another thread is refused, not interleaved
        except RuntimeError as err:
            assert "trained in the background" in str(err)
            refused += 1
        else:
            assert not job.running  # allowed only once the job has ended
    job.join()
    assert reads > 0 and refused > 0 and job.state == "finished"
    for p, q in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(p, q)


def test_a_paused_job_lets_the_notebook_use_the_model():
    X, y, m = problem()
    job = TrainingJob(m, steps(m, X, y))
    job.step(2)
    assert m(X).shape == (200, 2)  # paused: nothing runs in the background
    with guarded(m):
        assert m(X[:3]).shape == (3, 2)


def test_stop_finishes_for_good_and_restart_does_nothing():
    X, y, m = problem()
    job = TrainingJob(m, steps(m, X, y, delay=0.002))
    job.start()
    job.stop()
    assert job.state == "finished"
    n = job.n_steps
    assert job.start() is False
    time.sleep(0.02)
    assert job.n_steps == n
    job.stop()  # stopping a finished job is harmless
    assert "_guard" not in vars(m)


def test_on_update_is_throttled_and_called_at_the_end():
    X, y, m = problem()
    calls = []
    job = TrainingJob(m, steps(m, X, y), on_update=lambda j: calls.append(j.n_steps), update_every=10.0)
    job.start()
    job.join()
    assert calls == [30]  # never inside the 10 s window, once when it finished


def test_a_failing_step_is_kept_and_reported():
    X, y, m = problem()

    def bad():
        yield 1.0
        raise ValueError("boom")

    job = TrainingJob(m, bad())
    job.start()
    job.join()
    assert job.state == "failed" and isinstance(job.error, ValueError)
    assert job.history == [{"loss": 1.0}]
    with pytest.raises(ValueError, match="boom"):
        TrainingJob(m, bad()).run()


def test_history_helpers():
    X, y, m = problem()
    job = TrainingJob(m, steps(m, X, y, n_epochs=1)).run()
    assert job.curve("loss").shape == (10,)
    assert job.latest("epoch") == 0
    assert np.isnan(TrainingJob(m, iter(())).latest("loss"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(model="m", steps=[]), "argument 'model'"),
    (dict(steps=3), "argument 'steps'"),
    (dict(steps=[], on_update=5), "argument 'on_update'"),
    (dict(steps=[], update_every=-1), "update_every"),
])
def test_bad_arguments_are_named(kwargs, match):
    _, _, m = problem()
    kwargs.setdefault("model", m)
    with pytest.raises((TypeError, ValueError), match=match):
        TrainingJob(**kwargs)


def test_one_model_cannot_be_trained_by_two_running_jobs():
    X, y, m = problem()
    job = TrainingJob(m, steps(m, X, y, delay=0.002))
    job.start()
    try:
        with pytest.raises(RuntimeError, match="already being trained"):
            TrainingJob(m, steps(m, X, y))
    finally:
        job.stop()


def test_step_while_running_is_refused():
    X, y, m = problem()
    job = TrainingJob(m, steps(m, X, y, n_epochs=50, delay=0.001))
    job.start()
    try:
        with pytest.raises(RuntimeError, match="pause"):
            job.step()
    finally:
        job.stop()
    assert threading.active_count() >= 1
