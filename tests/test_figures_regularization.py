"""Figure code of notebook 05 that holds logic: plain log ticks, the regularizer panel's kind switch."""

import numpy as np

from nnlib import viz
from nnlib.figures import regularization as figures


def test_plain_log_ticks_write_plain_numbers():
    fig, ax = viz.figure()
    ax.semilogy([1, 2], [0.02, 0.6])
    figures.plain_log_ticks(ax.yaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "0.05" in labels and "0.1" in labels and not any("10^" in s or "times" in s for s in labels)


def test_update_regularization_redraws_the_curves_only_when_the_kind_changes():
    x = np.linspace(-1, 1, 5)
    fig, art = figures.regularization_figure(x[:, None], x[:, None], x[:, None], x[:, None], x, 0.06, 3)
    errors = np.array([[0.02, 0.1], [0.05, 0.08], [0.1, 0.09]])
    figures.update_regularization(art, "L2", (0.0, 0.01, 0.1), errors, 1, (x, x))
    assert art.kind == "L2" and list(art.val.get_ydata()) == [0.1, 0.08, 0.09]
    assert [t.get_text() for t in art.ax2.get_xticklabels()] == ["0", "0.01", "0.1"]
    assert list(art.ring.get_ydata()) == [0.05, 0.08]
    art.train.set_data([], [])  # a marker: the same kind must not redraw the error curves
    figures.update_regularization(art, "L2", (0.0, 0.01, 0.1), errors, 2, (x, -x))
    assert len(art.train.get_xdata()) == 0 and art.ax.get_title() == "L2 = 0.1"
    figures.update_regularization(art, "dropout", (0.0, 0.01, 0.1), errors, 0, (x, x))
    assert len(art.train.get_xdata()) == 3 and art.ax2.get_xlabel() == "dropout"


def test_overfit_figure_keeps_its_legends_off_the_data_at_both_scales():
    rng = np.random.default_rng(0)
    X, X_val = rng.uniform(-1, 1, size=(20, 1)), rng.uniform(-1, 1, size=(20, 1))
    y, y_val = np.sin(3 * X) + 0.1, np.sin(3 * X_val)
    grid = np.linspace(-1, 1, 200)
    t = np.arange(300)
    # as in section 1: training error falls for good, validation error falls, then rises
    history = {"loss": np.geomspace(1, 1e-3, 300), "val_loss": 0.3 * np.exp(-t / 15) + 0.02 + 2e-4 * t}
    for scale in ("screen", "projector"):
        viz.use_style(scale)
        try:
            fig = figures.overfit_figure(X, y, X_val, y_val, grid, np.sin(3 * grid), history, 0.01)
            assert viz.legibility_problems(fig) == [], scale
        finally:
            viz.use_style("screen")
