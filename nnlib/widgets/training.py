"""Train / Pause / Step / Reset: a live figure over a model that trains in the background.

The LeNet dashboard, the Playground and the deep-networks notebook all need the same thing:
knobs that define a training run, buttons that drive it, and figures that follow it while
it runs. :class:`TrainingPanel` is that, built from the two shared pieces: a
:class:`nnlib.jobs.TrainingJob` runs the steps in a background thread, and a
:class:`~nnlib.widgets.live.Live` draws the figure (from the training thread, at most
``fps`` times a second, and from the notebook when a knob or button moves)::

    def make_job(lr, width):                 # knobs -> a fresh, seeded training run
        model = nnlib.models.mlp([2, width, 2], rng=0)
        return TrainingJob(model, my_training_steps(model, lr))

    def draw(job):                           # the model is safe to read here
        curve.set_data(range(job.n_steps), job.curve("loss"))
        return f"loss {job.latest('loss'):.3f}"

    TrainingPanel(make_job, draw, fig, lr=log_slider(0.1, 1e-3, 1), width=int_slider(8, 1, 64))

Moving a knob starts a new run from the new settings (it keeps training if it was training);
**Reset** starts the same settings again from the start.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..jobs import TrainingJob
from ..module import guarded
from .live import Live

__all__ = ["TrainingPanel"]


class TrainingPanel:
    """Buttons over a background :class:`~nnlib.jobs.TrainingJob` and a live figure.

    Parameters
    ----------
    make_job : callable
        ``make_job(**knob_values) -> TrainingJob``: a fresh run for those settings. Jobs it
        returns must not have an ``on_update`` of their own; the panel sets it.
    draw : callable
        ``draw(job)`` updates the figure's artists from the job (its history, and the model,
        which the panel holds for it) and may return a line of HTML.
    fig : matplotlib Figure
    presets : dict, optional
        Named knob settings (see :class:`~nnlib.widgets.live.Live`).
    fps : float, default 10
        Redraws per second while training; fewer leave more of the CPU to training.
    step_size : int, default 1
        Training steps per click of **Step**.
    **knobs : ipywidgets value widgets, one per keyword of ``make_job``

    Attributes
    ----------
    job : the current TrainingJob;  live : the Live figure;  buttons : dict of name -> Button
    """

    def __init__(self, make_job, draw, fig, *, presets=None, fps: float = 10.0, step_size: int = 1,
                 layout: str = "left", **knobs):
        if not callable(make_job) or not callable(draw):
            raise TypeError("TrainingPanel: arguments 'make_job' and 'draw' must be callable")
        if not fps > 0:
            raise ValueError(f"TrainingPanel: argument 'fps' must be > 0, got {fps!r}")
        self._make_job, self._draw_job = make_job, draw
        self.fps, self.step_size = float(fps), int(step_size)
        self.job = None
        self._rebuild({name: k.value for name, k in knobs.items()}, keep_running=False)
        self.live = Live(self._draw, fig, presets=presets, layout=layout, on_change=self._rebuild, **knobs)
        self.buttons = {name: widgets.Button(description=name, layout=widgets.Layout(width="80px"))
                        for name in ("Train", "Pause", "Step", "Reset")}
        self.buttons["Train"].button_style = "success"
        self.buttons["Train"].on_click(lambda _: self.train())
        self.buttons["Pause"].on_click(lambda _: self.pause())
        self.buttons["Step"].on_click(lambda _: self.step())
        self.buttons["Reset"].on_click(lambda _: self.reset())
        self.status = widgets.HTML()
        self._show_status()
        self.widget = widgets.VBox([widgets.HBox(list(self.buttons.values()) + [self.status]), self.live.widget])

    # ---- what the buttons do ---------------------------------------------------------------
    def train(self) -> None:
        if self.job.done:  # a finished run starts again from the beginning
            self.reset()
        self.job.start()
        self._show_status()

    def pause(self) -> None:
        self.job.pause()
        self._show_status()

    def step(self) -> None:
        self.job.pause()
        self.job.step(self.step_size)
        self.live.refresh()
        self._show_status()

    def reset(self) -> None:
        self._rebuild(self.live.values, keep_running=False)
        self.live.refresh()
        self._show_status()

    def close(self) -> None:
        """Stop the run for good (e.g. before building another panel on the same model)."""
        self.job.stop()
        self._show_status()

    # ---- plumbing ----------------------------------------------------------------------------
    def _rebuild(self, values: dict, keep_running: bool = True) -> None:
        was_running = self.job is not None and self.job.running
        if self.job is not None:
            self.job.on_update = None  # the run being replaced is not drawn again
            self.job.stop()  # joins the thread: a redraw it had begun ends before the new job exists
        job = self._make_job(**values)
        if not isinstance(job, TrainingJob):
            raise TypeError(f"TrainingPanel: make_job must return a TrainingJob, got {type(job).__name__}")
        job.on_update = self._on_update
        job.update_every = 1.0 / self.fps
        self.job = job
        if was_running and keep_running:
            # after the redraw that follows a knob change: the new run starts once it is drawn
            self._start_after_draw = True

    def _on_update(self, job) -> None:
        if job is self.job:  # a stopped run's last call must not draw over the new one
            self.live.refresh()
            self._show_status()

    def _draw(self, **_values):
        with guarded(self.job.model):
            text = self._draw_job(self.job)
        if getattr(self, "_start_after_draw", False):
            self._start_after_draw = False
            self.job.start()
        return text

    def _show_status(self) -> None:
        job = self.job
        loss = job.latest("loss")
        parts = [job.state, f"step {job.n_steps}"]
        if loss == loss:  # not NaN
            parts.append(f"loss {loss:.4g}")
        if job.error is not None:
            parts.append(f'<span style="color:#D55E00">{type(job.error).__name__}: {job.error}</span>')
        if hasattr(self, "status"):
            self.status.value = " · ".join(parts)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
