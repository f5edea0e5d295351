"""LeNet-5: both variants' shapes and parameter counts, the C3 table, the summary, gradients
through the whole network, float32 end to end, and the shipped pretrained weights."""

import re
from pathlib import Path

import numpy as np
import pytest

import nnlib
import nnlib.lenet as lenet_mod
from nnlib import AvgPool2d, Conv2d, Linear, MaxPool2d, ReLU, Tanh, gradcheck
from nnlib.lenet import C3_CONNECTIONS, layer_table, lenet5, summary

NOTES = Path(__file__).resolve().parents[1].parent / "shared" / "course-notes" / "002_2505f1775932b67f.txt"


def conv_params(c_in, c_out, k, connections=None):
    n = c_in * c_out if connections is None else connections
    return n * k * k + c_out


MODERN_COUNT = conv_params(1, 6, 5) + conv_params(6, 16, 5) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
CLASSIC_COUNT = MODERN_COUNT - conv_params(6, 16, 5) + conv_params(6, 16, 5, connections=60)


@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_architecture_and_output(variant):
    model = lenet5(variant, rng=0)
    kinds = [type(m) for m in model]
    act, pool = (ReLU, MaxPool2d) if variant == "modern" else (Tanh, AvgPool2d)
    assert kinds == [Conv2d, act, pool, Conv2d, act, pool, nnlib.Flatten, Linear, act, Linear, act, Linear]
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    assert model(x).shape == (3, 10)
    assert model[0].padding == (2, 2) and model[3].padding == (0, 0)


def test_parameter_counts_are_computed():
    assert MODERN_COUNT == 61_706
    assert lenet5("modern").num_parameters() == MODERN_COUNT
    rows = layer_table(lenet5("classic"))
    assert sum(r["params"] for r in rows) == CLASSIC_COUNT == 60_806
    assert rows[3]["params"] == 1_516  # C3 of the paper: 60 5x5 kernels + 16 biases
    # the classic model stores the full (16, 6, 5, 5) array; 900 of its entries are fixed zeros
    assert lenet5("classic").num_parameters() - CLASSIC_COUNT == (96 - 60) * 25


def test_c3_table_is_lecun_1998_table_1():
    t = C3_CONNECTIONS
    assert t.shape == (16, 6) and t.dtype == bool and int(t.sum()) == 60
    for out in range(6):  # three neighbouring S2 maps, wrapping around
        assert set(np.flatnonzero(t[out])) == {(out + d) % 6 for d in range(3)}
    for out in range(6, 12):  # four neighbouring maps
        assert set(np.flatnonzero(t[out])) == {(out - 6 + d) % 6 for d in range(4)}
    assert [set(np.flatnonzero(t[o])) for o in (12, 13, 14)] == [{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}]
    assert t[15].all()
    with pytest.raises(ValueError):
        C3_CONNECTIONS[0, 0] = False  # read-only, so no one changes the table by accident


def test_c3_table_matches_the_course_notes():
    if not NOTES.is_file():
        pytest.skip("course notes not available")
    lines = NOTES.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("0\t1\t2\t3\t4\t5\t6"))
    rows = []
    for line in lines[start + 1 : start + 7]:
        cells = line.split("\t")
        rows.append([c.strip() == "X" for c in cells[1:17]] + [False] * (17 - len(cells)))
    np.testing.assert_array_equal(np.array(rows).T, C3_CONNECTIONS)


def test_classic_c3_uses_the_table_and_keeps_absent_weights_zero():
    model = lenet5("classic", rng=1)
    c3 = model[3]
    np.testing.assert_array_equal(c3.connections, C3_CONNECTIONS)
    absent = ~C3_CONNECTIONS
    assert np.all(c3.weight.value[absent] == 0)
    X = np.random.default_rng(0).random((8, 1, 28, 28))
    y = np.arange(8) % 10
    opt = nnlib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = nnlib.CrossEntropyLoss()
    for _ in range(3):
        opt.zero_grad()
        loss(model(X), y)
        model.backward(loss.backward())
        assert np.all(c3.weight.grad[absent] == 0)
        opt.step()
    assert np.all(c3.weight.value[absent] == 0) and np.any(c3.weight.value[~absent] != 0)


def test_summary_and_layer_table():
    model = lenet5("modern", rng=0)
    rows = layer_table(model, (2, 1, 28, 28))
    assert [r["output_shape"] for r in rows] == [
        (2, 6, 28, 28), (2, 6, 28, 28), (2, 6, 14, 14), (2, 16, 10, 10), (2, 16, 10, 10),
        (2, 16, 5, 5), (2, 400), (2, 120), (2, 120), (2, 84), (2, 84), (2, 10)]
    assert [r["params"] for r in rows if r["params"]] == [156, 2_416, 48_120, 10_164, 850]
    text = summary(model)
    assert text.splitlines()[-1] == "Total trainable parameters: 61,706"
    assert re.search(r"Conv2d\(1, 6, kernel_size=\(5, 5\).*\(1, 6, 28, 28\)\s+156$", text, re.M)
    assert "(1, 16, 5, 5)" in text and "48,120" in text
    assert "connections=60/96" in summary(lenet5("classic"))


def test_summary_leaves_modes_alone_and_validates():
    model = lenet5("modern")
    model[1].training = False  # a mixed state must survive
    layer_table(model)
    assert model.training and not model[1].training
    with pytest.raises(TypeError, match="nnlib Module"):
        summary("lenet")
    with pytest.raises(ValueError, match="input_shape"):
        summary(model, (1, 28, -28))


def test_whole_network_gradient_check_float64():
    # every parameter of a 60k-parameter net would take minutes: check the input gradient
    # through all 12 layers, then the parameters of a small conv net built from the same layers
    x = np.random.default_rng(0).random((2, 1, 28, 28))
    # tanh and average pooling are smooth: h=1e-4 keeps the truncation error O(h²) ~1e-7
    # while the round-off through 12 layers stays below it (h=1e-5 sits near 1e-6)
    assert gradcheck(lenet5("classic", rng=0), x, params=False, h=1e-4) < 1e-6
    # ReLU and max have kinks; a finite-difference step that crosses one costs some accuracy
    assert gradcheck(lenet5("modern", rng=0), x, params=False, h=1e-5) < 1e-4
    small = nnlib.Sequential(Conv2d(1, 3, 3, padding=1, rng=0), Tanh(), AvgPool2d(2),
                             Conv2d(3, 4, 3, connections=C3_CONNECTIONS[[1, 4, 12, 13], :3], rng=1), ReLU(),
                             MaxPool2d(2), nnlib.Flatten(), Linear(4, 3, rng=2))
    err, details = gradcheck(small, np.random.default_rng(1).random((2, 1, 8, 8)), return_details=True)
    assert err < 1e-6, details


@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_float32_end_to_end(variant):
    model = lenet5(variant, rng=0).to(np.float32)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    h = x
    for layer in model:
        h = layer(h)
        assert h.dtype == np.float32, layer
    g = np.ones_like(h)
    for layer in reversed(list(model)):
        g = layer.backward(g)
        assert g.dtype == np.float32, layer
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_seeded_construction_is_reproducible():
    a, b = lenet5(rng=3), lenet5(rng=3)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"'variant' must be one of \['modern', 'classic'\], got 'lenet'"):
        lenet5("lenet")
    with pytest.raises(ValueError, match="'pretrained' must be True or False"):
        lenet5("modern", pretrained="yes")


def test_missing_weights_say_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(lenet_mod, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="scripts/train_pretrained.py"):
        lenet5("modern", pretrained=True)


@pytest.mark.parametrize("variant", ["modern", "classic"])
def test_shipped_weights_load_and_score_well(variant):
    path = lenet_mod.WEIGHTS_DIR / f"lenet5_{variant}.npz"
    if variant == "classic" and not path.is_file():
        pytest.skip("only the modern weights are shipped")
    assert path.stat().st_size < 300 * 1024
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype == np.float32 for k in data.files)
    model = lenet5(variant, pretrained=True)
    _, _, X_test, y_test = nnlib.mnist.load_mnist("5k")
    acc = nnlib.evaluate(model.to(np.float32), X_test, y_test)
    assert acc > 0.95, f"{variant}: {acc:.4f} on the 1,000 held-out 5k digits"
    # the weights were really trained: a fresh network is at chance level
    assert nnlib.evaluate(lenet5(variant, rng=0), X_test, y_test) < 0.3
