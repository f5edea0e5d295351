"""nnlib.gradcheck: its number means the same at any depth, and it still catches bugs."""

import numpy as np
import pytest

import nnlib
from nnlib import gradcheck
from nnlib.gradcheck import numerical_gradient, resolution


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_lenet5_input_gradient_reads_as_correct(variant):
    # issue 16, row 12: classic LeNet-5 read 1.2e-4 (x alone: 1.2e-6 at batch 1) although its
    # gradients match PyTorch's: entries 1e6 times below the largest were all round-off.
    model = nnlib.models.lenet5(variant, rng=0)
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28))
    assert gradcheck(model, x, params=False) < 1e-7


def test_deep_tanh_mlp_reads_as_correct_for_every_parameter():
    model = nnlib.models.mlp([6] + [24] * 8 + [3], activation="tanh", rng=0)
    err, details = gradcheck(model, np.random.default_rng(1).standard_normal((4, 6)), return_details=True)
    assert err < 1e-7, details


def test_a_wrong_backward_deep_in_a_network_is_still_caught():
    class HalfTanh(nnlib.Tanh):
        @staticmethod
        def df(x, y):
            return 0.5 * (1 - y * y)

    model = nnlib.models.mlp([6] + [24] * 8 + [3], activation="tanh", rng=0)
    model.layers[7] = HalfTanh()
    err, details = gradcheck(model, np.random.default_rng(1).standard_normal((4, 6)), return_details=True)
    assert err > 0.1
    assert details["16.weight"] < 1e-7  # layers after the bug are still right


def test_a_small_wrong_entry_is_caught_when_it_is_above_the_resolution():
    class OffByOnePercent(nnlib.Linear):
        def backward(self, grad_y):
            out = super().backward(grad_y)
            self.weight.grad[0, 0] *= 1.01
            return out

    err, details = gradcheck(OffByOnePercent(3, 2, rng=0), np.ones((2, 3)), return_details=True)
    assert details["weight"] > 1e-3 and details["bias"] < 1e-7


def test_resolution_predicts_the_round_off_of_finite_differences():
    # the documented estimate δ = ε‖r ⊙ y‖ / h (resolution / 1e8) is within a factor 3 of the truth
    model = nnlib.models.mlp([5, 16, 16, 2], activation="tanh", rng=0).eval()
    x = np.random.default_rng(2).standard_normal((8, 5))
    y = model(x)
    r = np.random.default_rng(0).standard_normal(y.shape)
    model.backward(r)
    exact = model.layers[0].weight.grad.copy()
    numeric = numerical_gradient(lambda: model.forward(x), model.layers[0].weight.value, 1e-6, r)
    delta = resolution(y, r, 1e-6) / 1e8
    assert np.max(np.abs(exact - numeric)) < 3 * delta


def test_the_module_is_left_in_its_mode_with_zero_gradients():
    model = nnlib.models.mlp([3, 4, 2], rng=0)
    model.train()
    gradcheck(model, np.ones((2, 3)))
    assert model.training and all(not p.grad.any() for p in model.parameters())


def test_bad_module_or_fn_is_named():
    with pytest.raises(TypeError, match="argument 'module_or_fn'"):
        gradcheck(np.tanh, np.ones(3))
