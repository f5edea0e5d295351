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
