"""nnlib.widgets.lenet: the dashboard trains with the notebook's own loop, in the background, and
the explorers show what the notebook's functions compute. Tested through what they show."""

import numpy as np
import pytest

import nnlib
from nnlib.exercises.lenet import reference_train_epoch as train_epoch  # the notebook's loop
from nnlib.layers import Dropout, Linear
from nnlib.lenet import lenet5
from nnlib.mnist import load_mnist
from nnlib.widgets import lenet as widgets
from tests.helpers import shows_the_full_render
from tests.test_widgets_training import wait_until

X, Y, X_TEST, Y_TEST = load_mnist()
SMALL = (X[:256], Y[:256], X[256:320], Y[256:320])  # 4 steps of 64 per epoch




# ---- the run behind the dashboard ------------------------------------------------------------------
def test_a_dashboard_run_is_the_notebooks_loop_and_equals_fit_bit_for_bit():
    job = widgets.training_job(train_epoch, SMALL, optimizer="Adam", lr=1e-3, epochs=2).run()
    assert job.n_steps == 8 and [r["epoch"] for r in job.history] == [1] * 4 + [2] * 4
    assert [i for i, r in enumerate(job.history) if "val_accuracy" in r] == [3, 7]  # each epoch's last step
    model = lenet5("modern", rng=0).to(np.float32)
    model[0].input_grad = False
    loss_fn, opt = nnlib.CrossEntropyLoss(), nnlib.optim.Adam(model.parameters(), lr=1e-3)
    nnlib.fit(model, loss_fn, opt, SMALL[0], SMALL[1], epochs=2, batch_size=64, seed=0, progress=False)
    assert all(np.array_equal(p.value, q.value) for p, q in zip(model.parameters(), job.model.parameters()))
    assert job.latest("val_accuracy") == nnlib.evaluate(model, SMALL[2], SMALL[3])


def test_the_same_knobs_give_the_same_run_and_the_loop_is_the_one_passed_in():
    calls = []

    def spy(*args):
        calls.append(args[5])  # the batch size the dashboard asked for
        yield from train_epoch(*args)

    a = widgets.training_job(spy, SMALL, batch_size=128, epochs=1).run()
    b = widgets.training_job(train_epoch, SMALL, batch_size=128, epochs=1).run()
    assert calls == [128] and np.array_equal(a.curve("loss"), b.curve("loss")) and a.n_steps == 2


def test_make_optimizer_and_with_dropout():
    params = lenet5(rng=0).parameters()
    assert isinstance(widgets.make_optimizer("Adam", params, 0.1), nnlib.optim.Adam)
    assert widgets.make_optimizer("SGD + momentum", params, 0.1).momentum == 0.9
    assert widgets.make_optimizer("SGD", params, 0.1).momentum == 0
    with pytest.raises(ValueError, match="'name'"):
        widgets.make_optimizer("Adagrad", params, 0.1)
    model = lenet5(rng=0)
    assert widgets.with_dropout(model, 0.0) is model
    kinds = [type(layer) for layer in widgets.with_dropout(model, 0.5).layers]
    linear = [i for i, k in enumerate(kinds) if k is Linear]
    assert [kinds[i - 1] for i in linear] == [type(model.layers[6]), Dropout, Dropout]  # not before C5
    with pytest.raises(ValueError, match="'p'"):
        widgets.with_dropout(model, 1.0)


# ---- the dashboard ------------------------------------------------------------------------------------
def test_dashboard_trains_in_the_background_and_the_curves_follow():
    panel = widgets.dashboard(train_epoch, SMALL, fps=20, optimizer="Adam", lr=1e-3)
    assert panel.job.state == "ready" and "ready: 8 steps" in panel.live.text
    panel.train()
    wait_until(lambda: panel.job.done)
    panel.job.join()
    losses, steps, acc = widgets.curves_of(panel.job)
    assert losses.size == 8 and list(steps) == [4, 8]
    curve = panel.live.fig.axes[0].get_lines()[1]  # each batch's loss, as drawn
    np.testing.assert_allclose(curve.get_ydata(), np.minimum(losses, 3.0))
    assert "step 8 of 8" in panel.live.text and f"validation accuracy {acc[-1]:.3f}" in panel.live.text
    assert "finished" in panel.status.value and shows_the_full_render(panel.live)


def test_a_knob_starts_a_fresh_run_and_rescales_the_axes():
    panel = widgets.dashboard(train_epoch, SMALL)
    panel.step()
    assert panel.job.n_steps == 8  # Step runs 10 steps, here the whole run
    panel.live.set(epochs=3)
    assert panel.job.n_steps == 0 and panel.live.fig.axes[0].get_xlim() == (0, 12)
    assert "ready: 12 steps" in panel.live.text


def test_presets_set_the_knobs_and_a_diverging_rate_says_so():
    panel = widgets.dashboard(train_epoch, SMALL)
    panel.live.apply_preset("learning rate far too large")
    assert panel.live.values["lr"] == pytest.approx(0.3) and panel.live.values["optimizer"] == "Adam"
    panel.job.run()
    panel.live.refresh()
    assert "step 8 of 8" in panel.live.text
    for name, values in widgets.PRESETS.items():
        panel.live.apply_preset(name)
        shown = panel.live.values
        assert shown["lr"] == pytest.approx(values["lr"]) and panel.job.n_steps == 0
        assert {k: v for k, v in shown.items() if k != "lr"} == {k: v for k, v in values.items() if k != "lr"}


# ---- inside the network ---------------------------------------------------------------------------
def layer_outputs(model, x):
    model.eval()
    out = []
    for layer in model.layers:
        x = layer(x)
        out.append((type(layer).__name__, x))
    return out


@pytest.mark.parametrize("variant, act", [("modern", "ReLU"), ("classic", "Tanh")])
def test_map_stages_names_lenets_stages_and_gives_probabilities(variant, act):
    model = lenet5(variant, rng=0)
    stages, probs = widgets.map_stages(layer_outputs(model, X_TEST[:1]))
    assert [label for label, _ in stages] == [f"C1 after {act}: 6@28x28", "S2: 6@14x14",
                                              f"C3 after {act}: 16@10x10", "S4: 16@5x5"]
    assert stages[0][1].shape == (2 * 28 + 1, 4 * 28 + 3) and probs.shape == (10,)
    assert probs.sum() == pytest.approx(1.0)


def test_feature_maps_slider_shows_the_chosen_digit_fast():
    model = lenet5("modern", pretrained=True)
    live = widgets.feature_maps(layer_outputs, model, X_TEST[:50], Y_TEST[:50])
    assert live.text.startswith(f"test digit #0: label {Y_TEST[0]}")
    for i in range(1, 12):
        live.set(index=i)
    assert live.text.startswith(f"test digit #11: label {Y_TEST[11]}") and shows_the_full_render(live)
    assert np.median(live.timings[1:]) < 300  # generous on a shared machine (measured: about 70 ms)


def test_robustness_looks_up_the_curve_and_asks_the_model():
    model = lenet5("modern", pretrained=True)
    perturb = {"shift": lambda x, v: np.roll(x, int(v), axis=-1), "noise": lambda x, v: x + 0 * v}
    curves = {"shift": (np.array([-2, 0, 2]), np.array([0.7, 0.98, 0.75])),
              "noise": (np.array([0.0, 0.5, 1.0]), np.array([0.98, 0.4, 0.1]))}
    labels = {"shift": "pixels", "noise": "σ"}
    live = widgets.robustness(model, perturb, curves, labels, X_TEST[3:4], int(Y_TEST[3]), kind="shift")
    assert live.text.startswith("pixels = 0: test accuracy 0.980")
    live.set(strength=2)
    assert "pixels = 2: test accuracy 0.750" in live.text
    live.set(kind="noise")
    assert "σ = 1: test accuracy 0.100" in live.text and shows_the_full_render(live)
    with pytest.raises(ValueError, match="same number of levels"):
        widgets.robustness(model, perturb, {"shift": curves["shift"], "noise": ([0], [1.0])}, labels,
                           X_TEST[3:4], 0)
