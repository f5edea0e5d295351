"""Conv2d: output sizes, the fast path against the readable loops, gradients, init, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import gradcheck
from nnlib.conv import (
    Conv2d,
    col2im,
    conv2d,
    conv2d_backward,
    conv2d_forward,
    conv2d_reference,
    conv2d_reference_backward,
    conv_output_size,
    im2col,
)

# (N, C_in, H, W, C_out, kernel, stride, padding): every configuration the issue names
CONFIGS = [
    (2, 1, 6, 6, 3, 3, 1, 0),  # plain
    (2, 3, 7, 6, 4, (3, 2), (2, 1), (1, 2)),  # rectangular kernel, stride and padding per axis
    (1, 2, 5, 5, 3, 1, 1, 0),  # 1x1 kernel, batch of one
    (3, 4, 8, 8, 2, 3, 2, 1),  # stride 2 with padding
    (2, 2, 4, 5, 5, 4, 3, 2),  # stride larger than... most things; padding 2
    (1, 1, 3, 3, 1, 3, 1, 0),  # kernel as large as the input: one output pixel
]


def _data(N, C, H, W, O, k, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    return x, w, b


# ---- output sizes ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, k, s, p, expected",
    [(28, 5, 1, 2, 28), (14, 5, 1, 0, 10), (4, 2, 2, 1, 3), (7, 3, 2, 0, 3), (6, 3, 2, 0, 2),
     (5, 5, 1, 0, 1), (1, 1, 1, 0, 1), (10, 3, 3, 1, 4)],
)
def test_conv_output_size_follows_the_floor_rule(n, k, s, p, expected):
    assert conv_output_size(n, k, s, p) == expected
    assert expected == math.floor((n + 2 * p - k) / s) + 1


@pytest.mark.parametrize(
    "args, match",
    [((4, 5), "larger than the padded input"), ((4, 7, 1, 1), r"4 \+ 2·1 = 6"),
     ((0, 1), "'n' must be > 0"), ((5, 0), "'kernel' must be > 0"), ((5, 3, 0), "'stride'"),
     ((5, 3, 1, -1), "'padding' must be >= 0"), ((5.0, 3), "'n' must be an integer"),
     ((5, True), "'kernel' must be an integer")],
)
def test_conv_output_size_explains_nonsense(args, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args)


# ---- forward: fast == reference == the slide's worked example ----------------------------------
@pytest.mark.parametrize("cfg", CONFIGS)
def test_fast_forward_equals_reference_loops(cfg):
    N, C, H, W, O, k, s, p = cfg
    x, w, b = _data(N, C, H, W, O, k)
    ref = conv2d_reference(x, w, b, s, p)
    fast = conv2d(x, w, b, s, p)
    assert fast.shape == ref.shape
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv2d(x, w, None, s, p), conv2d_reference(x, w, None, s, p), atol=1e-12)


def test_reference_is_a_cross_correlation_on_a_hand_example():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # top-left minus bottom-right, not flipped
    expected = np.array([[x[0, 0, i, j] - x[0, 0, i + 1, j + 1] for j in range(2)] for i in range(2)])
    np.testing.assert_array_equal(conv2d_reference(x, w)[0, 0], expected)
    np.testing.assert_array_equal(conv2d(x, w)[0, 0], expected)


# The 6x6 image of the lecture's convolution slides (course notes 002).
SLIDE_IMAGE = np.array([[0, 0, 0, 0, 0, 0], [0, 1, 2, 2, 1, 0], [0, 2, 4, 4, 2, 0],
                        [0, 1, 3, 3, 1, 0], [0, 1, 2, 3, 1, 0], [0, 0, 1, 1, 0, 0]], float)
LAPLACE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)


def test_course_slide_examples():
    img = SLIDE_IMAGE[None, None]
    # stride 2, kernel [[0, 1], [1, -2]]: the slide's [[-2, -2, 1], [0, 1, 1], [1, 2, 0]]
    stride2 = np.array([[-2, -2, 1], [0, 1, 1], [1, 2, 0]], float)
    k2 = np.array([[0, 1], [1, -2]], float)[None, None]
    for f in (conv2d, conv2d_reference):
        np.testing.assert_array_equal(f(img, k2, stride=2)[0, 0], stride2)
    # 3x3 Laplacian, no padding. The slide prints 3 at row 2, column 3; the window there is
    # [[4, 2, 0], [3, 1, 0], [3, 1, 0]], so the value is 2 + 3 - 4·1 + 0 + 1 = 2 (slide typo).
    valid = np.array([[0, -1, -1, 0], [-2, -5, -5, -2], [2, -2, -1, 2], [-1, 0, -5, 0]], float)
    np.testing.assert_array_equal(conv2d(img, LAPLACE[None, None])[0, 0], valid)
    assert conv2d(img, LAPLACE[None, None])[0, 0, 0, 1] == -1  # the slide's worked sum
    # padding 1 keeps 6x6; its interior is the valid result (same typo on the slide: 3 -> 2)
    padded = conv2d_reference(img, LAPLACE[None, None], padding=1)[0, 0]
    assert padded.shape == (6, 6)
    np.testing.assert_array_equal(padded[1:-1, 1:-1], valid)
    np.testing.assert_array_equal(padded[0], [0, 1, 2, 2, 1, 0])


@settings(max_examples=60, deadline=None)
@given(
    N=st.integers(1, 3), C=st.integers(1, 3), O=st.integers(1, 3),
    H=st.integers(1, 7), W=st.integers(1, 7), kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
    bias=st.booleans(), seed=st.integers(0, 2**16),
)
def test_fast_equals_reference_on_generated_shapes(N, C, O, H, W, kh, kw, sh, sw, ph, pw, bias, seed):
    if kh > H + 2 * ph or kw > W + 2 * pw:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d(np.zeros((N, C, H, W)), np.zeros((O, C, kh, kw)), None, (sh, sw), (ph, pw))
        return
    x, w, b = _data(N, C, H, W, O, (kh, kw), seed)
    b = b if bias else None
    out = conv2d(x, w, b, (sh, sw), (ph, pw))
    ref = conv2d_reference(x, w, b, (sh, sw), (ph, pw))
    assert out.shape == (N, O, conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw))
    np.testing.assert_allclose(out, ref, atol=1e-12)
    # the two backward passes agree too
    g = np.random.default_rng(seed + 1).standard_normal(out.shape)
    _, cache = conv2d_forward(x, w, b, (sh, sw), (ph, pw))
    for fast, slow in zip(conv2d_backward(g, cache),
                          conv2d_reference_backward(g, x, w, (sh, sw), (ph, pw))):
        np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_fast_path_accepts_any_memory_layout():
    x, w, b = _data(2, 3, 6, 5, 4, 3)
    views = [np.asfortranarray(x), x.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3),
             x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2), x[:, :, ::-1, :][:, :, ::-1, :]]
    for v in views:
        np.testing.assert_allclose(conv2d(v, w, b, 1, 1), conv2d_reference(x, w, b, 1, 1), atol=1e-12)


# ---- im2col / col2im --------------------------------------------------------------------------
def test_im2col_rows_are_patches_in_weight_order():
    x, w, b = _data(2, 3, 5, 4, 2, (3, 2))
    cols = im2col(x, (3, 2), stride=(1, 2), padding=1)
    H_out, W_out = conv_output_size(5, 3, 1, 1), conv_output_size(4, 2, 2, 1)
    assert cols.shape == (2 * H_out * W_out, 3 * 3 * 2)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(cols[H_out * W_out + 1 * W_out + 2], xp[1, :, 1:4, 4:6].ravel())
    y = (cols @ w.reshape(2, -1).T).reshape(2, H_out, W_out, 2).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, conv2d_reference(x, w, None, (1, 2), 1), atol=1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(3)
    for shape, k, s, p in [((2, 3, 6, 5), 3, 1, 1), ((1, 2, 7, 7), (2, 3), (2, 1), (0, 2))]:
        x = rng.standard_normal(shape)
        cols = im2col(x, k, s, p)
        c = rng.standard_normal(cols.shape)
        # <im2col(x), c> == <x, col2im(c)>: col2im is exactly what backward needs
        assert np.isclose(np.sum(cols * c), np.sum(x * col2im(c, shape, k, s, p)))


def test_col2im_validates():
    with pytest.raises(ValueError, match="x_shape"):
        col2im(np.zeros((4, 4)), (1, 1, 3), 2)
    with pytest.raises(ValueError, match=r"expected shape \(4, 4\), got \(4, 3\)"):
        col2im(np.zeros((4, 3)), (1, 1, 3, 3), 2)


# ---- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradcheck(cfg, bias):
    N, C, H, W, O, k, s, p = cfg
    x, _, _ = _data(N, C, H, W, O, k, seed=5)
    layer = Conv2d(C, O, k, s, p, bias=bias, rng=1)
    err, details = gradcheck(layer, x, return_details=True)
    assert err < 1e-6, details
    assert set(details) == ({"x", "weight", "bias"} if bias else {"x", "weight"})


def test_reference_implementation_gradcheck_and_matches_fast():
    x, _, _ = _data(2, 3, 6, 6, 2, 3, seed=2)
    slow = Conv2d(3, 2, 3, 2, 1, rng=4, implementation="reference")
    fast = Conv2d(3, 2, 3, 2, 1, rng=4)
    assert gradcheck(slow, x) < 1e-6
    g = np.random.default_rng(0).standard_normal((2, 2, 3, 3))
    np.testing.assert_allclose(slow(x), fast(x), atol=1e-12)
    np.testing.assert_allclose(slow.backward(g), fast.backward(g), atol=1e-12)
    np.testing.assert_allclose(slow.weight.grad, fast.weight.grad, atol=1e-12)
    np.testing.assert_allclose(slow.bias.grad, fast.bias.grad, atol=1e-12)
    assert "implementation='reference'" in repr(slow)


def test_backward_accumulates_like_pytorch():
    x, _, _ = _data(2, 2, 5, 5, 3, 3)
    layer = Conv2d(2, 3, 3, rng=0)
    g = np.ones((2, 3, 3, 3))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


# ---- connection tables (LeNet's C3) -----------------------------------------------------------------
def test_connections_zero_weights_and_never_learn():
    table = np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)
    layer = Conv2d(3, 2, 3, padding=1, connections=table, rng=0)
    assert np.all(layer.weight.value[~table] == 0) and np.all(layer.weight.value[table] != 0)
    np.testing.assert_array_equal(layer.connections, table)
    x, _, _ = _data(2, 3, 5, 5, 2, 3, seed=1)
    err, details = gradcheck(layer, x, return_details=True)
    assert err < 1e-6, details
    out = layer(x)
    layer.backward(np.ones_like(out))
    assert np.all(layer.weight.grad[~table] == 0) and np.any(layer.weight.grad[table] != 0)
    opt = nnlib.optim.Adam(layer.parameters(), lr=0.1)
    opt.step()
    assert np.all(layer.weight.value[~table] == 0)
    # output channel 1 depends on input channel 1 only
    x2 = x.copy()
    x2[:, [0, 2]] += 5.0
    np.testing.assert_allclose(layer(x2)[:, 1], layer(x)[:, 1])


def test_connections_are_enforced_even_if_someone_writes_the_weights():
    table = np.array([[True, False]])
    layer = Conv2d(2, 1, 1, bias=False, connections=table, rng=0)
    layer.weight.value[0, 1] = 100.0  # an absent connection: must have no effect
    x = np.ones((1, 2, 2, 2))
    np.testing.assert_allclose(layer(x), layer.weight.value[0, 0, 0, 0] * np.ones((1, 1, 2, 2)))


def test_initialize_keeps_absent_connections_absent():
    layer = Conv2d(3, 2, 3, connections=[[1, 1, 0], [0, 0, 1]], rng=0)
    nnlib.init.initialize(layer, "he", rng=1)
    assert np.all(layer.weight.value[0, 2] == 0) and np.all(layer.weight.value[1, :2] == 0)


@pytest.mark.parametrize(
    "table, match",
    [(np.ones((3, 2), bool), r"expected shape \(2, 3\)"), ([[1, 0, 2], [1, 1, 1]], "booleans"),
     ([[1, 0, 0], [0, 0, 0]], "output channel 1 no input")],
)
def test_connections_validation(table, match):
    with pytest.raises(ValueError, match=match):
        Conv2d(3, 2, 3, connections=table)


# ---- dtypes ---------------------------------------------------------------------------------------
def test_float32_in_float32_out_and_float32_gradients():
    x, _, _ = _data(2, 3, 6, 6, 4, 3, dtype=np.float32)
    for layer in (Conv2d(3, 4, 3, padding=1, rng=0).to(np.float32), Conv2d(3, 4, 3, padding=1, rng=0)):
        y = layer(x)
        gx = layer.backward(np.ones_like(y))
        assert y.dtype == np.float32 and gx.dtype == np.float32
    layer = Conv2d(3, 4, 3, padding=1, rng=0).to(np.float32)
    layer.backward(np.ones_like(layer(x)))
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    # and the numbers agree with float64 to float32 precision
    ref = Conv2d(3, 4, 3, padding=1, rng=0)(x.astype(np.float64))
    np.testing.assert_allclose(layer(x), ref, rtol=1e-5, atol=1e-5)


def test_integer_input_is_promoted_to_float64():
    layer = Conv2d(1, 1, 2, rng=0)
    assert layer(np.ones((1, 1, 3, 3), dtype=np.int64)).dtype == np.float64


# ---- initialisation --------------------------------------------------------------------------------
def test_default_init_is_pytorchs_uniform_bound():
    layer = Conv2d(6, 16, 5, rng=0)
    bound = 1 / math.sqrt(6 * 5 * 5)
    for p in (layer.weight.value, layer.bias.value):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    # U(-b, b) has standard deviation b / sqrt(3)
    assert abs(layer.weight.value.std() - bound / math.sqrt(3)) < 0.05 * bound


def test_init_is_seeded_and_reset_parameters_redraws():
    a, b = Conv2d(2, 3, 3, rng=7), Conv2d(2, 3, 3, rng=7)
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    a.reset_parameters(np.random.default_rng(8))
    assert not np.array_equal(a.weight.value, b.weight.value)
    assert np.all(a.weight.grad == 0)


def test_connection_table_fan_in_is_per_output_channel():
    layer = Conv2d(4, 2, 2, connections=[[1, 0, 0, 0], [1, 1, 1, 1]], rng=0)
    assert np.abs(layer.weight.value[0]).max() <= 1 / math.sqrt(1 * 4)
    assert np.abs(layer.weight.value[1]).max() <= 1 / math.sqrt(4 * 4)
    assert np.abs(layer.weight.value[0]).max() > 1 / math.sqrt(4 * 4)  # wider than full fan-in
    assert layer.num_trainable() == (1 + 4) * 4 + 2


# ---- repr, parameters --------------------------------------------------------------------------------
def test_extra_repr_reads_like_pytorch():
    assert repr(Conv2d(1, 6, 5, padding=2)) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(Conv2d(3, 8, (3, 1), stride=2, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(3, 1), stride=(2, 2), bias=False)"
    )
    table = np.eye(2, dtype=bool)
    assert repr(Conv2d(2, 2, 1, connections=table)).endswith("connections=2/4)")


def test_parameters_are_named_and_ordered():
    layer = Conv2d(2, 3, (3, 4))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (3, 2, 3, 4) and layer.bias.shape == (3,)
    assert [n for n, _ in Conv2d(2, 3, 1, bias=False).named_parameters()] == ["weight"]


def test_exported_from_nnlib():
    assert nnlib.Conv2d is Conv2d and nnlib.MaxPool2d is not None and nnlib.AvgPool2d is not None


# ---- bad input --------------------------------------------------------------------------------------
def test_non_4d_input_is_refused():
    layer = Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"expected a 4-D array, got 3-D with shape \(1, 5, 5\)"):
        layer(np.zeros((1, 5, 5)))


def test_channel_mismatch_names_expected_and_actual_shape():
    layer = Conv2d(3, 2, 3)
    with pytest.raises(ValueError, match=r"expected shape \(N, 3, H, W\).*got \(4, 1, 8, 8\)"):
        layer(np.zeros((4, 1, 8, 8)))


def test_kernel_larger_than_padded_input_is_refused():
    with pytest.raises(ValueError, match=r"kernel \(5\) is larger than the padded input along the height "
                       r"\(2 \+ 2·1 = 4\), for an input of shape \(1, 1, 2, 9\)"):
        Conv2d(1, 1, 5, padding=1)(np.zeros((1, 1, 2, 9)))
    with pytest.raises(ValueError, match="along the width"):
        conv2d_reference(np.zeros((1, 1, 9, 2)), np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"kernel_size": 0}, "'kernel_size' must be > 0"), ({"kernel_size": (3, 3, 3)}, "pair of ints"),
     ({"kernel_size": 2.5}, "pair of ints"), ({"stride": 0}, "'stride' must be > 0"),
     ({"padding": -1}, "'padding' must be >= 0"),
     ({"implementation": "gpu"}, r"one of \['fast', 'im2col', 'reference'\], got 'gpu'")],
)
def test_constructor_arguments_are_validated(kwargs, match):
    args = {"in_channels": 2, "out_channels": 2, "kernel_size": 3} | kwargs
    with pytest.raises(ValueError, match=match):
        Conv2d(**args)
    with pytest.raises(ValueError, match="'in_channels' must be > 0"):
        Conv2d(0, 2, 3)


def test_functional_forms_check_weight_and_bias_shapes():
    x = np.zeros((1, 2, 5, 5))
    with pytest.raises(ValueError, match=r"expected shape \(N, 3, H, W\)"):
        conv2d(x, np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"'bias' expected shape \(4,\), got \(3,\)"):
        conv2d(x, np.zeros((4, 2, 3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="'weight' expected a 4-D array"):
        conv2d_reference(x, np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match=r"'grad_out' expected shape \(1, 4, 3, 3\)"):
        conv2d_reference_backward(np.zeros((1, 4, 2, 2)), x, np.zeros((4, 2, 3, 3)))
    _, cache = conv2d_forward(x, np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"'grad_out' expected shape \(1, 4, 3, 3\)"):
        conv2d_backward(np.zeros((1, 4, 3, 2)), cache)
    with pytest.raises(TypeError, match="real numbers"):
        conv2d(np.array([["a"]]), np.zeros((1, 1, 1, 1)))


def test_backward_checks_order_and_shape():
    layer = Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match="call forward"):
        layer.backward(np.zeros((1, 2, 3, 3)))
    layer(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"'grad_y' expected shape \(1, 2, 3, 3\), got \(1, 2, 3\)"):
        layer.backward(np.zeros((1, 2, 3)))


@pytest.mark.parametrize("stride, kept", [(1, False), (2, True)])
def test_eval_mode_drops_the_patch_matrix_but_backward_still_works(stride, kept):
    x, _, _ = _data(2, 3, 6, 6, 4, 3, seed=4)
    g = np.random.default_rng(5).standard_normal((2, 4, 6 // stride, 6 // stride))
    train = Conv2d(3, 4, 3, stride, padding=1, rng=0)
    evalm = Conv2d(3, 4, 3, stride, padding=1, rng=0).eval()
    np.testing.assert_array_equal(train(x), evalm(x))
    # the fast path's cache: (kernel cache, weight shape); the kernel cache's second entry
    # is the patch matrix, kept in training only, and only where the stride is not 1 (the
    # row grid takes its weight gradient from the padded input instead)
    assert (train._cache[0][1] is not None) == kept and evalm._cache[0][1] is None
    np.testing.assert_allclose(evalm.backward(g), train.backward(g), atol=1e-12)
    np.testing.assert_allclose(evalm.weight.grad, train.weight.grad, atol=1e-12)
    assert gradcheck(Conv2d(3, 4, 3, 2, 1, rng=0).eval(), x) < 1e-6
