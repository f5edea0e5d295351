"""nnlib.widgets.training.TrainingPanel: buttons over a background job, a figure that follows it."""

import time

import numpy as np
import pytest

import nnlib
from nnlib import viz
from nnlib.jobs import TrainingJob
from nnlib.optim import SGD
from nnlib.widgets import int_slider, log_slider
from nnlib.widgets.training import TrainingPanel
from tests.helpers import training_steps

X, Y = nnlib.datasets.moons(120, noise=0.1, seed=0)


def make_job(lr, width, epochs=40, delay=0.0):
    model = nnlib.models.mlp([2, width, 2], rng=0)
    loss_fn = nnlib.CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=lr)

    def record(loss):
        if delay:
            time.sleep(delay)
        return loss

    return TrainingJob(model, training_steps(model, opt, loss_fn, X, Y, epochs, record))


def panel(**kwargs):
    fig, ax = viz.figure()
    (curve,) = ax.plot([], [])
    ax.set_xlim(0, 40)
    ax.set_ylim(0, 1)
    seen = []

    def draw(job):
        loss = job.curve("loss")
        curve.set_data(np.arange(len(loss)), loss)
        acc = float((job.model(X).argmax(1) == Y).mean())  # reading the model is safe here
        seen.append(job.n_steps)
        return f"accuracy {acc:.2f}"

    knobs = dict(lr=log_slider(0.5, 1e-3, 1.0), width=int_slider(8, 1, 32))
    return TrainingPanel(lambda lr, width: make_job(lr, width, **kwargs), draw, fig, **knobs), seen


def wait_until(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_train_runs_in_the_background_and_the_figure_follows():
    p, seen = panel(delay=0.005)
    assert p.job.state == "ready" and seen == [0]
    p.train()
    wait_until(lambda: p.job.done)
    p.job.join()
    assert p.job.n_steps == 40 and seen[-1] == 40  # the last redraw shows the finished run
    assert "finished" in p.status.value and "loss" in p.status.value
    assert "accuracy" in p.live.text


def test_pause_then_step_then_reset():
    p, seen = panel(delay=0.01)
    p.train()
    wait_until(lambda: p.job.n_steps >= 2)
    p.pause()
    n = p.job.n_steps
    assert p.job.state == "paused" and "paused" in p.status.value
    p.step()
    assert p.job.n_steps == n + 1 and seen[-1] == n + 1
    p.reset()
    assert p.job.n_steps == 0 and p.job.state == "ready" and seen[-1] == 0


def test_train_after_the_run_finished_starts_again():
    p, _ = panel()
    p.train()
    wait_until(lambda: p.job.done)
    old = p.job
    p.train()
    assert p.job is not old
    wait_until(lambda: p.job.done)
    assert p.job.n_steps == 40


def test_moving_a_knob_starts_a_new_run_and_keeps_training():
    p, _ = panel(delay=0.01)
    p.train()
    wait_until(lambda: p.job.n_steps >= 1)
    old = p.job
    p.live.controls["width"].value = 4
    assert p.job is not old and old.state == "finished"
    assert p.job.model[0].out_features == 4
    wait_until(lambda: p.job.n_steps >= 1)  # it was training, so the new run trains too
    p.close()
    assert p.job.state == "finished"


def test_a_knob_move_draws_only_the_new_run():
    p, seen = panel(delay=0.01)
    p.train()
    wait_until(lambda: p.job.n_steps >= 2)
    p.pause()
    drawn = len(seen)
    p.live.controls["width"].value = 4
    assert seen[drawn:] == [0]  # the replaced run is not drawn once more (a wasted render per knob move)


def test_a_knob_moved_while_paused_leaves_the_new_run_ready():
    p, _ = panel()
    p.live.controls["lr"].value = 0.1
    assert p.job.state == "ready" and p.job.n_steps == 0


def test_a_failing_run_shows_its_error():
    fig, _ = viz.figure()

    def bad_job():
        model = nnlib.models.mlp([2, 2], rng=0)

        def steps():
            yield 1.0
            raise FloatingPointError("diverged")

        return TrainingJob(model, steps())

    p = TrainingPanel(bad_job, lambda job: "", fig)
    p.train()
    wait_until(lambda: p.job.done)
    p.job.join()
    p.pause()
    assert p.job.state == "failed" and "FloatingPointError: diverged" in p.status.value


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(make_job=3), TypeError, "make_job"),
    (dict(fps=0), ValueError, "fps"),
    (dict(make_job=lambda: "no job"), TypeError, "must return a TrainingJob"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    fig, _ = viz.figure()
    kwargs.setdefault("make_job", lambda: make_job(0.1, 2))
    with pytest.raises(error, match=match):
        TrainingPanel(draw=lambda job: "", fig=fig, **kwargs)
