import doctest

import numpy as np
import pytest

import nnlib
from nnlib import gradcheck
from nnlib.gradcheck import _rel_error
from nnlib.resnet import _adaptive_bounds, basic_block, deep_cnn, deep_mlp, resnet_small
from tests.test_norm import train_gradcheck

TOL = 1e-6
# Whole blocks and networks: with batch norm, a few input coordinates have true gradients a
# millionth of the largest (the output barely depends on them), and there finite differences'
# round-off (~1e-10 absolute) reaches 1e-5 of *relative* error; a wrong backward gives O(1).
TOL_NET = 1e-4


def randn(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def mlp_body(d=4, seed=0):
    return nnlib.Sequential(nnlib.Linear(d, d, rng=seed), nnlib.Tanh(), nnlib.Linear(d, d, rng=seed + 1))


# ---- Residual ---------------------------------------------------------------------------------
def test_identity_shortcut_adds_the_input():
    body = mlp_body()
    x = randn((3, 4))
    np.testing.assert_array_equal(nnlib.Residual(body)(x), x + body(x))


def test_backward_is_the_sum_of_both_paths():
    body, g = mlp_body(), randn((3, 4), seed=1)
    block = nnlib.Residual(body)
    x = randn((3, 4))
    block(x)
    grad = block.backward(g)
    body.zero_grad()
    body(x)
    np.testing.assert_allclose(grad, g + body.backward(g), rtol=1e-14)


@pytest.mark.parametrize("projection", [None, "linear"])
def test_residual_gradcheck(projection):
    proj = nnlib.Linear(3, 4, rng=7) if projection else None
    body = nnlib.Sequential(nnlib.Linear(3, 4, rng=0), nnlib.Tanh(), nnlib.Linear(4, 4, rng=1)) if projection \
        else mlp_body()
    x = randn((5, 3) if projection else (5, 4))
    assert gradcheck(nnlib.Residual(body, proj), x) < TOL


@pytest.mark.parametrize("stride, c_out", [(1, 3), (2, 3), (1, 5), (2, 4)])
def test_basic_block_gradcheck_train_and_eval(stride, c_out):
    block = basic_block(3, c_out, stride, rng=0)
    x = randn((3, 3, 5, 5))
    assert train_gradcheck(block, x) < TOL_NET
    assert gradcheck(block, randn((2, 3, 5, 5), seed=1)) < TOL_NET  # eval: the running statistics


def test_shapes_that_differ_without_projection_are_refused():
    block = nnlib.Residual(nnlib.Linear(4, 3, rng=0))
    with pytest.raises(ValueError, match=r"Residual.forward: body\(x\) has shape \(2, 3\) but x has shape \(2, 4\); "
                                         r"x \+ body\(x\) needs equal shapes. Pass projection="):
        block(np.ones((2, 4)))


def test_a_projection_of_the_wrong_shape_is_refused():
    block = nnlib.Residual(nnlib.Linear(4, 3, rng=0), projection=nnlib.Linear(4, 2, rng=0))
    with pytest.raises(ValueError, match=r"body\(x\) has shape \(2, 3\) but projection\(x\) has shape \(2, 2\)"):
        block(np.ones((2, 4)))


@pytest.mark.parametrize("body, projection, name", [(None, None, "body"), (np.eye(2), None, "body"),
                                                    (nnlib.ReLU(), lambda x: x, "projection")])
def test_residual_arguments_must_be_modules(body, projection, name):
    with pytest.raises(TypeError, match=f"Residual: argument '{name}' must be an nnlib Module"):
        nnlib.Residual(body, projection)


def test_residual_refuses_non_numeric_input():
    with pytest.raises(TypeError, match="Residual.forward: argument 'x' must hold real numbers"):
        nnlib.Residual(nnlib.ReLU())(np.array(["a", "b"]))


def test_residual_parameters_and_state_names():
    block = nnlib.Residual(nnlib.Linear(2, 2, rng=0), projection=nnlib.Linear(2, 2, bias=False, rng=1))
    assert [n for n, _ in block.named_parameters()] == ["body.weight", "body.bias", "projection.weight"]


# ---- AdaptiveAvgPool2d -----------------------------------------------------------------------------
def adaptive_avg_pool_loops(x, h_out, w_out):
    """Straight from PyTorch's definition: start = floor(i·H/out), end = ceil((i+1)·H/out)."""
    N, C, H, W = x.shape
    out = np.zeros((N, C, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            r0, r1 = int(np.floor(i * H / h_out)), int(np.ceil((i + 1) * H / h_out))
            c0, c1 = int(np.floor(j * W / w_out)), int(np.ceil((j + 1) * W / w_out))
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


def test_global_average_pooling_is_the_mean_of_each_map():
    x = randn((2, 3, 5, 7))
    y = nnlib.AdaptiveAvgPool2d(1)(x)
    assert y.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(y[:, :, 0, 0], x.mean(axis=(2, 3)), rtol=1e-14)


@pytest.mark.parametrize("size, hw", [((2, 3), (5, 7)), (3, (7, 7)), ((4, 2), (4, 6)), ((5, 5), (3, 3)),
                                      ((3, None), (6, 4)), (2, (4, 4))])
def test_adaptive_windows_follow_pytorchs_rule_and_gradcheck(size, hw):
    layer = nnlib.AdaptiveAvgPool2d(size)
    x = randn((2, 2) + hw)
    h_out = size if isinstance(size, int) else size[0]
    w_out = size if isinstance(size, int) else (hw[1] if size[1] is None else size[1])
    np.testing.assert_allclose(layer(x), adaptive_avg_pool_loops(x, h_out, w_out), rtol=1e-14)
    assert gradcheck(layer, x) < TOL


def test_adaptive_bounds_with_integer_arithmetic():
    for n_in in range(1, 30):
        for n_out in range(1, 12):
            expected = [(int(np.floor(i * n_in / n_out)), int(np.ceil((i + 1) * n_in / n_out))) for i in range(n_out)]
            assert _adaptive_bounds(n_in, n_out) == expected


def test_divisible_sizes_equal_avgpool2d():
    x = randn((2, 3, 6, 8))
    np.testing.assert_allclose(nnlib.AdaptiveAvgPool2d((3, 4))(x), nnlib.AvgPool2d(2)(x), rtol=1e-14)


def test_adaptive_pool_keeps_float32():
    layer = nnlib.AdaptiveAvgPool2d((2, 2))
    x = randn((2, 3, 5, 5)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32
    assert nnlib.AdaptiveAvgPool2d(1)(x).dtype == np.float32


@pytest.mark.parametrize("size", [0, -1, 2.5, "1", (1, 2, 3), True, (0, 1), [1]])
def test_bad_output_size(size):
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: argument 'output_size'"):
        nnlib.AdaptiveAvgPool2d(size)


def test_adaptive_pool_bad_input_and_backward():
    layer = nnlib.AdaptiveAvgPool2d(1)
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d.forward: argument 'x' expected a 4-D array, got 3-D"):
        layer(np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match=r"expected a non-empty height and width, got \(1, 1, 0, 3\)"):
        layer(np.ones((1, 1, 0, 3)))
    with pytest.raises(RuntimeError, match=r"AdaptiveAvgPool2d.backward: call forward\(\) before backward\(\)"):
        layer.backward(np.ones((1, 1, 1, 1)))
    layer(np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"argument 'grad_y' expected shape \(2, 3, 1, 1\)"):
        layer.backward(np.ones((2, 3, 2, 2)))


def test_adaptive_pool_repr():
    assert repr(nnlib.AdaptiveAvgPool2d((2, 3))) == "AdaptiveAvgPool2d(output_size=(2, 3))"


# ---- the small ResNet ------------------------------------------------------------------------------
def test_resnet_small_shapes_and_float32():
    model = resnet_small(rng=0).to(np.float32)
    x = np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32)
    y = model(x)
    assert y.shape == (4, 10) and y.dtype == np.float32
    assert model.backward(np.ones_like(y)).dtype == np.float32
    assert sum(isinstance(m, nnlib.Conv2d) for m in model.modules()) == 1 + 3 * 2 + 2  # stem, bodies, 2 projections


def test_tiny_resnet_gradcheck_train_and_eval():
    model = resnet_small(widths=(2, 3), in_channels=1, num_classes=3, rng=0)
    assert train_gradcheck(model, randn((3, 1, 6, 6))) < TOL_NET
    assert gradcheck(model, randn((2, 1, 6, 6), seed=1)) < TOL_NET


def test_resnet_small_is_seeded():
    a, b, c = resnet_small(rng=3), resnet_small(rng=3), resnet_small(rng=4)
    x = randn((2, 1, 28, 28))
    np.testing.assert_array_equal(a(x), b(x))
    assert not np.allclose(a(x), c(x))


def test_resnet_small_state_dict_round_trip(tmp_path):
    model = resnet_small(widths=(4, 8), rng=0)
    opt = nnlib.optim.SGD(model.parameters(), lr=0.1)
    X, y = np.random.default_rng(0).random((16, 1, 28, 28)), np.arange(16) % 10
    loss = nnlib.CrossEntropyLoss()
    for _ in range(3):
        opt.zero_grad()
        loss(model(X), y)
        model.backward(loss.backward())
        opt.step()
    model.save(tmp_path / "resnet.npz")
    # stem 1, first block 2, second block 2 + 1 in its projection
    assert sum(name.endswith("running_var") for name in model.state_dict()) == 1 + 2 + 3
    fresh = resnet_small(widths=(4, 8), rng=9).load(tmp_path / "resnet.npz")
    np.testing.assert_array_equal(fresh.eval()(X), model.eval()(X))


def test_resnet_small_learns_a_few_digits():
    X_train, y_train, _, _ = nnlib.mnist.load_mnist("5k")
    X, y = X_train[:32], y_train[:32]
    model = resnet_small(rng=0).to(np.float32)
    opt = nnlib.optim.Adam(model.parameters(), lr=0.01)
    loss = nnlib.CrossEntropyLoss()
    first = None
    for _ in range(10):
        opt.zero_grad()
        value = loss(model(X), y)
        first = value if first is None else first
        model.backward(loss.backward())
        opt.step()
    assert value < 0.5 * first


@pytest.mark.parametrize("kwargs, match", [
    ({"widths": ()}, "argument 'widths' must be a non-empty sequence of ints, got ()"),
    ({"widths": 8}, "argument 'widths' must be a non-empty sequence of ints, got 8"),
    ({"widths": (8, 0)}, r"argument 'widths\[1\]' must be > 0, got 0"),
    ({"blocks_per_stage": 0}, "argument 'blocks_per_stage' must be > 0, got 0"),
    ({"in_channels": 1.5}, "argument 'in_channels' must be an integer, got 1.5"),
    ({"num_classes": -2}, "argument 'num_classes' must be > 0, got -2"),
])
def test_resnet_small_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"resnet_small: {match}"):
        resnet_small(**kwargs)


def test_basic_block_bad_arguments():
    with pytest.raises(ValueError, match="basic_block: argument 'stride' must be > 0, got 0"):
        basic_block(2, 2, stride=0)


# ---- deep stacks for the depth experiments -------------------------------------------------------
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_deep_mlp_counts_its_layers(batch_norm, residual):
    model = deep_mlp(10, width=6, batch_norm=batch_norm, residual=residual, rng=0)
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nnlib.Linear) == 10
    assert kinds.count(nnlib.BatchNorm1d) == (9 if batch_norm else 0)
    assert kinds.count(nnlib.Residual) == (4 if residual else 0)
    assert model(randn((3, 1, 28, 28))).shape == (3, 10)


@pytest.mark.parametrize("batch_norm, residual", [(False, False), (True, False), (False, True), (True, True)])
def test_deep_mlp_gradcheck_train_mode(batch_norm, residual):
    model = deep_mlp(6, width=4, batch_norm=batch_norm, residual=residual, activation="tanh", in_features=3,
                     num_classes=2, rng=0)
    assert train_gradcheck(model, randn((5, 3))) < TOL_NET


@pytest.mark.parametrize("batch_norm, residual", [(False, False), (True, True)])
def test_deep_cnn_gradcheck_and_shapes(batch_norm, residual):
    model = deep_cnn(4, width=2, batch_norm=batch_norm, residual=residual, num_classes=3, rng=0)
    assert sum(isinstance(m, nnlib.Conv2d) for m in model.modules()) == 3
    pairs = train_gradcheck(model, randn((1, 1, 28, 28)), details=True)  # BN2d: 49 values per channel
    for name, (analytic, numeric) in pairs.items():
        if name != "x":
            assert _rel_error(analytic, numeric) < TOL_NET, name
    # 784 input pixels, most with gradients near 0 (max-pooling passes one in 16): compare
    # the whole vector, since the round-off of single tiny entries swamps their relative error
    analytic, numeric = pairs["x"]
    assert np.linalg.norm(analytic - numeric) < 1e-7 * np.linalg.norm(analytic)


def test_init_scale_is_he_times_the_scale():
    for scale in (0.5, 2.0):
        model = deep_mlp(4, width=400, init_scale=scale, in_features=400, rng=0)
        W = model[3].weight.value  # a hidden 400 x 400 layer (after Flatten, Linear, ReLU)
        assert abs(W.std() / (scale * np.sqrt(2 / 400)) - 1) < 0.02
        assert np.all(model[3].bias.value == 0)
    default = deep_mlp(4, width=400, in_features=400, rng=0)[3]  # PyTorch's U(±1/√400)
    assert np.abs(default.weight.value).max() <= 1 / 20 and np.any(default.bias.value != 0)


def test_plain_deep_network_gradients_vanish_and_residual_ones_do_not():
    X, y = randn((64, 1, 28, 28)), np.arange(64) % 10
    plain, res = deep_mlp(20, rng=0), deep_mlp(20, residual=True, rng=0)
    for model, lo, hi in ((plain, 0, 1e-3), (res, 0.1, 10)):
        model.zero_grad()
        loss = nnlib.CrossEntropyLoss()
        loss(model(X), y)
        model.backward(loss.backward())
        layers = [m for m in model.modules() if isinstance(m, nnlib.Linear)]
        ratio = np.linalg.norm(layers[0].weight.grad) / np.linalg.norm(layers[-1].weight.grad)
        assert lo < ratio < hi


@pytest.mark.parametrize("build", [deep_mlp, deep_cnn])
@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 1}, "argument 'depth' must be >= 2"),
    ({"depth": 2.0}, "argument 'depth' must be an integer"),
    ({"depth": 5, "residual": True}, "argument 'depth' must be even when residual=True"),
    ({"depth": 4, "width": 0}, "argument 'width' must be > 0"),
    ({"depth": 4, "batch_norm": "yes"}, "argument 'batch_norm' must be True or False, got 'yes'"),
    ({"depth": 4, "residual": 1}, "argument 'residual' must be True or False, got 1"),
    ({"depth": 4, "init_scale": -1.0}, "argument 'init_scale' must be > 0"),
    ({"depth": 4, "num_classes": 0}, "argument 'num_classes' must be > 0"),
])
def test_deep_stack_bad_arguments(build, kwargs, match):
    with pytest.raises(ValueError, match=f"{build.__name__}: {match}"):
        build(**kwargs)


def test_deep_mlp_bad_activation():
    with pytest.raises(ValueError, match="deep_mlp: argument 'activation' must be one of"):
        deep_mlp(4, activation="swish")


def test_docstring_examples_run():
    import nnlib.resnet

    result = doctest.testmod(nnlib.resnet, extraglobs={"np": np})
    assert result.attempted >= 5 and result.failed == 0


# ---- PyTorch, when installed ---------------------------------------------------------------------
def test_residual_with_projection_matches_pytorch_train_and_eval():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    body = nnlib.Sequential(nnlib.Conv2d(3, 4, 3, stride=2, padding=1, rng=0), nnlib.BatchNorm2d(4), nnlib.ReLU(),
                            nnlib.Conv2d(4, 4, 3, padding=1, rng=1), nnlib.BatchNorm2d(4))
    ours = nnlib.Residual(body, projection=nnlib.Conv2d(3, 4, 1, stride=2, bias=False, rng=2))

    class TorchResidual(tnn.Module):
        def __init__(self):
            super().__init__()
            self.body = tnn.Sequential(tnn.Conv2d(3, 4, 3, stride=2, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(),
                                       tnn.Conv2d(4, 4, 3, padding=1), tnn.BatchNorm2d(4))
            self.projection = tnn.Conv2d(3, 4, 1, stride=2, bias=False)

        def forward(self, x):
            return self.projection(x) + self.body(x)

    theirs = TorchResidual().double()
    # the same dotted names on both sides: body.0.weight, body.1.running_mean, projection.weight, ...
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    for step, training in enumerate([True, True, True, False]):
        ours.train(training)
        theirs.train(training)
        x, g = randn((5, 3, 7, 6), seed=step), randn((5, 4, 4, 3), seed=10 + step)
        ours.zero_grad()
        theirs.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.backward(g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        torch_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-10, atol=1e-12)
    torch_state = theirs.state_dict()
    for name, value in ours.named_buffers():
        np.testing.assert_allclose(value, torch_state[name].numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size, hw", [(1, (5, 7)), ((2, 3), (5, 7)), ((3, 3), (7, 4)), (4, (4, 4))])
def test_adaptive_pool_matches_pytorch(size, hw):
    torch = pytest.importorskip("torch")
    x, layer = randn((2, 3) + hw), nnlib.AdaptiveAvgPool2d(size)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.AdaptiveAvgPool2d(size)(xt)
    g = randn(tuple(yt.shape), seed=1)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), rtol=1e-12)
