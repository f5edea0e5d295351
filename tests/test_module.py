import numpy as np
import pytest

import nnlib


def model(seed=0, hidden=5):
    return nnlib.models.mlp([3, hidden, 2], rng=seed)


def test_parameters_are_stable_and_named():
    names = [n for n, _ in model().named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.name for p in model().parameters()] == ["weight", "bias", "weight", "bias"]
    assert model().num_parameters() == 3 * 5 + 5 + 5 * 2 + 2


def test_save_load_round_trip(tmp_path):
    a, b = model(0), model(1)
    path = tmp_path / "m.npz"
    a.save(path)
    b.load(path)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    x = np.ones((2, 3))
    np.testing.assert_array_equal(a(x), b(x))


def test_load_refuses_object_arrays_and_runs_no_code(tmp_path):
    ran = []

    class Evil:
        def __reduce__(self):
            return (ran.append, ("pwned",))

    path = tmp_path / "evil.npz"
    np.savez(path, **{"0.weight": np.array([Evil()], dtype=object)})
    with pytest.raises(ValueError, match="object arrays"):
        model().load(path)
    assert ran == []


def test_load_wrong_architecture_names_the_parameter(tmp_path):
    path = tmp_path / "m.npz"
    model(hidden=5).save(path)
    with pytest.raises(ValueError, match=r"parameter '0.weight' expected shape \(4, 3\), got \(5, 3\)"):
        model(hidden=4).load(path)


def test_load_missing_and_extra_parameters(tmp_path):
    path = tmp_path / "m.npz"
    nnlib.Sequential(nnlib.Linear(3, 5)).save(path)
    with pytest.raises(ValueError, match="parameter '2.weight' is missing"):
        model().load(path)
    model().save(path)
    with pytest.raises(ValueError, match="parameter '2.bias', which this model does not have"):
        nnlib.Sequential(nnlib.Linear(3, 5), nnlib.ReLU(), nnlib.Linear(5, 2, bias=False)).load(path)


def test_load_corrupt_or_missing_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        model().load(bad)
    with pytest.raises(FileNotFoundError):
        model().load(tmp_path / "nope.npz")


def test_to_casts_parameters_and_grads_in_place():
    m = model()
    assert m.to(np.float32) is m
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32 for p in m.parameters())
    with pytest.raises(ValueError, match="float dtype"):
        m.to(np.int32)


def test_train_eval_reach_every_submodule():
    m = nnlib.Sequential(nnlib.Linear(2, 2), nnlib.Sequential(nnlib.Dropout(0.5)))
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_zero_grad_and_sequential_indexing():
    m = model()
    m(np.ones((1, 3)))
    m.backward(np.ones((1, 2)))
    assert any(np.any(p.grad) for p in m.parameters())
    m.zero_grad()
    assert not any(np.any(p.grad) for p in m.parameters())
    assert isinstance(m[0], nnlib.Linear) and len(m) == 3 and len(m[:2]) == 2


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 must be a Module"):
        nnlib.Sequential(nnlib.ReLU(), lambda x: x)


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="forward"):
        nnlib.Module()(np.ones(1))


class Counter(nnlib.Module):
    """A module with a parameter and a buffer, as BatchNorm has running statistics."""

    def __init__(self):
        self.scale = nnlib.Parameter(np.ones(2), "scale")
        self.register_buffer("seen", np.zeros(2))

    def forward(self, x):
        self.seen = self.seen + x.sum(axis=0)
        return x * self.scale.value

    def backward(self, grad_y):
        return grad_y


def test_buffers_are_saved_loaded_and_cast(tmp_path):
    a = nnlib.Sequential(Counter(), nnlib.Identity())
    a(np.ones((3, 2)))
    assert [n for n, _ in a.named_buffers()] == ["0.seen"]
    assert set(a.state_dict()) == {"0.scale", "0.seen"}
    a.save(tmp_path / "c.npz")
    b = nnlib.Sequential(Counter(), nnlib.Identity()).load(tmp_path / "c.npz")
    np.testing.assert_array_equal(b[0].seen, [3.0, 3.0])
    assert [p.name for p in b.parameters()] == ["scale"]  # a buffer is not a parameter
    assert b.to(np.float32)[0].seen.dtype == np.float32


def test_a_missing_buffer_is_named(tmp_path):
    np.savez(tmp_path / "p.npz", **{"0.scale": np.ones(2)})
    with pytest.raises(ValueError, match="'0.seen' is missing"):
        nnlib.Sequential(Counter()).load(tmp_path / "p.npz")
