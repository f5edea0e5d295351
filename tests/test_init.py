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
