"""The Playground of notebook 06: TensorFlow Playground over nnlib, wired from the notebook's functions.

Everything that is an idea lives in the notebook: the data sets, the network, the training
loop, the decision grid and the units' responses. This module only binds them to knobs,
the Train / Pause / Step / Reset buttons of :class:`~nnlib.widgets.training.TrainingPanel`
and the figure of :mod:`nnlib.figures.playground`, which follows the run while it trains.
"""

from __future__ import annotations

import numpy as np

from ..figures import playground as figures
from ..functional import softmax
from ..training import predict
from .live import dropdown, int_slider, log_slider, slider
from .training import TrainingPanel

__all__ = ["DEFAULTS", "L2_STRENGTHS", "LIVE_DPI", "knobs", "playground", "probability", "show_run", "status_text"]

L2_STRENGTHS = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1)  # the low end of TensorFlow Playground's list
# Pixels per inch of the live figure, in either scale. The browser fits the picture to the output's
# width, so text keeps its size on the page at any dpi; fewer pixels make a frame cheaper (encoding
# the PNG is most of it), and 80 dpi is still wider than the picture is shown, even on a projector.
LIVE_DPI = 80
DEFAULTS = {"noise": 0.1, "test_ratio": 0.5, "width": 4, "depth": 2, "activation": "tanh", "lr": 0.03,
            "optimizer": "Adam", "l2": 0.0, "dropout": 0.0, "batch_size": 10}


def probability(model, points) -> np.ndarray:
    """P(class 1) at each point: the softmax of the model's two logits, in eval mode."""
    return softmax(predict(model, points))[:, 1]


def status_text(model, data) -> str:
    """What the panel says under the figure: training and test accuracy now."""
    X_train, y_train, X_test, y_test = data
    parts = []
    for name, X, y in (("training", X_train, y_train), ("test", X_test, y_test)):
        if len(X):
            parts.append(f"{name} accuracy {np.mean((probability(model, X) > 0.5) == y):.0%}")
    return " · ".join(parts)


def show_run(fig, job, decision_grid, unit_responses, extent, resolution=60, unit_resolution=figures.UNIT_RESOLUTION):
    """Draw a job's model and curves on a :class:`~nnlib.figures.playground.PlaygroundFigure`:
    the boundary from ``decision_grid``, the losses, and each unit from ``unit_responses``
    (what the widget draws on every frame; a plain cell calls it once)."""
    model = job.model
    fig.show_boundary(decision_grid(lambda points: probability(model, points), extent, resolution))
    fig.show_losses(job.curve("loss"), job.curve("test_loss"))
    x0, x1, y0, y1 = extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, unit_resolution), np.linspace(y0, y1, unit_resolution))
    layers = unit_responses(model, np.c_[xx.ravel(), yy.ravel()])
    fig.show_units([a.T.reshape(-1, unit_resolution, unit_resolution) for a in layers])


def knobs(datasets, **values) -> dict:
    """The Playground's controls, at ``DEFAULTS`` (TensorFlow Playground's test share, network,
    activation, learning rate and batch size, with Adam for its plain SGD) unless ``values`` says otherwise."""
    datasets = list(datasets)
    if not datasets:
        raise ValueError("playground: argument 'datasets' must name at least one data set, got none")
    unknown = sorted(set(values) - set(DEFAULTS) - {"dataset"})
    if unknown:
        raise ValueError(f"playground: unknown knobs {unknown}; expected some of {['dataset', *DEFAULTS]}")
    values = {"dataset": datasets[0], **DEFAULTS, **values}
    return dict(
        dataset=dropdown(datasets, values["dataset"], label="data"),
        noise=slider(values["noise"], 0.0, 0.5, 0.05, label="noise"),
        test_ratio=slider(values["test_ratio"], 0.1, 0.9, 0.1, label="test share"),
        width=int_slider(values["width"], 1, figures.MAX_WIDTH, label="units per layer"),
        depth=int_slider(values["depth"], 0, figures.MAX_DEPTH, label="hidden layers"),
        activation=dropdown(["tanh", "relu", "sigmoid"], values["activation"], label="activation"),
        lr=log_slider(values["lr"], 0.001, 1.0, label="learning rate"),
        optimizer=dropdown(["SGD", "momentum", "Adam"], values["optimizer"], label="optimizer"),
        l2=dropdown(list(L2_STRENGTHS), values["l2"], label="L2"),
        dropout=slider(values["dropout"], 0.0, 0.6, 0.1, label="dropout"),
        batch_size=int_slider(values["batch_size"], 1, 64, label="batch size"),
    )


def playground(make_data, make_job, decision_grid, unit_responses, datasets, *, presets=None, resolution: int = 60,
               unit_resolution: int = figures.UNIT_RESOLUTION, fps: float = 10.0, **values) -> TrainingPanel:
    """TensorFlow Playground in a notebook.

    Parameters
    ----------
    make_data : ``make_data(dataset, noise, test_ratio) -> (X_train, y_train, X_test, y_test)``
    make_job : ``make_job(data, width, depth, activation, lr, optimizer, l2, dropout, batch_size)``
        -> a :class:`~nnlib.jobs.TrainingJob` whose steps record ``loss`` and ``test_loss``
    decision_grid : ``decision_grid(prob, extent, n) -> P``, ``P[i, j]`` = prob at row i (x2), column j (x1)
    unit_responses : ``unit_responses(model, points) -> [(N, width) array per hidden layer]``
    datasets : the names ``make_data`` knows (the first is the default)
    presets : ``{name: {knob: value}}``, a dropdown of settings that make a point
    resolution, unit_resolution : grid points per side of the boundary and of each unit's picture
    fps : redraws per second while training
    **values : starting values of the knobs (see :func:`knobs`)
    """
    controls = knobs(datasets, **values)
    run = {}
    fig = figures.PlaygroundFigure((-1, 1, -1, 1))
    fig.fig.set_dpi(LIVE_DPI)

    def job_for(dataset, noise, test_ratio, **network):
        data = make_data(dataset, noise, test_ratio)
        run["data"], run["extent"] = data, figures.extent_of(data[0], data[2])
        fig.show_data(*data, run["extent"])
        fig.reset_losses()
        return make_job(data, **network)

    def draw(job):
        show_run(fig, job, decision_grid, unit_responses, run["extent"], resolution, unit_resolution)
        return status_text(job.model, run["data"])

    if presets:  # the dropdown opens on a name that sets nothing, so it never names settings it did not set
        presets = {"(the knobs below)": {}, **presets}
    return TrainingPanel(job_for, draw, fig.fig, presets=presets, fps=fps, layout="left", **controls)
