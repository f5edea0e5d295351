import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import gradcheck

ACTIVATIONS = [nnlib.ReLU, nnlib.Sigmoid, nnlib.Tanh, nnlib.LeakyReLU, nnlib.ELU, nnlib.Identity]
TOL = 1e-6


def away_from_kinks(shape, seed):
    """Random inputs kept >= 1e-3 away from 0, where ReLU-like derivatives jump."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 1e-3, x)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), d_in=st.integers(1, 6), d_out=st.integers(1, 6),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_linear_gradcheck(n, d_in, d_out, bias, seed):
    layer = nnlib.Linear(d_in, d_out, bias=bias, rng=seed)
    err = gradcheck(layer, np.random.default_rng(seed).standard_normal((n, d_in)))
    assert err < TOL


@pytest.mark.parametrize("cls", ACTIVATIONS)
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_activation_gradcheck(cls, shape, seed):
    assert gradcheck(cls(), away_from_kinks(shape, seed)) < TOL


def test_leaky_relu_and_elu_with_arguments_gradcheck():
    x = away_from_kinks((3, 5), 1)
    assert gradcheck(nnlib.LeakyReLU(0.2), x) < TOL
    assert gradcheck(nnlib.ELU(alpha=0.5), x) < TOL


@pytest.mark.parametrize("shape", [(1, 3), (4, 2, 3), (2, 1, 4, 4)])
def test_flatten_gradcheck_and_shape(shape):
    layer = nnlib.Flatten()
    x = np.random.default_rng(0).standard_normal(shape)
    assert layer(x).shape == (shape[0], int(np.prod(shape[1:])))
    assert gradcheck(layer, x) < TOL


def test_sequential_mlp_gradcheck_batch_of_one():
    model = nnlib.models.mlp([3, 5, 4, 2], activation="tanh", rng=0)
    assert gradcheck(model, np.random.default_rng(1).standard_normal((1, 3))) < TOL


def test_gradcheck_detects_a_wrong_backward():
    class Broken(nnlib.Tanh):
        @staticmethod
        def df(x, y):
            return 1 - y  # forgot to square
    assert gradcheck(Broken(), np.random.default_rng(0).standard_normal((3, 4))) > 1e-2


def test_gradcheck_detects_a_wrong_parameter_gradient():
    class BadBias(nnlib.Linear):
        def backward(self, grad_y):
            out = super().backward(grad_y)
            self.bias.grad *= 2
            return out
    err, details = gradcheck(BadBias(3, 2, rng=0), np.ones((2, 3)), return_details=True)
    assert details["x"] < TOL and details["weight"] < TOL and details["bias"] > 0.1


@pytest.mark.parametrize("make", [
    lambda: nnlib.Linear(4, 3, rng=0), nnlib.ReLU, nnlib.Sigmoid, nnlib.Tanh, nnlib.LeakyReLU,
    nnlib.ELU, nnlib.Identity, nnlib.Flatten, lambda: nnlib.Dropout(0.3, rng=0),
])
def test_float32_in_float32_out(make):
    layer = make().to(np.float32)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    for p in layer.parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        y = nnlib.Sigmoid()(x)
    assert np.all(np.isfinite(y))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[3] == 0.5
    np.testing.assert_allclose(y[2], 1 / (1 + np.exp(50.0)), rtol=1e-12)


def test_elu_no_overflow_for_large_positive_inputs():
    with np.errstate(over="raise", invalid="raise"):
        y = nnlib.ELU()(np.array([1e4, -1e4]))
    np.testing.assert_allclose(y, [1e4, -1.0])


def test_linear_forward_matches_formula():
    layer = nnlib.Linear(3, 2, rng=0)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(x), x @ layer.weight.value.T + layer.bias.value)


def test_linear_default_init_range_like_pytorch():
    layer = nnlib.Linear(100, 50, rng=0)
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.weight.value).max() <= bound
    assert np.abs(layer.bias.value).max() <= bound
    assert layer.weight.value.std() > 0.5 * bound / np.sqrt(3)  # not collapsed to ~0


def test_backward_accumulates_parameter_gradients():
    layer = nnlib.Linear(3, 2, rng=0)
    x = np.ones((4, 3))
    layer(x)
    layer.backward(np.ones((4, 2)))
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(np.ones((4, 2)))
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


def test_dropout_train_and_eval():
    layer = nnlib.Dropout(p=0.5, rng=0)
    x = np.ones((1000, 10))
    y = layer(x)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.05  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)


def test_dropout_p_zero_is_identity_in_training():
    x = np.random.default_rng(0).standard_normal((3, 3))
    np.testing.assert_array_equal(nnlib.Dropout(0.0)(x), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="'p'"):
        nnlib.Dropout(p)


def test_linear_wrong_feature_count_names_expected_and_actual():
    with pytest.raises(ValueError, match=r"Linear\.forward: argument 'x' expected shape \(N, 3\), got \(5, 4\)"):
        nnlib.Linear(3, 2)(np.zeros((5, 4)))


def test_linear_wrong_rank():
    with pytest.raises(ValueError, match=r"expected shape \(N, 3\), got \(3,\)"):
        nnlib.Linear(3, 2)(np.zeros(3))


@pytest.mark.parametrize("bad", [0, -2, 2.5, "3"])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="in_features"):
        nnlib.Linear(bad, 2)


def test_layers_reject_non_numeric_input():
    with pytest.raises(TypeError, match="dtype"):
        nnlib.ReLU()(np.array(["a", "b"]))


def test_integer_input_is_promoted_to_float64():
    y = nnlib.Linear(2, 1, rng=0)(np.array([[1, 2]]))
    assert y.dtype == np.float64


def test_repr_is_one_line_per_layer():
    text = repr(nnlib.models.mlp([2, 3, 1], activation="tanh"))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): Tanh()" in text


# ---- misuse: clear errors, nothing changed (issue 16, rows 6, 14, 15) ---------------------
LAYERS = {
    "Linear": lambda: nnlib.Linear(4, 3, rng=0), "ReLU": nnlib.ReLU, "Sigmoid": nnlib.Sigmoid,
    "Tanh": nnlib.Tanh, "LeakyReLU": nnlib.LeakyReLU, "ELU": nnlib.ELU, "Identity": nnlib.Identity,
    "Dropout": lambda: nnlib.Dropout(0.5, rng=0), "Flatten": nnlib.Flatten,
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("bad_shape", [(1, 4), (5, 3), (5, 4, 1), (4,)])
def test_backward_with_a_wrong_gradient_shape_changes_nothing(name, bad_shape):
    # row 6: Linear added broadcast garbage into weight.grad before numpy's matmul error;
    # ReLU silently broadcast a (1, 4) gradient to (5, 4)
    layer = LAYERS[name]()
    y = layer(np.random.default_rng(0).standard_normal((5, 4)))
    if bad_shape == y.shape:
        bad_shape = (5, 4, 2)
    grads = [p.grad.copy() for p in layer.parameters()]
    with pytest.raises(ValueError, match=rf"{name}\.backward: argument 'grad_y' expected shape \({y.shape[0]}, "):
        layer.backward(np.ones(bad_shape))
    assert all(np.array_equal(p.grad, g) for p, g in zip(layer.parameters(), grads))


@pytest.mark.parametrize("name", LAYERS)
def test_backward_before_forward_says_so(name):
    # row 15: AttributeError '_x'
    with pytest.raises(RuntimeError, match=rf"{name}\.backward: call forward\(\) before backward\(\)"):
        LAYERS[name]().backward(np.ones((5, 4)))


@pytest.mark.parametrize("name", LAYERS)
def test_an_empty_batch_gives_an_empty_output_and_gradient(name):
    # row 14: Flatten()(np.ones((0, 2))) raised a reshape error
    layer = LAYERS[name]()
    y = layer(np.ones((0, 4)))
    assert y.shape[0] == 0 and y.ndim == 2
    assert layer.backward(np.ones(y.shape)).shape == (0, 4)


def test_flatten_of_an_empty_image_batch():
    assert nnlib.Flatten()(np.ones((0, 1, 28, 28))).shape == (0, 784)


@pytest.mark.parametrize("make, match", [
    (lambda: nnlib.Linear(2, 3, rng="abc"),
     "Linear: argument 'rng' must be None, a non-negative int seed or a numpy Generator, got 'abc'"),
    (lambda: nnlib.Linear(2, 3, rng=-1), "Linear: argument 'rng'"),
    (lambda: nnlib.Linear(2, 3, bias="no"), "Linear: argument 'bias' must be True or False, got 'no'"),
    (lambda: nnlib.Dropout(0.5, rng=1.5), "Dropout: argument 'rng'"),
    (lambda: nnlib.models.mlp(5),
     "mlp: argument 'sizes' must be a sequence of layer sizes such as \\[2, 8, 1\\], got 5"),
    (lambda: nnlib.models.mlp([2, 3], rng="abc"), "mlp: argument 'rng'"),
    (lambda: nnlib.models.mlp([2, 3], activation="softmax"), "mlp: argument 'activation' must be one of"),
    (lambda: nnlib.models.mlp([2, 3], activation=[1, 2]), "mlp: argument 'activation' must be one of"),  # fuzz
])
def test_bad_constructor_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_dropout_of_an_infinite_input_is_nan_without_numpy_warnings():
    # found by fuzzing: numpy's "invalid value" warning leaked; PyTorch gives NaN silently
    layer = nnlib.Dropout(0.5, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer(np.full((50, 2), np.inf))
    assert np.isnan(y).any() and np.isinf(y).any()


def test_a_ragged_list_is_named():
    with pytest.raises(ValueError, match="Linear.forward: argument 'x' is a ragged nested list"):
        nnlib.Linear(2, 1)([[1.0, 2.0], [3.0]])


def test_layers_reject_complex_and_object_input():
    with pytest.raises(TypeError, match="ReLU.forward: argument 'x' must hold real numbers"):
        nnlib.ReLU()(np.ones(3, dtype=complex))
    with pytest.raises(TypeError, match="must hold real numbers"):
        nnlib.Linear(1, 1)(np.array([[None]]))


# ---- nnlib.functional: the one home of the activation maths ------------------------------
@pytest.mark.parametrize("name", list(nnlib.functional.ACTIVATIONS))
def test_each_activation_derivative_matches_central_differences(name):
    f, df = nnlib.functional.activation(name)
    x = away_from_kinks((200,), 3) * 3
    h = 1e-6
    np.testing.assert_allclose(df(x, f(x)), (f(x + h) - f(x - h)) / (2 * h), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(nnlib.functional.ACTIVATIONS))
def test_layers_compute_what_the_table_says(name):
    layer = nnlib.layers.ACTIVATION_LAYERS[name]()
    f, df = nnlib.functional.ACTIVATIONS[name]
    x = np.random.default_rng(0).standard_normal((4, 5))
    g = np.random.default_rng(1).standard_normal((4, 5))
    np.testing.assert_array_equal(layer(x), f(x))
    np.testing.assert_array_equal(layer.backward(g), g * df(x, f(x)))


def test_unknown_activation_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"activation: argument 'name' must be one of \['relu'"):
        nnlib.functional.activation("swish")


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise"):
        p = nnlib.functional.softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(p[1]), nnlib.functional.log_softmax(z)[1])
    assert nnlib.functional.softmax(np.zeros((2, 3), np.float32)).dtype == np.float32
    assert nnlib.functional.softmax(np.zeros((0, 3))).shape == (0, 3)
