"""Training in the background: a notebook stays responsive while a model learns.

A :class:`TrainingJob` takes a model and an iterator of training steps, the same steps a
plain ``for`` loop would run, and runs them one at a time in a background thread::

    def steps():                                   # the loop you would write anyway
        for epoch in range(3):
            for xb, yb in batches(X, y, 64, rng):
                yield {"loss": train_step(model, loss_fn, optimizer, xb, yb), "epoch": epoch}

    job = TrainingJob(model, steps(), on_update=redraw)
    job.start()      # returns at once; job.pause(), job.step(), job.stop() from buttons

Every step runs under the model's guard (:class:`nnlib.module.ModelGuard`), so a reader
never sees a half-finished step: ``job.predict(X)`` waits for the current step to end,
and calling the model directly from another thread while the job runs raises a
RuntimeError instead of silently corrupting the layers' cached inputs. Because the
steps are exactly those of the iterator, a job gives the same weights, bit for bit, as
running the iterator in a ``for`` loop.

States: ``"ready"`` -> ``start()`` -> ``"running"`` <-> ``"paused"`` -> ``"finished"``
(the iterator is exhausted or ``stop()`` was called) or ``"failed"`` (a step raised; the
exception is kept in ``job.error``). Finished is final: ``stop()`` on a finished job does
nothing, and ``start()`` or ``step()`` on a stopped job runs no step (``job.stopped`` tells
a stop from a natural end; ``on_update`` hears about both).
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from ._validation import check_array, check_positive
from .module import ModelGuard, Module
from .training import predict

STATES = ("ready", "running", "paused", "finished", "failed")


class TrainingJob:
    """Run an iterator of training steps in a background thread, pausable and safe to read.

    Parameters
    ----------
    model : Module
        The model the steps train. It is guarded while the job runs.
    steps : iterable
        Each ``next()`` performs one training step and returns what to record: a dict of
        numbers (e.g. ``{"loss": 0.31, "epoch": 1}``), a single number (recorded as
        ``"loss"``) or None.
    on_update : callable, optional
        ``on_update(job)``, called from the training thread between steps every
        ``update_every`` seconds (counted from the start of one call to the next; when a call
        takes longer than two thirds of that, the next waits half as long again, so training
        keeps at least a third of the time), and once when the job pauses, finishes or fails. Widgets
        redraw from it. It runs outside the guard, like any reader: read the model through
        ``job.read``/``job.predict`` or ``with nnlib.module.guarded(job.model):``.
    update_every : float, default 0.1
        Seconds between ``on_update`` calls while running.
    name : str
        Shown in messages.

    Attributes
    ----------
    state : str, one of ``STATES``
    history : list of dict, one record per completed step
    error : Exception or None, what made the job fail
    stopped : bool, True when ``stop()`` ended the job before its steps ran out
    """

    def __init__(self, model: Module, steps, *, on_update=None, update_every: float = 0.1,
                 name: str = "a training job"):
        if not isinstance(model, Module):
            raise TypeError(f"TrainingJob: argument 'model' must be an nnlib Module, got {type(model).__name__}")
        try:
            self._steps = iter(steps)
        except TypeError:
            raise TypeError(
                f"TrainingJob: argument 'steps' must be an iterable of training steps, got {type(steps).__name__}"
            ) from None
        if on_update is not None and not callable(on_update):
            raise TypeError(f"TrainingJob: argument 'on_update' must be callable, got {on_update!r}")
        if not isinstance(name, str):
            raise TypeError(f"TrainingJob: argument 'name' must be a string, got {type(name).__name__}")
        check_positive(update_every, "update_every", "TrainingJob", allow_zero=True)
        self.model = model
        self.on_update = on_update
        self.update_every = float(update_every)
        self.name = name
        self.state = "ready"
        self.history: list[dict] = []
        self.error: Exception | None = None
        self._guard = ModelGuard(name)
        self._guard.attach(model)
        self.stopped = False  # True once stop() ended the job before its steps ran out
        self._pause = threading.Event()
        self._control = threading.RLock()  # start() and stop() from two threads take turns
        self._thread: threading.Thread | None = None

    # ---- what a reader sees ------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed")

    @property
    def n_steps(self) -> int:
        return len(self.history)

    def latest(self, key: str, default=math.nan):
        """The last recorded value of ``key`` (``default`` before the first step)."""
        for record in reversed(self.history):
            if key in record:
                return record[key]
        return default

    def curve(self, key: str) -> np.ndarray:
        """Every recorded value of ``key``, in step order."""
        return np.array([r[key] for r in list(self.history) if key in r], dtype=float)

    def read(self, fn):
        """``fn(model)`` with the model to itself, between two steps."""
        with self._guard:
            return fn(self.model)

    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """The model's outputs for X in eval mode, taken between two training steps
        (the same as :func:`nnlib.predict`, which is safe during training too)."""
        X = check_array(X, "X", "TrainingJob.predict", min_ndim=1)
        check_positive(batch_size, "batch_size", "TrainingJob.predict", integer=True)
        return self.read(lambda model: predict(model, X, batch_size))

    # ---- control -----------------------------------------------------------------------
    def start(self) -> bool:
        """Start or resume in the background; False (and nothing happens) once done.

        A job that was stopped stays finished: ``start()`` runs no further step.
        """
        thread = self._thread
        if thread is not None and thread.is_alive():
            if not self._pause.is_set():
                return True  # already running
            self.join()  # a pause(wait=False) is still winding down: let it end first
        with self._control:
            if self.done:
                return False
            if self._thread is not thread and self._thread.is_alive():
                return True  # another thread started it meanwhile
            self._guard.attach(self.model)  # refuses if another job has taken the model since
            self._pause.clear()
            self.state = "running"
            self._guard.active = True
            self._thread = threading.Thread(target=self._run, name=f"nnlib {self.name}", daemon=True)
            self._thread.start()
            return True

    def pause(self, wait: bool = True) -> None:
        """Ask the thread to stop after the current step (a no-op unless running)."""
        if self._thread is None:
            return
        self._pause.set()
        if wait:
            self.join()

    def stop(self) -> None:
        """Pause for good: the job is finished and the model is no longer guarded.

        Harmless on a job that has already finished, failed or been stopped. Calls
        ``on_update`` once when it changes the state, so a widget can show "stopped".
        """
        self.pause()
        with self._control:
            self._guard.detach(self.model)
            if self.done:
                return
            self.state = "finished"
            self.stopped = True
        close = getattr(self._steps, "close", None)
        if close is not None and self.join(timeout=0):
            close()  # a generator runs its finally blocks now, not at garbage collection
        self._notify()

    def step(self, n: int = 1) -> int:
        """Run ``n`` steps now, in the caller's thread (only while not running).

        Returns how many steps ran (fewer when the iterator ends).
        """
        check_positive(n, "n", "TrainingJob.step", integer=True)
        if self.running:
            raise RuntimeError("TrainingJob.step: the job is running; pause() it first")
        ran = 0
        while ran < n and not self.done:
            with self._guard:
                if not self._advance():
                    break
            ran += 1
        if self.state == "ready" and ran:
            self.state = "paused"
        self._notify()
        return ran

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background thread; True when it has ended."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def run(self) -> TrainingJob:
        """Run every remaining step in the caller's thread (for scripts and stored outputs)."""
        while not self.done:
            self.step(1000)
        if self.error is not None:
            raise self.error
        return self

    # ---- the thread ----------------------------------------------------------------------
    def _advance(self) -> bool:
        """One step under the guard; False when the iterator is exhausted or a step failed."""
        try:
            record = next(self._steps)
        except StopIteration:
            self.state = "finished"
            return False
        except Exception as err:  # noqa: BLE001 - kept for the widget to show, re-raised by run()
            self.error, self.state = err, "failed"
            return False
        if record is None:
            record = {}
        elif not isinstance(record, dict):
            try:
                record = {"loss": float(record)}
            except (TypeError, ValueError):
                self.state = "failed"
                self.error = TypeError(
                    f"TrainingJob: a step returned {record!r}; expected a dict of numbers, a number or None"
                )
                return False
        self.history.append(record)
        return True

    def _notify(self) -> None:
        if self.on_update is not None:
            self.on_update(self)

    def _run(self) -> None:
        due = time.perf_counter() + self.update_every
        try:
            while not self._pause.is_set():
                with self._guard:
                    if not self._advance():
                        break
                # readers (and on_update) come in between two steps, never inside one
                if self.on_update is not None and time.perf_counter() >= due:
                    start = time.perf_counter()
                    self.on_update(self)
                    took = time.perf_counter() - start
                    # every update_every seconds from start to start (a redraw's own time does not
                    # lower the frame rate), but at most two thirds of the time: training goes on
                    due = start + max(self.update_every, 1.5 * took)
                if self._guard.waiting:
                    time.sleep(0.0005)
        except Exception as err:  # noqa: BLE001 - an on_update that raised
            self.error, self.state = err, "failed"
        finally:
            self._guard.active = False
            if self.state == "running":
                self.state = "paused"
            try:
                self._notify()
            except Exception as err:  # noqa: BLE001 - keep the first error, never raise in a thread
                if self.error is None:
                    self.error, self.state = err, "failed"
