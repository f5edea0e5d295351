"""Sliders of notebook 01: each one runs functions the notebook wrote and passes in.

The notebook defines the ideas (the threshold unit, the learning rule, the widest street
between two classes, the forward pass of the XOR network, a layer of ReLUs, the activation
table); these builders only read the controls, call those functions and hand the results to
the figures of :mod:`nnlib.figures.perceptron`.
"""

from __future__ import annotations

import numpy as np

from ..figures import perceptron as figures
from ..layers import sigmoid
from .live import Live, dropdown, int_slider, slider

__all__ = ["gate", "learning", "xor_training", "two_relus", "activations"]

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)  # truth-table order
XOR = np.array([0, 1, 1, 0])
SEPARABLE = 1e-9  # a street narrower than this counts as none (points that touch)


def _callable(fn, name, owner):
    if not callable(fn):
        raise TypeError(f"{owner}: argument '{name}' must be a function (the notebook's), got {fn!r}")


def _street(widest_street, P, y):
    """The notebook's widest street as (separable, (w, b), margin)."""
    margin, w, b = widest_street(P, y)
    return margin > SEPARABLE, (np.asarray(w, float), float(b)), float(margin)


def _verdict(separable, margin):
    return f"separable (margin {margin:.2f})" if separable else "not separable"


def gate(perceptron, gates, w1=0.5, w2=0.5, theta=0.8):
    """Sliders for the weights and threshold of one threshold unit on two binary inputs.

    Parameters
    ----------
    perceptron : the notebook's ``perceptron(X, w, theta)`` (1 where ``X @ w >= theta``)
    gates : dict of name -> truth-table column (four 0/1 outputs), to name what the unit computes
    w1, w2, theta : starting values
    """
    _callable(perceptron, "perceptron", "gate")
    fig, update = figures.gate()

    def draw(w1, w2, theta):
        w = np.array([w1, w2])
        sums = INPUTS @ w
        fires = np.asarray(perceptron(INPUTS, w, theta)).astype(int).reshape(4)
        name = next((n for n, column in gates.items() if list(column) == fires.tolist()), None)
        update(w, theta, sums, fires, name)
        rows = [f" {int(a)}   {int(b)}  {s:8.3g}  {'fires' if o else 'silent'}"
                for (a, b), s, o in zip(INPUTS, sums, fires)]
        return ("<pre>i1  i2     sum  output\n" + "\n".join(rows)
                + f"\n\nthe unit computes: {name or 'no named gate'}</pre>")

    return Live(draw, fig, w1=slider(w1, -2, 2, 0.1, "w1"), w2=slider(w2, -2, 2, 0.1, "w2"),
                theta=slider(theta, -2, 2, 0.1, "θ (threshold)"))


def learning(X, y, units, perceptron):
    """A slider over the updates the perceptron learning rule made.

    Parameters
    ----------
    X, y : the training points (N, 2) and their 0/1 labels (N,)
    units : list of ``(w, b)``, the unit before any update and after each one
    perceptron : the notebook's threshold unit, used to find the points on the wrong side
    """
    _callable(perceptron, "perceptron", "learning")
    X, y = np.asarray(X, float), np.asarray(y)
    if not units:
        raise ValueError("learning: argument 'units' is empty; pass the list train_perceptron returned")
    fig, update = figures.learning(X, y)

    def draw(k):
        w, b = units[k]
        wrong = np.asarray(perceptron(X, np.asarray(w, float), -b)) != y
        update(np.asarray(w, float), b, wrong, k)
        return (f"after {k} of {len(units) - 1} updates: w = ({w[0]:.3g}, {w[1]:.3g}), b = {b:.3g}; "
                f"{int(wrong.sum())} of {len(y)} points on the wrong side")

    return Live(draw, fig, cache=True, k=int_slider(0, 0, len(units) - 1, 1, "updates made"))


def _grid_polylines(box, n_lines, n_points=60):
    """The lines x1 = c and x2 = c of a grid over the box, as (n_points, 2) polylines."""
    c, t = np.linspace(*box, n_lines), np.linspace(*box, n_points)
    return ([np.c_[np.full_like(t, v), t] for v in c] + [np.c_[t, np.full_like(t, v)] for v in c])


def xor_training(run, forward, widest_street, n=100, n_lines=9):
    """A slider over the training steps of a 2-2-1 network on XOR: the input plane coloured by
    the network's P(class 1), next to the hidden space with the images of the input grid.

    Parameters
    ----------
    run : dict with ``"params"`` (one ``[W1, b1, W2, b2]`` per step) and ``"loss"``
    forward : the notebook's ``forward(params, X) -> (hidden, logits)``
    widest_street : the notebook's exact separability check ``(X, y) -> (margin, w, b)``
    """
    _callable(forward, "forward", "xor_training")
    _callable(widest_street, "widest_street", "xor_training")
    params, loss = run["params"], np.asarray(run["loss"])
    if np.shape(params[0][0]) != (2, 2):
        raise ValueError(f"xor_training: the hidden space is drawn for 2 hidden units; W1 has shape "
                         f"{np.shape(params[0][0])}, expected (2, 2)")
    hidden = [np.asarray(forward(p, INPUTS)[0]) for p in params]
    reach = 1.1 * max(1.0, max(float(np.abs(h).max()) for h in hidden))
    fig, update = figures.xor_training((-reach, reach), n_lines)
    g = np.linspace(*figures.GATE_BOX, n)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    polylines = _grid_polylines(figures.GATE_BOX, n_lines)

    def draw(step):
        p = params[step]
        prob = sigmoid(np.asarray(forward(p, grid)[1])).reshape(n, n)
        images = [np.asarray(forward(p, poly)[0]) for poly in polylines]
        ok, _, margin = _street(widest_street, hidden[step], XOR)
        right = int(np.sum((np.asarray(forward(p, INPUTS)[1]).ravel() > 0) == (XOR == 1)))
        update(prob, hidden[step], images, (np.asarray(p[2], float)[0], float(np.ravel(p[3])[0])),
               f"input space: {right} of 4 right", f"hidden space: {_verdict(ok, margin)}")
        return f"step {step}: loss {loss[step]:.3g}; {right} of 4 points classified right"

    return Live(draw, fig, cache=True, step=int_slider(0, 0, len(params) - 1, 1, "training step"))


def two_relus(X, y, relu_units, relu_layer, widest_street, presets):
    """Sliders for the angle and offset of two ReLU units' lines; the input space with the
    lines and normals, the hidden space with a separating line when one exists.

    Parameters
    ----------
    X, y : points (N, 2) and 0/1 labels (N,)
    relu_units : the notebook's ``(angles, offsets) -> (W, b)``
    relu_layer : the notebook's ``(X, W, b) -> max(0, X W^T + b)``
    widest_street : the notebook's exact separability check
    presets : dict of name -> dict(angle1=, offset1=, angle2=, offset2=); the first one is the start
    """
    for fn, name in ((relu_units, "relu_units"), (relu_layer, "relu_layer"), (widest_street, "widest_street")):
        _callable(fn, name, "two_relus")
    X, y = np.asarray(X, float), np.asarray(y)
    fig, update = figures.two_relus(X, y)
    start = next(iter(presets.values()))

    def draw(angle1, offset1, angle2, offset2):
        W, b = relu_units([angle1, angle2], [offset1, offset2])
        H = np.asarray(relu_layer(X, W, b))
        ok, line, margin = _street(widest_street, H, y)
        collapsed = int(np.sum(np.all(H == 0, axis=1)))
        update(np.asarray(W, float), np.asarray(b, float), H, line if ok else None,
               f"hidden space: {_verdict(ok, margin)}")
        return f"{collapsed} of {len(y)} points sent to (0, 0): both units silent there"

    controls = {f"angle{k}": slider(start[f"angle{k}"], 0, 360, 5, f"angle {k}", "degrees") for k in (1, 2)}
    controls.update({f"offset{k}": slider(start[f"offset{k}"], -3, 3, 0.1, f"offset {k}") for k in (1, 2)})
    return Live(draw, fig, presets=presets, **{k: controls[k] for k in ("angle1", "offset1", "angle2", "offset2")})


def activations(table, name=None, z_range=(-6.0, 6.0), tol=0.01):
    """A menu over the notebook's activation table: f and f' with the saturated range shaded.

    Parameters
    ----------
    table : dict of name -> ``(f, df)``, each a function of a numpy array
    name : the activation shown first (default: the table's first)
    """
    if not table:
        raise ValueError("activations: argument 'table' is empty")
    z = np.linspace(*z_range, 601)
    fig, update = figures.activations(z_range, tol)

    def draw(name):
        f, df = table[name]
        slope = np.asarray(df(z), float)
        update(z, np.asarray(f(z), float), slope, name)
        return f"{name}: largest slope {np.abs(slope).max():.3g} on [{z_range[0]:g}, {z_range[1]:g}]"

    return Live(draw, fig, cache=True, name=dropdown(list(table), name, "activation"))
