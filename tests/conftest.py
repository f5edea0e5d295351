import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # tests draw figures without a screen

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_TEST_DIR = os.path.join(REPO, "..", "shared", "data", "mnist-test")


def pytest_configure(config):
    # until pyproject.toml lists it (owned by infra): the long fuzzing profile, run with -m fuzz_long
    config.addinivalue_line("markers", "fuzz_long: the long fuzzing profile (many more cases); run with -m fuzz_long")


def pytest_collection_modifyitems(config, items):
    # fuzz_long runs only when asked for (-m fuzz_long); the default suite stays fast
    if "fuzz_long" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long fuzzing profile: run with -m fuzz_long")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def mnist_test_dir():
    """The official MNIST test set beside the repository (../shared); skip where absent."""
    if not os.path.isdir(MNIST_TEST_DIR):
        pytest.skip("../shared/data/mnist-test is not beside this checkout")
    return MNIST_TEST_DIR
