"""Sliders of notebook 05 (regularization): thin wiring of the notebook's results to figures.

The early-stopping slider runs the notebook's own patience rule on a stored run; the
regularizer slider reads the grid of fits the notebook trained. Nothing trains on a redraw.
"""

from __future__ import annotations

import numpy as np

from ..figures import regularization as figures
from .live import Live, dropdown, int_slider


def early_stopping_text(history, rule, patience):
    """What the early-stopping widget says: the epochs ``rule(val_losses, patience)`` picks."""
    val = np.asarray(history["val_loss"])
    kept, stopped = rule(val, patience)
    return (f"patience {patience}: stops after epoch {stopped} of {len(val)}, keeps epoch {kept} "
            f"(validation MSE {val[kept - 1]:.4g}; the lowest of the run: {val.min():.4g}, at epoch "
            f"{int(np.argmin(val)) + 1})")


def early_stopping(history, rule, floor=0.0625, initial=20):
    """Patience slider over one run's stored curves; ``rule(val_losses, patience) -> (kept, stopped)``
    is the notebook's function, called on every move."""
    fig, artists = figures.early_stopping_figure(history, floor)

    def draw(patience):
        kept, stopped = rule(np.asarray(history["val_loss"]), patience)
        figures.update_early_stopping(artists, patience, kept, stopped)
        return early_stopping_text(history, rule, patience)

    return Live(draw, fig, cache=True, layout="top",
                patience=int_slider(initial, 1, 100, label="patience", unit="epochs"))


def regularization_text(grid, kind, strength, floor):
    """What the regularizer widget says about one fit of the grid ``{(kind, s): (train, val, curve)}``."""
    train, val, _ = grid[kind, strength]
    return (f"{kind} = {strength:g}: training MSE {train:.4f}, validation MSE {val:.4f} "
            f"({val / floor - 1:+.0%} against the noise floor {floor:g})")


def regularization(grid, strengths, X, y, X_val, y_val, x_grid, floor):
    """Regularizer and strength over the notebook's grid of fits; ``strengths[kind]`` lists the
    strengths of each regularizer (the slider moves along them)."""
    n = max(len(s) for s in strengths.values())
    fig, artists = figures.regularization_figure(X, y, X_val, y_val, x_grid, floor, n)

    def draw(kind, step):
        values = strengths[kind]
        if step >= len(values):
            raise ValueError(f"{kind} was trained at {len(values)} strengths: pick a step up to {len(values) - 1}")
        errors = np.array([grid[kind, s][:2] for s in values])
        figures.update_regularization(artists, kind, values, errors, step, (x_grid, grid[kind, values[step]][2]))
        return regularization_text(grid, kind, values[step], floor)

    return Live(draw, fig, cache=True, layout="top",
                kind=dropdown(list(strengths), label="regularizer"),
                step=int_slider(0, 0, n - 1, label="strength step"))
