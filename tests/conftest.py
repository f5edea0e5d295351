import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # tests draw figures without a screen

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_TEST_DIR = os.path.join(REPO, "..", "shared", "data", "mnist-test")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def mnist_test_dir():
    """The official MNIST test set beside the repository (../shared); skip where absent."""
    if not os.path.isdir(MNIST_TEST_DIR):
        pytest.skip("../shared/data/mnist-test is not beside this checkout")
    return MNIST_TEST_DIR


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request):
    """nnlib's halves on 1, then on 2 threads (the setting is given back afterwards)."""
    from nnlib import parallel

    before = parallel.get_num_threads()
    parallel.set_num_threads(request.param)
    yield request.param
    parallel.set_num_threads(before)
