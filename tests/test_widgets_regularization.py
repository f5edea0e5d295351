"""Widgets of notebook 05, through their public behaviour: live.set, values, text, png."""

import numpy as np

from nnlib.exercises.regularization import patience_rule as early_stop
from nnlib.widgets import regularization as widgets

VAL = [0.5, 0.3, 0.35, 0.32, 0.2, 0.25, 0.26, 0.27, 0.28, 0.29]
HISTORY = {"loss": list(np.geomspace(0.5, 0.01, len(VAL))), "val_loss": VAL}


def test_early_stopping_runs_the_notebooks_rule():
    calls = []

    def rule(val, patience):
        calls.append(patience)
        return early_stop(val, patience)

    live = widgets.early_stopping(HISTORY, rule, initial=2)
    assert calls[-1] == 2 and live.text.startswith("patience 2: stops after epoch 4 of 10, keeps epoch 2")
    first = live.png
    live.set(patience=3)
    assert calls[-1] == 3 and "keeps epoch 5" in live.text and live.png != first
    assert "the lowest of the run: 0.2, at epoch 5" in live.text


def test_early_stopping_with_a_stub_shows_a_message_not_a_traceback():
    def stub(val, patience):
        raise NotImplementedError("replace this line with your code")

    live = widgets.early_stopping(HISTORY, stub, initial=3)
    assert "NotImplementedError" in live.text and "replace this line" in live.text


def grid_of_fits():
    x = np.linspace(-1, 1, 50)
    strengths = {"L2 weight_decay": (0.0, 0.01, 0.1), "dropout p": (0.0, 0.2)}
    grid = {}
    for kind, values in strengths.items():
        for i, s in enumerate(values):
            grid[kind, s] = (0.02 * (1 + 3 * i), 0.1 - 0.01 * i, np.sin(np.pi * x) * (1 - s))
    return grid, strengths, x


def test_regularization_moves_along_strengths_and_switches_kind():
    grid, strengths, x = grid_of_fits()
    X, y = x[::5, None], np.sin(np.pi * x[::5, None])
    live = widgets.regularization(grid, strengths, X, y, X, y, x, 0.0625)
    assert live.values == {"kind": "L2 weight_decay", "step": 0}
    assert live.text.startswith("L2 weight_decay = 0: training MSE 0.0200, validation MSE 0.1000")
    live.set(step=1)
    live.set(step=2)
    assert "L2 weight_decay = 0.1:" in live.text and not live.last_full  # same regularizer: blitted
    live.set(kind="dropout p", step=1)
    assert "dropout p = 0.2:" in live.text and live.last_full  # new ticks: a full render
    live.set(step=2)  # dropout was trained at two strengths only
    assert "pick a step up to 1" in live.text


def test_regularization_text_compares_with_the_noise_floor():
    grid, _, _ = grid_of_fits()
    assert widgets.regularization_text(grid, "dropout p", 0.2, 0.0625).endswith("(+44% against the noise floor 0.0625)")
