"""MaxPool2d and AvgPool2d against plain loops, gradient checks, ties, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import AvgPool2d, MaxPool2d, gradcheck
from nnlib.conv import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward


def loop_pool(x, k, s, reduce):
    """Pooling by explicit loops over output pixels: the definition, for comparison."""
    (kh, kw), (sh, sw) = k, s
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.empty((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = reduce(x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw], axis=(2, 3))
    return out


def loop_max_backward(x, g, k, s):
    """Each window sends its gradient to its first maximum (row-major), as PyTorch does."""
    (kh, kw), (sh, sw) = k, s
    gx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    win = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    p, q = np.unravel_index(np.argmax(win), win.shape)
                    gx[n, c, i * sh + p, j * sw + q] += g[n, c, i, j]
    return gx


def test_worked_examples():
    x = np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 1, 2], [0, 1, 8, 3]], float)[None, None]
    np.testing.assert_array_equal(max_pool2d(x, 2)[0, 0], [[4, 2], [6, 8]])
    np.testing.assert_array_equal(avg_pool2d(x, 2)[0, 0], [[2.5, 1.0], [3.0, 3.5]])
    np.testing.assert_array_equal(MaxPool2d(2)(x), max_pool2d(x, 2))
    np.testing.assert_array_equal(AvgPool2d(2)(x), avg_pool2d(x, 2))


def test_stride_defaults_to_kernel_and_floor_rule_drops_the_ragged_edge():
    x = np.arange(2 * 3 * 7 * 5, dtype=float).reshape(2, 3, 7, 5)
    assert MaxPool2d(2)(x).shape == (2, 3, 3, 2)
    assert AvgPool2d(3, 2)(x).shape == (2, 3, 3, 2)
    assert MaxPool2d((2, 1), (1, 2))(x).shape == (2, 3, 6, 3)


@pytest.mark.parametrize("k, s", [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((1, 1), (1, 1)),
                                  ((3, 2), (3, 1))])
def test_against_loops_forward_and_backward(k, s):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 8))
    g = rng.standard_normal(loop_pool(x, k, s, np.max).shape)
    np.testing.assert_array_equal(max_pool2d(x, k, s), loop_pool(x, k, s, np.max))
    np.testing.assert_allclose(avg_pool2d(x, k, s), loop_pool(x, k, s, np.mean), atol=1e-12)
    np.testing.assert_allclose(max_pool2d_backward(g, x, k, s), loop_max_backward(x, g, k, s), atol=1e-12)
    # average pooling: backward is the transpose of the (linear) forward map
    gx = avg_pool2d_backward(g, x, k, s)
    assert np.isclose(np.sum(gx * x), np.sum(g * avg_pool2d(x, k, s)))


@settings(max_examples=50, deadline=None)
@given(N=st.integers(1, 2), C=st.integers(1, 3), H=st.integers(1, 7), W=st.integers(1, 7),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       seed=st.integers(0, 1000), integers=st.booleans())
def test_generated_shapes_match_loops(N, C, H, W, kh, kw, sh, sw, seed, integers):
    rng = np.random.default_rng(seed)
    # small integers make ties common, which tests the first-maximum rule
    x = rng.integers(0, 3, (N, C, H, W)).astype(float) if integers else rng.standard_normal((N, C, H, W))
    if kh > H or kw > W:
        with pytest.raises(ValueError, match="larger than the padded input"):
            MaxPool2d((kh, kw), (sh, sw))(x)
        return
    k, s = (kh, kw), (sh, sw)
    layer = MaxPool2d(k, s)
    out = layer(x)
    np.testing.assert_array_equal(out, loop_pool(x, k, s, np.max))
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(g), loop_max_backward(x, g, k, s), atol=1e-12)
    avg = AvgPool2d(k, s)
    np.testing.assert_allclose(avg(x), loop_pool(x, k, s, np.mean), atol=1e-12)


def test_ties_send_the_gradient_to_the_first_maximum_only():
    x = np.zeros((1, 1, 2, 2))  # e.g. a window that a ReLU zeroed: four equal maxima
    layer = MaxPool2d(2)
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.full((1, 1, 1, 1), 3.0))[0, 0], [[0, 3], [0, 0]])


@pytest.mark.parametrize("layer", [MaxPool2d(2), MaxPool2d(3, 2), MaxPool2d((2, 3), (1, 2)),
                                   AvgPool2d(2), AvgPool2d(3, 1), AvgPool2d((3, 2), (2, 1))])
def test_gradcheck(layer):
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7))  # no ties: max is differentiable
    assert gradcheck(layer, x) < 1e-6


def test_overlapping_windows_accumulate_gradient():
    x = np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]])
    layer = MaxPool2d(2, 1)  # the centre is the maximum of all four windows
    layer(x)
    assert layer.backward(np.ones((1, 1, 2, 2)))[0, 0, 1, 1] == 4.0


def test_dtypes_are_kept():
    x32 = np.random.default_rng(0).random((2, 2, 4, 4), dtype=np.float32)
    for layer in (MaxPool2d(2), AvgPool2d(2), AvgPool2d(3, 1)):
        y = layer(x32)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_non_contiguous_input():
    x = np.random.default_rng(2).standard_normal((3, 2, 6, 6))
    view = x.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3)  # channel-major memory
    for f in (max_pool2d, avg_pool2d):
        np.testing.assert_array_equal(f(view, 2), f(x, 2))


def test_repr_like_pytorch():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2)"
    assert repr(AvgPool2d((2, 3), 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1)"
    assert MaxPool2d(2).parameters() == []


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_bad_input(cls):
    with pytest.raises(ValueError, match="'kernel_size' must be > 0"):
        cls(0)
    with pytest.raises(ValueError, match="'stride' must be > 0"):
        cls(2, 0)
    with pytest.raises(ValueError, match="int or a pair of ints"):
        cls(2.0)
    layer = cls(2)
    with pytest.raises(ValueError, match=r"expected a 4-D array, got 2-D with shape \(4, 4\)"):
        layer(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"kernel \(3\) is larger than the padded input along the width"):
        cls(3)(np.zeros((1, 1, 5, 2)))
    with pytest.raises(RuntimeError, match="call forward"):
        cls(2).backward(np.zeros((1, 1, 1, 1)))
    layer(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"'grad_y' expected shape \(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 4, 4)))


def test_functional_backward_validates():
    with pytest.raises(ValueError, match=r"'grad_out' expected shape \(1, 1, 2, 2\)"):
        max_pool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match=r"'grad_out' expected shape \(1, 1, 2, 2\)"):
        avg_pool2d_backward(np.zeros((1, 2, 2, 2)), np.zeros((1, 1, 4, 4)), 2)


@pytest.mark.parametrize("k", [2, 3, (2, 3)])
def test_layers_disjoint_window_path_equals_the_general_one(k):
    # Disjoint windows (stride == kernel) take a faster route inside the layers; it must agree
    # with the functional forms for every memory layout, ragged edges and ties included.
    rng = np.random.default_rng(7)
    base = rng.integers(0, 3, (3, 2, 7, 8)).astype(np.float32)
    layouts = [base, base.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3), np.asfortranarray(base),
               base[:, :, ::-1][:, :, ::-1]]
    for x in layouts:
        for layer, f, f_back in ((MaxPool2d(k), max_pool2d, max_pool2d_backward),
                                 (AvgPool2d(k), avg_pool2d, avg_pool2d_backward)):
            out = layer(x)
            np.testing.assert_allclose(out, f(base, k), rtol=1e-6)
            g = rng.standard_normal(out.shape).astype(np.float32)
            gx = layer.backward(g)
            assert gx.shape == x.shape and gx.dtype == np.float32
            np.testing.assert_allclose(gx, f_back(g, base, k), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("implementation", ["fast", "reference"])
def test_max_pool_routes_the_gradient_to_a_nan_as_pytorch(implementation):
    # torch 2.13: max_pool2d of [[1, nan], [3, 2]] is nan, and backward sends the gradient to the nan
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    pool = nnlib.MaxPool2d(2, implementation=implementation)
    assert np.isnan(pool(x)[0, 0, 0, 0])
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))), [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_the_vectorised_max_pool_routes_a_nan_like_the_loops():
    from nnlib.conv_reference import max_pool2d_reference_backward
    from nnlib.pool import max_pool2d_backward

    x = np.random.default_rng(0).normal(size=(2, 3, 6, 6))
    x[0, 1, 2, 3] = x[1, 2, 0, 0] = x[1, 2, 1, 1] = np.nan  # one window holds two NaNs: the first wins
    g = np.ones((2, 3, 3, 3))
    np.testing.assert_array_equal(max_pool2d_backward(g, x, 2), max_pool2d_reference_backward(g, x, 2))
    fast = nnlib.MaxPool2d(2)
    fast(x)
    np.testing.assert_array_equal(fast.backward(g), max_pool2d_reference_backward(g, x, 2))


# ---- ReLU then max-pool inside a Sequential: computed as one step ------------------------------
def _step_by_step(layers, x, g):
    """Each layer on its own, forward then backward: the definition the fused path must equal."""
    for layer in layers:
        x = layer(x)
    for layer in reversed(layers):
        g = layer.backward(g)
    return x, g


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 3), C=st.integers(1, 3), H=st.integers(2, 9), W=st.integers(2, 9),
       k=st.sampled_from([2, 3, (2, 3)]), seed=st.integers(0, 2**16), dtype=st.sampled_from(["float32", "float64"]),
       nan=st.booleans(), channel_major=st.booleans())
def test_relu_then_max_pool_fused_equals_the_two_layers(N, C, H, W, k, seed, dtype, nan, channel_major):
    rng = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    if H < kh or W < kw:
        return
    # small integers: ties everywhere, whole windows <= 0 (all ReLU zeros), exact zeros
    x = rng.integers(-3, 3, (C, N, H, W) if channel_major else (N, C, H, W)).astype(dtype)
    if nan:
        x.flat[rng.integers(0, x.size, 3)] = np.nan
    x = x.transpose(1, 0, 2, 3) if channel_major else x  # as a convolution hands it on
    fused = nnlib.Sequential(nnlib.ReLU(), MaxPool2d(k))
    g = rng.standard_normal((N, C, H // kh, W // kw)).astype(dtype)
    y, gx = fused(x), fused.backward(g)
    assert fused[0]._fused and fused[1]._relu_mask is not None  # the fused path did run
    y_ref, gx_ref = _step_by_step([nnlib.ReLU(), MaxPool2d(k)], x, g)
    y_loop, gx_loop = _step_by_step([nnlib.ReLU(), MaxPool2d(k, implementation="reference")], x, g)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(y, y_loop)
    np.testing.assert_array_equal(gx, gx_ref)
    np.testing.assert_array_equal(gx, gx_loop)
    assert y.dtype == gx.dtype == np.dtype(dtype)


def test_relu_max_pool_fusion_in_lenet_changes_no_number():
    from nnlib.lenet import lenet5

    rng = np.random.default_rng(0)
    x = rng.random((9, 1, 28, 28), dtype=np.float32)
    g = rng.standard_normal((9, 10)).astype(np.float32)
    fused, plain = lenet5("modern", rng=0).to(np.float32), lenet5("modern", rng=0).to(np.float32)
    # the whole batch through Sequential's loop (model(x) would split it in halves, whose
    # products differ from whole-batch ones in their last bits: tests/test_parallel.py)
    y = nnlib.Sequential.run_forward(fused.layers, x)
    fused.zero_grad()
    gx = nnlib.Sequential.run_backward(fused.layers, g)
    assert fused[1]._fused and fused[4]._fused
    y_ref, gx_ref = _step_by_step(list(plain), x, g)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)
    for p, q in zip(fused.parameters(), plain.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)
    # a layer run on its own afterwards is a plain ReLU again
    relu = fused[1]
    np.testing.assert_array_equal(relu.backward(relu(x)), x * (x > 0))


def test_no_fusion_where_the_pool_is_not_the_fast_disjoint_one():
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    for pool in (MaxPool2d(3, 2), MaxPool2d(2, implementation="reference"), AvgPool2d(2)):
        net = nnlib.Sequential(nnlib.ReLU(), pool)
        y = net(x)
        assert not net[0]._fused and pool._relu_mask is None
        np.testing.assert_array_equal(y, pool(np.maximum(x, 0)))
