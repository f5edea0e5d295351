"""The tuned kernels (nnlib.kernels) against the readable references, gradients in float64,
and results that do not depend on the number of threads (ours or BLAS's)."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import AvgPool2d, Conv2d, MaxPool2d, gradcheck, kernels, parallel
from nnlib.conv import conv2d_backward, conv2d_forward, conv2d_im2col, conv2d_im2col_backward
from nnlib.conv_reference import (
    avg_pool2d_reference,
    avg_pool2d_reference_backward,
    conv2d_reference,
    conv2d_reference_backward,
    max_pool2d_reference,
    max_pool2d_reference_backward,
)
from nnlib.lenet import lenet5

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


@st.composite
def conv_cases(draw):
    """A convolution whose kernel fits the padded input, by construction."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 9))
    W = draw(st.integers(max(1, kw - 2 * pw), 9))
    return dict(N=draw(st.integers(1, 4)), C=draw(st.integers(1, 3)), O=draw(st.integers(1, 3)),
                H=H, W=W, kernel=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                padding=(ph, pw), bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)),
                dtype=draw(st.sampled_from([np.float64, np.float32])),
                channel_major=draw(st.booleans()))


def _conv_data(c):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["C"], c["N"], c["H"], c["W"]) if c["channel_major"]
                            else (c["N"], c["C"], c["H"], c["W"]))
    if c["channel_major"]:  # the memory layout conv layers hand to each other
        x = x.transpose(1, 0, 2, 3)
    w = rng.standard_normal((c["O"], c["C"], *c["kernel"]))
    b = rng.standard_normal(c["O"]) if c["bias"] else None
    dt = c["dtype"]
    return x.astype(dt), w.astype(dt), None if b is None else b.astype(dt), rng


@settings(max_examples=60, deadline=None)
@given(c=conv_cases(), threads=st.sampled_from([1, 2]), input_grad=st.booleans(), pinned=st.booleans())
def test_fast_conv_equals_reference_forward_and_backward(c, threads, input_grad, pinned):
    # pinned=False: the products where BLAS cannot be held to one thread (cut into pieces)
    x, w, b, rng = _conv_data(c)
    kernels.set_num_threads(threads)
    enabled, parallel._blas["enabled"] = parallel._blas["enabled"], pinned
    try:
        out, cache = conv2d_forward(x, w, b, c["stride"], c["padding"])
        g = rng.standard_normal(out.shape).astype(c["dtype"])
        gx, gw, gb = conv2d_backward(g, cache, input_grad=input_grad)
    finally:
        kernels.set_num_threads(2)
        parallel._blas["enabled"] = enabled
    # the reference in float64 on the same (possibly float32) numbers
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)
    ref = conv2d_reference(x64, w64, None if b is None else b.astype(np.float64), c["stride"], c["padding"])
    rx, rw, rb = conv2d_reference_backward(g64, x64, w64, c["stride"], c["padding"])
    assert out.dtype == gw.dtype == gb.dtype == c["dtype"]
    tol = TOL[c["dtype"]]
    np.testing.assert_allclose(out, ref, **tol)
    np.testing.assert_allclose(gw, rw, **tol)
    np.testing.assert_allclose(gb, rb, **tol)
    if input_grad:
        assert gx.dtype == c["dtype"] and gx.shape == x.shape
        np.testing.assert_allclose(gx, rx, **tol)
    else:
        assert gx is None


@settings(max_examples=40, deadline=None)
@given(c=conv_cases())
def test_im2col_path_equals_reference(c):
    x, w, b, rng = _conv_data(c)
    out = conv2d_im2col(x, w, b, c["stride"], c["padding"])
    np.testing.assert_allclose(out, conv2d_reference(x, w, b, c["stride"], c["padding"]), **TOL[c["dtype"]])
    g = rng.standard_normal(out.shape).astype(c["dtype"])
    for a, r in zip(conv2d_im2col_backward(g, x, w, c["stride"], c["padding"]),
                    conv2d_reference_backward(g, x, w, c["stride"], c["padding"])):
        np.testing.assert_allclose(a, r, **TOL[c["dtype"]])


@pytest.mark.parametrize("implementation", ["fast", "im2col", "reference"])
@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1), ((2, 1), (0, 1))])
def test_conv2d_layer_gradcheck_every_implementation(implementation, stride, padding):
    layer = Conv2d(2, 3, (3, 2), stride=stride, padding=padding, rng=0, implementation=implementation)
    x = np.random.default_rng(1).standard_normal((3, 2, 6, 5))
    assert gradcheck(layer, x) < 1e-6  # ~1e-8 when right, O(1) when wrong


def test_eval_mode_forward_and_backward_equal_training_mode(threads):
    # evaluation unfolds 32 images at a time into one reused buffer: 70 images = 3 blocks
    x = np.random.default_rng(0).standard_normal((70, 2, 9, 9))
    g = np.random.default_rng(1).standard_normal((70, 4, 9, 9))
    train, evalm = Conv2d(2, 4, 3, padding=1, rng=0), Conv2d(2, 4, 3, padding=1, rng=0).eval()
    np.testing.assert_allclose(train(x), evalm(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(train.backward(g), evalm.backward(g), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(train.weight.grad, evalm.weight.grad, rtol=1e-12)


def test_outputs_are_fresh_arrays_never_overwritten_by_the_next_batch(threads):
    conv, pool = Conv2d(1, 2, 3, padding=1, rng=0), MaxPool2d(2)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 4, 1, 6, 6))
    y1 = conv(x1)
    p1 = pool(y1)
    kept_y, kept_p = y1.copy(), p1.copy()
    conv.backward(np.ones_like(y1))
    pool(conv(x2))
    np.testing.assert_array_equal(y1, kept_y)
    np.testing.assert_array_equal(p1, kept_p)


def test_input_grad_false_skips_the_input_gradient_only():
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    g = np.random.default_rng(1).standard_normal((3, 2, 8, 8))
    full, first = Conv2d(1, 2, 3, padding=1, rng=0), Conv2d(1, 2, 3, padding=1, rng=0, input_grad=False)
    for implementation in ("fast", "im2col", "reference"):
        full.implementation = first.implementation = implementation
        full.zero_grad(), first.zero_grad()
        full(x), first(x)
        assert full.backward(g) is not None and first.backward(g) is None
        np.testing.assert_allclose(first.weight.grad, full.weight.grad, rtol=1e-12)
        np.testing.assert_allclose(first.bias.grad, full.bias.grad, rtol=1e-12)
    assert "input_grad=False" in repr(first)


# ---- pooling ---------------------------------------------------------------------------------
@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    disjoint = draw(st.booleans())
    stride = (kh, kw) if disjoint else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return dict(N=draw(st.integers(1, 4)), C=draw(st.integers(1, 3)),
                H=draw(st.integers(kh, 9)), W=draw(st.integers(kw, 9)), kernel=(kh, kw),
                stride=stride, seed=draw(st.integers(0, 2**16)), integers=draw(st.booleans()),
                dtype=draw(st.sampled_from([np.float64, np.float32])), channel_major=draw(st.booleans()))


@settings(max_examples=80, deadline=None)
@given(c=pool_cases(), threads=st.sampled_from([1, 2]))
def test_pool_layers_equal_the_loop_references(c, threads):
    rng = np.random.default_rng(c["seed"])
    shape = (c["C"], c["N"], c["H"], c["W"]) if c["channel_major"] else (c["N"], c["C"], c["H"], c["W"])
    # small integers make ties (the gradient must go to the first maximum only)
    x = rng.integers(0, 3, shape) if c["integers"] else rng.standard_normal(shape)
    x = x.astype(c["dtype"])
    x = x.transpose(1, 0, 2, 3) if c["channel_major"] else x
    kernels.set_num_threads(threads)
    try:
        for layer, ref, ref_back in ((MaxPool2d, max_pool2d_reference, max_pool2d_reference_backward),
                                     (AvgPool2d, avg_pool2d_reference, avg_pool2d_reference_backward)):
            pool = layer(c["kernel"], c["stride"])
            out = pool(x)
            g = rng.standard_normal(out.shape).astype(c["dtype"])
            gx = pool.backward(g)
            assert out.dtype == gx.dtype == c["dtype"]
            np.testing.assert_allclose(out, ref(x, c["kernel"], c["stride"]), **TOL[c["dtype"]])
            np.testing.assert_allclose(gx, ref_back(g, x, c["kernel"], c["stride"]), **TOL[c["dtype"]])
    finally:
        kernels.set_num_threads(2)


@pytest.mark.parametrize("implementation", ["fast", "reference"])
@pytest.mark.parametrize("layer", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize("kernel, stride", [(2, None), ((2, 3), None), (3, 2), (2, 1)])
def test_pool_gradcheck_every_implementation(layer, implementation, kernel, stride):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))  # no ties: max is smooth here
    assert gradcheck(layer(kernel, stride, implementation=implementation), x) < 1e-6


def test_pool_references_on_a_worked_example():
    x = np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 1, 8, 3]], float)[None, None]
    np.testing.assert_array_equal(max_pool2d_reference(x, 2)[0, 0], [[4, 2], [6, 8]])
    np.testing.assert_array_equal(avg_pool2d_reference(x, 2)[0, 0], [[2.5, 1.0], [3.0, 3.5]])
    g = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(max_pool2d_reference_backward(g, x, 2)[0, 0],
                                  [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    np.testing.assert_array_equal(avg_pool2d_reference_backward(g, x, 2)[0, 0], np.full((4, 4), 0.25))


# ---- threads ---------------------------------------------------------------------------------
def test_halves_split_the_batch_the_same_way_whatever_the_threads():
    assert kernels.halves(64) == [slice(0, 32), slice(32, 64)]
    assert kernels.halves(5) == [slice(0, 3), slice(3, 5)]
    assert kernels.halves(1) == [slice(0, 1)]


def test_set_num_threads_validates():
    with pytest.raises(ValueError, match="'n' must be 1 or 2, got 3"):
        kernels.set_num_threads(3)


def _train(steps=4, dtype=np.float32, seed=0):
    X, y, _, _ = nnlib.mnist.load_mnist("5k")
    model = lenet5("modern", rng=seed).to(dtype)
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for i in range(steps):
        xb, yb = X[i * 50 : (i + 1) * 50].astype(dtype), y[i * 50 : (i + 1) * 50]
        opt.zero_grad()
        loss(model(xb), yb)
        model.backward(loss.backward())
        opt.step()
    return [p.value.copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_seed_same_weights_bit_for_bit_with_one_or_two_threads(dtype):
    runs = {}
    for n in (1, 2):
        kernels.set_num_threads(n)
        runs[n] = _train(dtype=dtype)
    kernels.set_num_threads(2)
    for a, b in zip(runs[1], runs[2]):
        np.testing.assert_array_equal(a, b)


_BLAS_PROBE = """
import hashlib, numpy as np, nnlib
from nnlib import AvgPool2d, Conv2d, MaxPool2d, kernels
rng = np.random.default_rng(0)
parts = []
for dtype in (np.float32, np.float64):
    for pool in (MaxPool2d, AvgPool2d):
        net = nnlib.Sequential(Conv2d(1, 6, 5, padding=2, rng=0), pool(2), Conv2d(6, 16, 5, rng=1), pool(2))
        net.to(dtype)
        x = rng.random((64, 1, 28, 28)).astype(dtype)
        y = net(x)
        parts += [y, net.backward(np.ones_like(y))] + [p.grad for p in net.parameters()]
    a, b = rng.standard_normal((64, 400)).astype(dtype), rng.standard_normal((400, 120)).astype(dtype)
    parts += [kernels.matmul(a, b), kernels.matmul(b.T, a.T)]
print(hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest())
"""


@pytest.mark.parametrize("pin", ["1", "0"], ids=["BLAS held to one thread", "cut products"])
def test_blas_thread_count_does_not_change_conv_pool_or_matmul_results(pin):
    # float32 products that OpenBLAS threads (a plain (64, 400) @ (400, 120) with the Haswell
    # kernels, a (512, 784) @ (784, 256) with the SkylakeX ones) change with OPENBLAS_NUM_THREADS
    digests = set()
    for n in ("1", "2"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, NNLIB_PIN_BLAS=pin)
        out = subprocess.run([sys.executable, "-c", _BLAS_PROBE], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests


_TRAIN_PROBE = """
import hashlib, numpy as np, nnlib
from nnlib.lenet import lenet5
rng = np.random.default_rng(0)
mlp = nnlib.Sequential(nnlib.Linear(784, 256, rng=0), nnlib.ReLU(), nnlib.Linear(256, 10, rng=1))
parts = []
for model, shape, batch in ((lenet5("modern", rng=0), (1, 28, 28), 64), (mlp, (784,), 512)):
    model.to(np.float32)
    loss, opt = nnlib.CrossEntropyLoss(), nnlib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        x = rng.random((batch,) + shape, dtype=np.float32)
        opt.zero_grad()
        loss(model(x), rng.integers(0, 10, batch))
        model.backward(loss.backward())
        opt.step()
    parts += [p.value for p in model.parameters()]
    assert all(p.dtype == np.float32 for p in parts)
print(hashlib.sha256(b"".join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest())
"""


@pytest.mark.parametrize("pin", ["1", "0"], ids=["BLAS held to one thread", "cut products"])
def test_training_weights_do_not_depend_on_blas_or_nnlib_threads(pin):
    # The MLP's (512, 784) @ (784, 256) is a product that OpenBLAS threads, and a plain @
    # then gives other last bits with 2 BLAS threads than with 1: Linear uses kernels.matmul.
    digests = {}
    for blas, halves in (("1", "1"), ("2", "2"), ("2", "1")):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=blas, OMP_NUM_THREADS=blas, NNLIB_NUM_THREADS=halves,
                   NNLIB_PIN_BLAS=pin)
        out = subprocess.run([sys.executable, "-c", _TRAIN_PROBE], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        digests[blas, halves] = out.stdout.strip()
    assert len(set(digests.values())) == 1, digests


@pytest.mark.parametrize("pinned", [True, False], ids=["BLAS held to one thread", "cut products"])
def test_matmul_equals_numpy(pinned, monkeypatch):
    monkeypatch.setitem(parallel._blas, "enabled", pinned)
    rng = np.random.default_rng(0)
    for shape_a, shape_b in [((64, 400), (400, 120)), ((120, 64), (64, 400)), ((3, 5), (5, 2)),
                             ((1, 3000), (3000, 200)), ((7, 2500), (2500, 9)), ((4, 0), (0, 3))]:
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        np.testing.assert_allclose(kernels.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_two_models_train_at_once_in_two_threads():
    expected = _train(dtype=np.float64, seed=1)
    results = {}

    def work(key, seed):
        results[key] = _train(dtype=np.float64, seed=seed)

    threads = [threading.Thread(target=work, args=(k, 1)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in ("a", "b"):
        for a, b in zip(results[key], expected):
            np.testing.assert_array_equal(a, b)


def test_an_error_in_either_half_reaches_the_caller(threads):
    def fail_on(which):
        def fn(s):
            if (s.start > 0) == which:
                raise ZeroDivisionError(f"half {int(which)}")
            return s
        return fn

    for which in (False, True):
        with pytest.raises(ZeroDivisionError, match=f"half {int(which)}"):
            kernels.run_halves(fail_on(which), 10)
    assert kernels.run_halves(lambda s: s.stop - s.start, 9) == [5, 4]


def test_nnlib_num_threads_environment_variable():
    code = "from nnlib import kernels; print(kernels.get_num_threads())"
    for value, expected in (("1", "1"), ("2", "2")):
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NNLIB_NUM_THREADS=value),
                             capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == expected, out.stderr
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NNLIB_NUM_THREADS="four"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "NNLIB_NUM_THREADS must be 1 or 2, got 'four'" in out.stderr


@pytest.mark.parametrize("layer", [Conv2d(1, 2, 3, padding=1), Conv2d(1, 2, 3, stride=2), MaxPool2d(2), AvgPool2d(2)])
def test_an_empty_batch_goes_through(layer):
    y = layer(np.zeros((0, 1, 6, 6)))
    assert y.shape[0] == 0 and layer.backward(np.zeros_like(y)).shape == (0, 1, 6, 6)


def test_float32_end_to_end_no_float64_sneaks_in():
    # every activation and every gradient of a float32 LeNet-5 step stays float32, fused or not
    X, y, _, _ = nnlib.mnist.load_mnist("5k")
    for variant in ("modern", "classic"):
        model = lenet5(variant, rng=0).to(np.float32)
        loss = nnlib.CrossEntropyLoss()
        opt = nnlib.optim.Adam(model.parameters(), lr=1e-3)
        xb, yb = X[:10].astype(np.float32), y[:10]
        h, dtypes = xb, []
        for layer in model:  # layer by layer
            h = layer(h)
            dtypes.append(h.dtype)
        assert model(xb).dtype == np.float32  # through Sequential (fused pairs)
        opt.zero_grad()
        loss(model(xb), yb)  # the loss value itself is a Python float, by design
        g = loss.backward()
        dtypes += [g.dtype, model.backward(g).dtype]
        opt.step()
        dtypes += [a.dtype for p in model.parameters() for a in (p.value, p.grad)]
        assert set(dtypes) == {np.dtype(np.float32)}, (variant, dtypes)
