"""nnlib.parallel: numpy's BLAS held to one thread while nnlib computes, and given back."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from nnlib import Conv2d, parallel

threadpoolctl = pytest.importorskip("threadpoolctl")


def _openblas_threads():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "openblas"]


def _has_openblas():
    return bool(_openblas_threads())


needs_openblas = pytest.mark.skipif(not _has_openblas(), reason="numpy's BLAS here is not OpenBLAS")


@needs_openblas
def test_openblas_is_found_and_held():
    assert parallel.blas_pinned()


@needs_openblas
def test_one_blas_thread_inside_and_the_users_setting_back_after():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert set(_openblas_threads()) == {2}
        with parallel.one_blas_thread():
            assert set(_openblas_threads()) == {1}
            with parallel.one_blas_thread():  # nested: still one
                assert set(_openblas_threads()) == {1}
            assert set(_openblas_threads()) == {1}
        assert set(_openblas_threads()) == {2}


@needs_openblas
def test_a_layer_computes_on_one_blas_thread_whichever_thread_runs_the_half():
    seen = []
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        parallel.run_halves(lambda s: seen.append(tuple(_openblas_threads())), 10)
        conv = Conv2d(1, 2, 3, rng=0)
        conv.backward(np.ones_like(conv(np.ones((4, 1, 6, 6)))))
        assert set(_openblas_threads()) == {2}  # given back
    assert len(seen) == 2 and all(set(s) == {1} for s in seen)


@needs_openblas
def test_two_threads_share_the_counter_and_the_last_one_out_restores():
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with parallel.one_blas_thread():
            inside.set()
            leave.wait(10)

    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        t = threading.Thread(target=hold)
        t.start()
        assert inside.wait(10)
        with parallel.one_blas_thread():
            pass
        assert set(_openblas_threads()) == {1}, "the other thread is still inside"
        leave.set()
        t.join()
        assert set(_openblas_threads()) == {2}


@needs_openblas
def test_an_error_inside_still_gives_the_setting_back():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        with pytest.raises(ZeroDivisionError):
            with parallel.one_blas_thread():
                raise ZeroDivisionError("inside")
        assert set(_openblas_threads()) == {2}


def test_nnlib_pin_blas_0_turns_pinning_off():
    code = "from nnlib import parallel; print(parallel.blas_pinned())"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NNLIB_PIN_BLAS="0"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_without_threadpoolctl_nnlib_cuts_its_products(monkeypatch):
    # as if threadpoolctl were not installed: no pinning, and the cut products still agree
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    assert parallel._openblas_thread_setters() == []


# ---- a Sequential of per-sample layers runs half a batch per thread -----------------------------
import nnlib  # noqa: E402
from nnlib import Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, gradcheck  # noqa: E402
from nnlib.lenet import lenet5  # noqa: E402


def _cnn(rng=0):
    return Sequential(Conv2d(1, 3, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(3 * 4 * 4, 5, rng=rng + 1))


def _whole(model, x, g):
    """Forward and backward layer by layer, without the split: the numbers to agree with."""
    out = Sequential.run_forward(model.layers, x)
    model.zero_grad()
    gx = Sequential.run_backward(model.layers, g)
    return out, gx, [p.grad.copy() for p in model.parameters()]


def test_which_networks_split():
    x = np.zeros((4, 1, 8, 8))
    assert parallel.splits(_cnn(), x)
    assert not parallel.splits(_cnn(), x[:1])  # one image: nothing to split
    mlp = Sequential(Flatten(), Linear(64, 3), ReLU(), Linear(3, 2))
    assert not parallel.splits(mlp, x)  # no convolution: small steps, the hand-over would cost more
    with_dropout = Sequential(Conv2d(1, 2, 3), Dropout(0.5), Flatten())
    assert not parallel.splits(with_dropout, x)  # draws random numbers: the order would depend on threads
    assert not parallel.splits(_cnn(), [[1.0]])
    looped = _cnn()
    looped[0].implementation = "reference"
    assert not parallel.splits(looped, x)  # Python loops: two threads would only pass the GIL around


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_network_equals_the_layers_one_after_another(threads, dtype):
    rng = np.random.default_rng(0)
    model = _cnn().to(dtype)
    x = rng.standard_normal((7, 1, 8, 8)).astype(dtype)  # odd: halves of 4 and 3
    g = rng.standard_normal((7, 5)).astype(dtype)
    ref_out, ref_gx, ref_grads = _whole(model, x, g)
    model.zero_grad()
    out = model(x)
    gx = model.backward(g)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    assert out.dtype == gx.dtype == dtype and out.shape == (7, 5) and gx.shape == x.shape
    np.testing.assert_allclose(out, ref_out, **tol)
    np.testing.assert_allclose(gx, ref_gx, **tol)
    for p, ref in zip(model.parameters(), ref_grads):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, ref, **tol)


def test_split_network_passes_gradcheck():
    model = _cnn()
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8))
    assert gradcheck(model, x)


def test_gradients_accumulate_across_two_backward_calls_as_without_the_split():
    rng = np.random.default_rng(2)
    model, x, g = _cnn(), rng.standard_normal((6, 1, 8, 8)), rng.standard_normal((6, 5))
    model(x)
    model.backward(g)
    once = [p.grad.copy() for p in model.parameters()]
    model.backward(g)
    for p, a in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * a, rtol=1e-12)


def test_the_twins_follow_the_layers_settings_values_and_mode():
    rng = np.random.default_rng(3)
    model, x = _cnn(), rng.standard_normal((6, 1, 8, 8))
    model(x)
    # new values (as load and to() bind them), a new dtype, eval mode, no input gradient
    model.load_state_dict({k: v + 1 for k, v in model.state_dict().items()})
    model.to(np.float32).eval()
    model[0].input_grad = False
    ref = Sequential.run_forward(model.layers, x.astype(np.float32))
    out = model(x.astype(np.float32))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert model.backward(np.ones((6, 5), np.float32)) is None
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_a_wrong_gradient_is_refused_with_the_whole_batch_shape():
    model = _cnn()
    model(np.zeros((6, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"\(6, 5\)"):
        model.backward(np.zeros((7, 5)))


def test_twins_are_not_part_of_the_model():
    model = _cnn()
    names = [n for n, _ in model.named_parameters()]
    model(np.zeros((4, 1, 8, 8)))
    assert [n for n, _ in model.named_parameters()] == names
    assert len(list(model.modules())) == 1 + len(model.layers)
    assert set(model.state_dict()) == set(names)


def test_a_training_job_trains_a_split_network_and_predicts_meanwhile():
    X, y, _, _ = nnlib.mnist.load_mnist("5k")
    X, y = X[:512].astype(np.float32), y[:512]
    model = lenet5("modern", rng=0).to(np.float32)
    loss, opt = nnlib.CrossEntropyLoss(), nnlib.optim.SGD(model.parameters(), lr=0.05)

    def steps():
        for i in range(0, 512, 64):
            opt.zero_grad()
            value = loss(model(X[i : i + 64]), y[i : i + 64])
            model.backward(loss.backward())
            opt.step()
            yield value

    job = nnlib.jobs.TrainingJob(model, steps(), update_every=0.01)
    job.start()
    try:
        assert job.predict(X[:8]).shape == (8, 10)  # waits for a step to end, then reads
        refused = False
        while job.running and not refused:
            try:
                model(X[:4])
            except RuntimeError as e:
                refused = "being trained in the background" in str(e)
    finally:
        job.stop()
        job.join(30)
    assert job.state == "finished" and job.error is None, job.error
    assert refused or job.n_steps == 8


def test_a_parameter_removed_from_a_layer_is_dropped_by_its_twin():
    model, x = _cnn(), np.random.default_rng(4).standard_normal((4, 1, 8, 8))
    model.backward(np.ones_like(model(x)))
    model[4].bias = None  # the Linear layer loses its bias between two steps
    out = model(x)
    model.zero_grad()
    model.backward(np.ones_like(out))
    assert [n for n, _ in model.named_parameters()][-1] == "4.weight"
