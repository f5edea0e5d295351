"""Helpers shared by the widget tests."""

from io import BytesIO

import numpy as np
from PIL import Image


def shows_the_full_render(live) -> bool:
    """The picture a redraw showed (perhaps blitted) equals a full render of the same state."""
    buf = BytesIO()
    live.fig.savefig(buf, format="png", dpi=live.fig.dpi)
    full = np.asarray(Image.open(buf).convert("RGBA")).astype(int)
    shown = np.asarray(Image.open(BytesIO(live.png)).convert("RGBA")).astype(int)
    return full.shape == shown.shape and np.abs(full - shown).max() <= 2


def training_steps(model, opt, loss_fn, X, y, n: int, record=None):
    """A generator of ``n`` full-batch training steps, for a TrainingJob; it yields the loss, or
    ``record(loss)`` when given."""
    for _ in range(n):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        opt.step()
        yield loss if record is None else record(loss)
