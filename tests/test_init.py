import numpy as np
import pytest

import nnlib
from nnlib import init


def test_fans():
    assert init.fans((8, 4)) == (4, 8)
    assert init.fans((6, 3, 5, 5)) == (75, 150)


@pytest.mark.parametrize("fn,expected_std", [
    (init.xavier_normal, np.sqrt(2 / (400 + 300))),
    (init.xavier_uniform, np.sqrt(2 / (400 + 300))),
    (init.kaiming_normal, np.sqrt(2 / 400)),
    (init.kaiming_uniform, np.sqrt(2 / 400)),
])
def test_initializer_variances(fn, expected_std):
    W = fn((300, 400), rng=0)
    assert W.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(W.mean()) < 0.05 * expected_std * 10


def test_initialize_named_schemes_and_seed():
    m = nnlib.models.mlp([10, 20, 2])
    init.initialize(m, "zeros")
    assert not any(np.any(p.value) for p in m.parameters())
    init.initialize(m, "he", rng=1)
    a = m[0].weight.value.copy()
    init.initialize(m, "he", rng=1)
    np.testing.assert_array_equal(a, m[0].weight.value)
    assert not np.any(m[0].bias.value)


def test_initialize_unknown_scheme():
    with pytest.raises(ValueError, match="argument 'scheme' must be one of"):
        init.initialize(nnlib.Linear(2, 2), "glorious")


def test_initialize_keeps_dtype():
    m = nnlib.models.mlp([3, 4, 2]).to(np.float32)
    init.initialize(m, "xavier", rng=0)
    assert all(p.value.dtype == np.float32 for p in m.parameters())


def test_pytorch_default_with_a_connection_table_bounds_each_output_channel():
    table = np.array([[1, 0, 0], [1, 1, 1]], bool)  # fan_in 1·9 and 3·9
    W, b = init.pytorch_default((2, 3, 3, 3), rng=0, connections=table)
    assert np.all(W[0, 1:] == 0) and np.all(W[0, 0] != 0)
    for o, fan_in in enumerate((9, 27)):
        assert np.abs(W[o]).max() <= 1 / np.sqrt(fan_in) and abs(b[o]) <= 1 / np.sqrt(fan_in)
    # the largest weights come close to each channel's own bound: the bounds really differ
    big = init.pytorch_default((2, 3, 30, 30), rng=0, connections=table)[0]
    assert np.abs(big[0]).max() > 0.9 / 30 and np.abs(big[1]).max() < 1 / np.sqrt(2700)


def test_pytorch_default_is_linears_and_conv2ds_one_home():
    W, b = init.pytorch_default((4, 3), rng=5)
    lin = nnlib.Linear(3, 4, rng=5)
    np.testing.assert_array_equal(lin.weight.value, W)
    np.testing.assert_array_equal(lin.bias.value, b)
    W, b = init.pytorch_default((6, 2, 3, 3), rng=5)
    conv = nnlib.Conv2d(2, 6, 3, rng=5)
    np.testing.assert_array_equal(conv.weight.value, W)
    np.testing.assert_array_equal(conv.bias.value, b)


def test_apply_connections_zeroes_absent_weights():
    W = np.ones((2, 2, 1, 1))
    np.testing.assert_array_equal(init.apply_connections(W, [[1, 0], [0, 1]])[:, :, 0, 0], np.eye(2))
    assert init.apply_connections(W, None) is W


def test_initialize_leaves_batch_norm_scales_alone():
    model = nnlib.Sequential(nnlib.Linear(3, 4, rng=0), nnlib.BatchNorm1d(4), nnlib.Conv2d(1, 2, 3, rng=0))
    nnlib.init.initialize(model, "he", rng=0)
    np.testing.assert_array_equal(model[1].weight.value, np.ones(4))
    assert np.abs(model[0].weight.value).max() > 0


def test_conv2d_names_a_bad_seed():


    with pytest.raises((TypeError, ValueError), match="Conv2d: argument 'rng'"):
        nnlib.Conv2d(1, 2, 3, rng="abc")
