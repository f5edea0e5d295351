"""Helpers for notebook 03 (computation graphs and backpropagation).

Each demo has a plain function that computes what a slider shows (unit-tested in
``tests/test_dashboard_backprop.py``), a plotting helper, and a thin ``*_widget`` function
that wires ipywidgets controls to them through :class:`nnlib.viz.LiveFigure`.

What the student should read (the engine's operations, the numpy deltas of the notes) stays
in ``nnlib.graph`` and in the notebook; this module only measures and draws.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib import ticker as mpl_ticker

from .. import init as nn_init
from .. import viz
from .._validation import check_array, check_in_range, check_positive
from ..graph import GraphPlot, Value, topological_order
from ..module import Module, Sequential

# ---- 1. sensitivity: the partial derivative predicts how an output moves ------------------------
# A fixed 3x2 map so that every student sees the same numbers (the notes' g: R^p -> R^n).
M_DEMO = np.array([[1.0, -2.0], [0.5, 1.0], [-1.5, 0.5]])
C_DEMO = np.array([0.5, -1.0, 0.0])
A_DEMO = np.array([0.4, -0.3])
SENSITIVITY_KINDS = ("affine", "nonlinear")


def sensitivity_map(a, kind: str = "affine"):
    """b = g(a) built from ``nnlib.graph`` Values: ``M a + c`` or ``tanh(M a + c)``.

    Returns the list of output Values (one per b_i) and the list of input Values (a_j).

    Shape
    -----
    a: ``(2,)``, or ``(2, T)`` for T points at once (the engine broadcasts); returns 3
    outputs and 2 inputs, each a scalar or ``(T,)``.
    """
    a = check_array(a, "a", "sensitivity_map", min_ndim=1, finite=True)
    if a.shape[0] != 2 or a.ndim > 2:
        raise ValueError(f"sensitivity_map: argument 'a' expected shape (2,) or (2, T), got {a.shape}")
    if kind not in SENSITIVITY_KINDS:
        raise ValueError(
            f"sensitivity_map: argument 'kind' must be one of {SENSITIVITY_KINDS}, got {kind!r}"
        )
    inputs = [Value(v, label=f"a{j + 1}") for j, v in enumerate(a)]
    outputs = []
    for i in range(M_DEMO.shape[0]):
        z = sum((float(M_DEMO[i, j]) * inputs[j] for j in range(2)), Value(float(C_DEMO[i])))
        b = z if kind == "affine" else z.tanh()
        b.label = f"b{i + 1}"
        outputs.append(b)
    return outputs, inputs


def sensitivity(kind: str = "affine", j: int = 0, delta: float = 0.5, a=None) -> dict:
    """Perturb input a_j by δ and compare each output's true change with (∂b_i/∂a_j)·δ.

    The partial derivatives come from the engine: one backward pass per output b_i.

    Parameters
    ----------
    kind : "affine" or "nonlinear"
    j : int, which input to move (0 or 1)
    delta : float, the perturbation δ, in [-3, 3]
    a : array (2,), the base point (default ``A_DEMO``)

    Returns
    -------
    dict with arrays of shape (3,): ``b`` (at a), ``b_moved`` (at a + δ e_j), ``slope``
    (∂b_i/∂a_j), ``predicted`` (b + slope·δ), ``error`` (b_moved - predicted).

    Shape
    -----
    a: ``(2,)``; every returned array ``(3,)``.
    """
    check_in_range(delta, "delta", "sensitivity", -3.0, 3.0, hi_open=False)
    _check_j(j, "sensitivity")
    a = A_DEMO if a is None else check_array(a, "a", "sensitivity", shape=(2,), finite=True)
    outputs, inputs = sensitivity_map(a, kind)
    slope = []
    for b in outputs:
        b.zero_grad()
        b.backward()
        slope.append(inputs[j].grad)
    moved = np.array(a, dtype=float)
    moved[j] += delta
    b = np.array([o.data for o in outputs])
    b_moved = np.array([o.data for o in sensitivity_map(moved, kind)[0]])
    slope = np.array(slope)
    predicted = b + slope * delta
    return dict(b=b, b_moved=b_moved, slope=slope, predicted=predicted, error=b_moved - predicted)


def _check_j(j, owner: str) -> int:
    if isinstance(j, bool) or not isinstance(j, numbers.Integral) or j not in (0, 1):
        raise ValueError(f"{owner}: argument 'j' must be 0 or 1, got {j!r}")
    return int(j)


def sensitivity_curves(kind: str, j: int, ts) -> np.ndarray:
    """b_i(a + t e_j) at the demo point for every t in ``ts`` (the curves on the plot).

    Shape
    -----
    ts: ``(T,)``; returns ``(T, 3)``.
    """
    _check_j(j, "sensitivity_curves")
    ts = check_array(ts, "ts", "sensitivity_curves", ndim=1, finite=True)
    a = np.repeat(np.asarray(A_DEMO, dtype=float)[:, None], len(ts), axis=1)
    a[j] += ts
    return np.array([np.broadcast_to(o.data, ts.shape) for o in sensitivity_map(a, kind)[0]]).T


def sensitivity_widget():
    """Slider for δ, choice of input and of map: curves, tangent lines and the estimate's error."""
    import ipywidgets as widgets

    ts = np.linspace(-3, 3, 61)
    curves = {(k, j): sensitivity_curves(k, j, ts) for k in SENSITIVITY_KINDS for j in (0, 1)}
    fig, (ax, bx) = viz.figure(1, 2, figsize=(12, 4.6))
    colors = viz.PALETTE[:3]
    lines = [ax.plot(ts, ts * 0, color=c, label=f"$b_{i + 1}$")[0] for i, c in enumerate(colors)]
    tangents = [ax.plot(ts, ts * 0, "--", color=c, lw=1.3)[0] for c in colors]
    true_pts = ax.scatter([0, 0, 0], [0, 0, 0], color=colors, zorder=3, s=50, label="true")
    pred_pts = ax.scatter([0, 0, 0], [0, 0, 0], color=colors, marker="x", zorder=3, s=70,
                          label="linear estimate")
    vline = ax.axvline(0, color="#555555", lw=1)
    ax.set_xlabel("perturbation δ of the chosen input")
    ax.set_ylabel("output $b_i$")
    x = np.arange(3)
    bars_true = bx.bar(x - 0.2, [0, 0, 0], width=0.4, color=viz.BLUE, label="true change")
    bars_pred = bx.bar(x + 0.2, [0, 0, 0], width=0.4, color=viz.ORANGE, label="(∂b_i/∂a_j)·δ")
    bx.set_xticks(x, ["$b_1$", "$b_2$", "$b_3$"])
    bx.set_ylabel("change of $b_i$")
    zero_line = bx.axhline(0, color="#555555", lw=1)
    bx_legend = bx.legend(loc="upper left", fontsize=11)
    ax.set_title("title")  # placeholders, so tight_layout leaves room for the titles
    bx.set_title("title")
    # made once; "best" is worked out at each draw, so it still moves out of the curves' way
    legend = ax.legend(loc="best", fontsize=11, ncol=2, framealpha=0.9)
    fig.tight_layout()
    kind = widgets.ToggleButtons(options=SENSITIVITY_KINDS, description="map")
    j = widgets.ToggleButtons(options=[("a1", 0), ("a2", 1)], description="move")
    delta = widgets.FloatSlider(value=0.5, min=-3, max=3, step=0.05, description="δ")
    msg = widgets.HTML()

    def update(_=None, draw=True):
        r = sensitivity(kind.value, j.value, delta.value)
        ys = curves[(kind.value, j.value)]
        for i in range(3):
            lines[i].set_ydata(ys[:, i])
            tangents[i].set_ydata(r["b"][i] + r["slope"][i] * ts)
            bars_true[i].set_height(r["b_moved"][i] - r["b"][i])
            bars_pred[i].set_height(r["predicted"][i] - r["b"][i])
        true_pts.set_offsets(np.c_[np.full(3, delta.value), r["b_moved"]])
        pred_pts.set_offsets(np.c_[np.full(3, delta.value), r["predicted"]])
        vline.set_xdata([delta.value, delta.value])
        ax.set_ylim(ys.min() - 0.5, ys.max() + 0.5)
        changes = np.r_[r["b_moved"] - r["b"], r["predicted"] - r["b"]]
        # snapped to 1-2-5 steps: small δ moves keep the limits, so only the data is redrawn
        lim = viz.nice_ceil(1.2 * max(np.max(np.abs(changes)), 0.1))
        bx.set_ylim(-lim, lim)
        ax.set_title(f"{kind.value} map, moving a{j.value + 1}: tangents = estimates")
        # Round-off (~1e-16) of the affine case is shown as the 0 it stands for.
        error = np.where(np.abs(r["error"]) < 1e-12, 0.0, r["error"])
        bx.set_title(f"largest error of the estimate: {np.max(np.abs(error)):.3g}")
        msg.value = viz.message(
            f"δ = {delta.value:.2f}: slopes ∂b_i/∂a_j = " + ", ".join(f"{s:.3g}" for s in r["slope"])
            + f"; errors = {', '.join(f'{e:.2g}' for e in error)}")
        if draw:
            live.redraw(key=(kind.value, j.value, delta.value))

    for w in (kind, j, delta):
        w.observe(update, "value")
    update(draw=False)
    # blit: axes, ticks and labels are rendered once (again when a limit changes); a δ move
    # redraws the data, the titles and the legend on top
    live = viz.LiveFigure(fig, animated=[*lines, *tangents, vline, true_pts, pred_pts, *bars_true,
                                         *bars_pred, zero_line, ax.title, bx.title, legend, bx_legend])
    box = widgets.VBox([widgets.HBox([kind, j]), delta, msg, live.output])
    box.live = live  # box.live.last_ms: the last redraw time, for instructors and tests
    return box

# ---- 2. the chain rule as a sum over paths ---------------------------------------------------------
def path_table(paths) -> list[str]:
    """One line per path from ``nnlib.graph.chain_rule_paths``: the nodes, factors and product."""
    rows = []
    for nodes, product in paths:
        names = " → ".join(n.label or f"[{n.op}]" for n in nodes)
        rows.append(f"{names}: product of local derivatives = {product:.4g}")
    return rows


def count_paths(root: Value, leaf: Value) -> int:
    """How many paths lead from ``leaf`` to ``root``, by dynamic programming over the graph
    (paths(node) = Σ over parents of paths(parent)), so no path is ever listed."""
    order = topological_order(root)
    if all(n is not leaf for n in order):
        raise ValueError("count_paths: argument 'leaf' is not a node that 'root' depends on")
    paths = {id(leaf): 1}
    for node in order:
        if node is not leaf:
            paths[id(node)] = sum(paths.get(id(p), 0) for p in node.parents)
    return paths[id(root)]


def count_edges(root: Value) -> int:
    """Edges of the graph (each is used once by the backward pass)."""
    return sum(len(n.parents) for n in topological_order(root))


# ---- 3. walking through the passes ------------------------------------------------------------------
def backprop_stepper(root: Value, start: int | None = None):
    """A slider over the steps of the forward then backward pass of ``root``'s graph.

    Call ``root.backward()`` first; the slider only reveals cached numbers, it computes
    nothing, which is the point: the backward pass reads values stored by the forward pass.
    """
    import ipywidgets as widgets

    plot = GraphPlot(root)
    n = plot.n_steps
    if start is not None:
        check_in_range(start, "start", "backprop_stepper", 0, n - 1, hi_open=False)
    step = widgets.IntSlider(value=n - 1 if start is None else start, min=0, max=n - 1,
                             description="step", continuous_update=True,
                             layout=widgets.Layout(width="600px"))

    def update(_=None, draw=True):
        plot.set_step(step.value)
        if draw:
            live.redraw(key=step.value)  # a step seen before is swapped in without rendering

    step.observe(update, "value")
    update(draw=False)
    live = viz.LiveFigure(plot.fig)  # renders the first state once
    box = widgets.VBox([step, live.output])
    box.live = live  # box.live.last_ms: the last redraw time, for instructors and tests
    return box

# ---- 4. forward vs reverse mode: multiplying a chain of Jacobians ---------------------------------
def _check_widths(widths, owner: str) -> list[int]:
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"{owner}: argument 'widths' needs at least 2 entries, got {widths}")
    for i, d in enumerate(widths):
        check_positive(d, f"widths[{i}]", owner, integer=True)
    return widths


def matrix_chain_order(dims) -> tuple[int, str]:
    """Cheapest way to multiply A_1 A_2 ... A_k where A_i is ``dims[i-1] x dims[i]``.

    The classic dynamic program: cost[i][j] = min over split s of
    cost[i][s] + cost[s+1][j] + dims[i-1]·dims[s]·dims[j] scalar multiplications.

    Returns
    -------
    (cost, parenthesisation), e.g. ``(120, "((A1 A2) A3)")``.
    """
    p = _check_widths(dims, "matrix_chain_order")
    k = len(p) - 1
    cost = [[0] * (k + 1) for _ in range(k + 1)]
    split = [[0] * (k + 1) for _ in range(k + 1)]
    for length in range(2, k + 1):
        for i in range(1, k - length + 2):
            j = i + length - 1
            cost[i][j] = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + p[i - 1] * p[s] * p[j]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s

    def name(i, j):
        if i == j:
            return f"A{i}"
        return f"({name(i, split[i][j])} {name(split[i][j] + 1, j)})"

    return cost[1][k], name(1, k)


def chain_costs(widths) -> dict:
    """Scalar multiplications to form ∂y/∂x = J_L ⋯ J_1 for layer widths D_0 .. D_L.

    J_l = ∂h_l/∂h_{l-1} is ``D_l x D_{l-1}``. Reverse mode (backprop) multiplies from the
    output end, so every intermediate product has D_L rows; forward mode multiplies from the
    input end, so every intermediate has D_0 columns.

    Parameters
    ----------
    widths : sequence of int, ``[D_0, D_1, ..., D_L]`` (input first, output last)

    Returns
    -------
    dict: ``forward``, ``reverse``, ``optimal`` (ints) and ``order`` (the optimal
    parenthesisation, with A1 = J_L the output end and A_L = J_1 the input end).
    """
    D = _check_widths(widths, "chain_costs")
    L = len(D) - 1
    reverse = sum(D[L] * D[l] * D[l - 1] for l in range(1, L))  # (J_L J_{L-1}) J_{L-2} ...
    forward = sum(D[l + 1] * D[l] * D[0] for l in range(1, L))  # J_L (... (J_2 J_1))
    optimal, order = matrix_chain_order(D[::-1])
    return dict(forward=forward, reverse=reverse, optimal=optimal, order=order)


CHAIN_PRESETS = {
    "scalar loss (many inputs, 1 output)": [784, 256, 128, 64, 1],
    "1 input, many outputs": [1, 64, 128, 256, 784],
    "hourglass (wide, narrow, wide)": [512, 512, 2, 512, 512],
    "all equal": [100, 100, 100, 100, 100],
}


def chain_cost_widget():
    """Width sliders D_0..D_4 and presets: bar chart of the cost of each multiplication order."""
    import ipywidgets as widgets

    fig, ax = viz.figure(figsize=(8, 4))
    names = ["forward mode", "reverse mode\n(backprop)", "optimal\n(matrix-chain DP)"]
    bars = ax.bar(names, [1, 1, 1], color=[viz.ORANGE, viz.BLUE, viz.GREEN])
    ax.set_yscale("log")
    ax.set_ylabel("scalar multiplications")
    fig.tight_layout()
    preset = widgets.Dropdown(options=list(CHAIN_PRESETS), description="preset",
                              layout=widgets.Layout(width="420px"))
    sliders = [widgets.IntSlider(value=v, min=1, max=1024, description=f"D{i}",
                                 continuous_update=False)
               for i, v in enumerate(CHAIN_PRESETS[preset.value])]
    msg = widgets.HTML()
    labels = []

    def update(_=None, draw=True):
        widths = [s.value for s in sliders]
        c = chain_costs(widths)
        vals = [c["forward"], c["reverse"], c["optimal"]]
        for b, v in zip(bars, vals, strict=True):
            b.set_height(v)
        for t in labels:
            t.remove()
        labels[:] = [ax.text(b.get_x() + b.get_width() / 2, v, f"{v:,}", ha="center",
                             va="bottom", fontsize=12) for b, v in zip(bars, vals, strict=True)]
        ax.set_ylim(min(vals) / 3, max(vals) * 8)
        ax.set_title("widths D = " + ", ".join(map(str, widths)))
        msg.value = viz.message(f"optimal order (A1 = J_L at the output): {c['order']}")
        if draw:
            live.redraw(key=tuple(widths))

    def load(_=None, draw=True):
        for s, v in zip(sliders, CHAIN_PRESETS[preset.value], strict=True):
            s.unobserve(update, "value")
            s.value = v
            s.observe(update, "value")
        update(draw=draw)

    for s in sliders:
        s.observe(update, "value")
    preset.observe(load, "value")
    update(draw=False)
    live = viz.LiveFigure(fig)  # renders the first state once
    box = widgets.VBox([preset, widgets.HBox(sliders[:3]), widgets.HBox(sliders[3:]), msg,
                         live.output])
    box.live = live  # box.live.last_ms: the last redraw time, for instructors and tests
    return box

# ---- 5. cost of backprop vs the naive method as depth grows ---------------------------------------
def plot_cost_vs_depth(ax, depths, counts: dict, ylabel: str, title: str):
    """Log-log curves of a cost (operation counts or seconds) per method against depth.

    Shape
    -----
    depths: ``(K,)``; each value of ``counts`` (method name -> costs): ``(K,)``.
    """
    depths = check_array(depths, "depths", "plot_cost_vs_depth", ndim=1, finite=True)
    for name, values in counts.items():
        check_array(values, f"counts[{name!r}]", "plot_cost_vs_depth", shape=depths.shape)
    depths = [int(d) if float(d).is_integer() else float(d) for d in depths]
    for (name, values), color in zip(counts.items(), viz.PALETTE, strict=False):
        ax.loglog(depths, values, "o-", color=color, label=name)
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.xaxis.set_minor_locator(mpl_ticker.NullLocator())
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax


# ---- 6. unstable gradients --------------------------------------------------------------------------
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("zeros", "small", "xavier", "he", "default")


def deep_mlp(depth: int, activation: str = "relu", init: str = "he", width: int = 32,
             seed: int = 0, bias: float = 0.0) -> Sequential:
    """``depth`` Linear layers of ``width`` units (1 output) with ``init`` weights.

    ``bias`` sets every bias (0 by default; negative values push ReLUs towards death).
    """
    check_positive(depth, "depth", "deep_mlp", integer=True)
    check_positive(width, "width", "deep_mlp", integer=True)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"deep_mlp: argument 'activation' must be one of {ACTIVATIONS}, got {activation!r}"
        )
    if init not in INITS:
        raise ValueError(f"deep_mlp: argument 'init' must be one of {INITS}, got {init!r}")
    check_in_range(bias, "bias", "deep_mlp", -10.0, 10.0, hi_open=False)
    from ..models import mlp

    model = mlp([width] * depth + [1], activation=activation, rng=seed)
    nn_init.initialize(model, init, rng=seed)
    if init != "default" or bias != 0.0:
        for layer in model.layers:
            if getattr(layer, "bias", None) is not None:
                layer.bias.value[...] = bias
    return model


def gradient_norms(depth: int = 10, activation: str = "sigmoid", init: str = "xavier",
                   width: int = 32, batch: int = 64, seed: int = 0, bias: float = 0.0) -> dict:
    """One forward/backward pass of a deep MLP on a seeded batch with a squared loss.

    Returns
    -------
    dict with arrays of length ``depth`` (index 0 = the layer next to the input):
    ``grad_norm`` (Frobenius norm of ∂L/∂W for each Linear layer), ``act_std`` (standard
    deviation of each hidden layer's output, last entry: the network output), and
    ``dead`` (fraction of hidden units that output 0 for every sample; 0 for non-ReLU).

    Shape
    -----
    The network maps ``(batch, width)`` to ``(batch, 1)``; every returned array is ``(depth,)``.
    """
    check_positive(batch, "batch", "gradient_norms", integer=True)
    model = deep_mlp(depth, activation, init, width, seed, bias)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, width))
    y = rng.standard_normal((batch, 1))
    acts, h = [], X
    for layer in model.layers:
        h = layer(h)
        if not hasattr(layer, "weight"):
            acts.append(h)
    out = h
    model.zero_grad()
    g = 2 * (out - y) / out.size  # d/dout of mean((out - y)^2)
    for layer in reversed(model.layers):
        g = layer.backward(g)
    linears = [m for m in model.layers if hasattr(m, "weight")]
    grad_norm = np.array([np.linalg.norm(m.weight.grad) for m in linears])
    act_std = np.array([a.std() for a in acts] + [out.std()])
    dead = np.array([float(np.mean(np.all(a == 0, axis=0))) if activation == "relu" else 0.0
                     for a in acts] + [0.0])
    return dict(grad_norm=grad_norm, act_std=act_std, dead=dead)


def dead_relu_fraction(model: Module, X) -> list[float]:
    """For each ReLU in ``model`` (a Sequential), the fraction of its units that output 0 on
    every row of X: a dead unit passes no gradient to its weights, so it cannot recover.

    Shape
    -----
    X: ``(N, in_features)``; returns one float per ReLU layer.
    """
    from ..layers import ReLU

    if not isinstance(model, Sequential):
        raise TypeError(
            "dead_relu_fraction: argument 'model' must be a Sequential, "
            f"got {type(model).__name__}"
        )
    X = check_array(X, "X", "dead_relu_fraction", ndim=2, finite=True)
    fractions, h = [], X
    for layer in model.layers:
        h = layer(h)
        if isinstance(layer, ReLU):
            fractions.append(float(np.mean(np.all(h == 0, axis=0))))
    return fractions


GRADIENT_PRESETS = {
    "sigmoid, Xavier: vanishing": dict(depth=20, activation="sigmoid", init="xavier"),
    "tanh, small: vanishing fast": dict(depth=20, activation="tanh", init="small"),
    "relu, He: stable": dict(depth=20, activation="relu", init="he"),
    "relu, zeros: no gradient at all": dict(depth=20, activation="relu", init="zeros"),
}


def gradient_widget():
    """Depth, activation and initialisation controls: gradient norm and activation spread per layer."""
    import ipywidgets as widgets

    fig, (ax, bx) = viz.figure(1, 2, figsize=(12, 4.4))
    preset = widgets.Dropdown(options=list(GRADIENT_PRESETS), description="preset",
                              layout=widgets.Layout(width="380px"))
    depth = widgets.IntSlider(value=20, min=2, max=40, description="depth")
    act = widgets.ToggleButtons(options=ACTIVATIONS, description="activation")
    ini = widgets.ToggleButtons(options=INITS, value="xavier", description="init")
    msg = widgets.HTML()
    floor = 1e-30  # zero gradients are drawn on the floor of the log axis

    (grad_line,) = ax.semilogy([1], [1], "o-", color=viz.BLUE)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖")
    ax.set_title("gradient norm per layer")
    (std_line,) = bx.plot([1], [1], "o-", color=viz.ORANGE)
    bx.set_xlabel("layer")
    bx.set_ylabel("std of the layer's output")
    bx.set_title("forward signal")
    for a in (ax, bx):
        a.xaxis.set_major_locator(mpl_ticker.MaxNLocator(integer=True))
    # plain "1e-10" labels: the log axis' default mathtext labels were most of a redraw
    ax.yaxis.set_major_formatter(mpl_ticker.FuncFormatter(
        lambda v, _: "1" if v == 1 else f"1e{round(np.log10(v)):d}" if v > 0 else ""))
    ax.yaxis.set_minor_formatter(mpl_ticker.NullFormatter())
    fig.tight_layout()

    def update(_=None, draw=True):
        # Artists are updated in place (no ax.clear()), which keeps a redraw cheap.
        r = gradient_norms(depth.value, act.value, ini.value)
        layers = np.arange(1, depth.value + 1)
        shown = np.maximum(r["grad_norm"], floor)
        grad_line.set_data(layers, shown)
        std_line.set_data(layers, r["act_std"])
        # limits snapped (depth to 5/10/20/40, the log axis to 5 decades): most moves keep them,
        # so only the lines are redrawn over the kept axes
        right = next(m for m in (5, 10, 20, depth.max) if m >= depth.value)
        for a in (ax, bx):
            a.set_xlim(0.5, right + 0.5)
        lo, hi = np.log10(shown.min()) - 1, np.log10(shown.max()) + 1
        ax.set_ylim(10.0 ** (5 * np.floor(lo / 5)), 10.0 ** (5 * np.ceil(hi / 5)))
        bx.set_ylim(0, viz.nice_ceil(max(r["act_std"].max(), 1e-3) * 1.15))
        zero = int(np.sum(r["grad_norm"] == 0))
        ax.set_title("gradient norm per layer" + (" (0 drawn at 1e-30)" if zero else ""))
        ratio = r["grad_norm"][0] / r["grad_norm"][-1] if r["grad_norm"][-1] > 0 else float("nan")
        msg.value = viz.message(
            f"first/last layer gradient ratio: {ratio:.3g}; layers with exactly zero gradient: "
            f"{zero} of {depth.value}", "warn" if zero or not 1e-2 < ratio < 1e2 else "ok")
        if draw:
            live.redraw(key=(depth.value, act.value, ini.value))

    def load(_=None, draw=True):
        p = GRADIENT_PRESETS[preset.value]
        for w, key in ((depth, "depth"), (act, "activation"), (ini, "init")):
            w.unobserve(update, "value")
            w.value = p[key]
            w.observe(update, "value")
        update(draw=draw)

    for w in (depth, act, ini):
        w.observe(update, "value")
    preset.observe(load, "value")
    load(draw=False)
    live = viz.LiveFigure(fig, animated=[grad_line, std_line, ax.title])  # blit: see sensitivity_widget
    box = widgets.VBox([preset, depth, act, ini, msg, live.output])
    box.live = live  # box.live.last_ms: the last redraw time, for instructors and tests
    return box

def dying_relu(bias: float = 0.0, lr: float = 0.0, depth: int = 6, width: int = 32,
               batch: int = 256, seed: int = 0) -> dict:
    """Dead ReLU units per layer, before and after one plain SGD step of size ``lr``.

    Returns
    -------
    dict: ``before`` and ``after`` (lists, one fraction per hidden layer) and
    ``grad_norm`` (per Linear layer, at the start).

    Shape
    -----
    Batch ``(batch, width)``; ``before``/``after`` have ``depth - 1`` entries, ``grad_norm`` ``depth``.
    """
    check_in_range(lr, "lr", "dying_relu", 0.0, 1e3, hi_open=False)
    model = deep_mlp(depth, "relu", "he", width, seed, bias)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, width))
    y = rng.standard_normal((batch, 1)) + 3.0  # a target the net must move towards
    before = dead_relu_fraction(model, X)
    out = model(X)
    model.zero_grad()
    g = 2 * (out - y) / out.size
    for layer in reversed(model.layers):
        g = layer.backward(g)
    grad_norm = [float(np.linalg.norm(p.grad)) for p in model.parameters() if p.name == "weight"]
    for p in model.parameters():
        p.value -= lr * p.grad
    return dict(before=before, after=dead_relu_fraction(model, X), grad_norm=grad_norm)


def dying_relu_widget():
    """Bias and step-size sliders: fraction of dead ReLU units per layer before/after a step."""
    import ipywidgets as widgets

    fig, ax = viz.figure(figsize=(8, 4))
    bias = widgets.FloatSlider(value=0.0, min=-2.0, max=1.0, step=0.1, description="bias")
    lr = widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=1, description="SGD step lr")
    msg = widgets.HTML()

    k = np.arange(1, len(dying_relu()["before"]) + 1)
    bars_before = ax.bar(k - 0.2, np.zeros(len(k)), width=0.4, color=viz.BLUE,
                         label="at initialisation")
    bars_after = ax.bar(k + 0.2, np.zeros(len(k)), width=0.4, color=viz.VERMILLION,
                        label="after one SGD step")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(k)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("fraction of dead units")
    ax.set_title("dead ReLUs: zero output on every sample")
    ax.legend(loc="upper left")
    fig.tight_layout()

    def update(_=None, draw=True):
        r = dying_relu(bias.value, lr.value)
        for bar, v in zip(bars_before, r["before"], strict=True):
            bar.set_height(v)
        for bar, v in zip(bars_after, r["after"], strict=True):
            bar.set_height(v)
        msg.value = viz.message(f"dead units after the step: {np.mean(r['after']):.0%} on average")
        if draw:
            live.redraw()

    for w in (bias, lr):
        w.observe(update, "value")
    update(draw=False)
    live = viz.LiveFigure(fig)  # renders the first state once
    box = widgets.VBox([bias, lr, msg, live.output])
    box.live = live  # box.live.last_ms: the last redraw time, for instructors and tests
    return box

# ---- 7. gradient check of every layer ---------------------------------------------------------------
def _away_from_kinks(rng, shape):
    """Normal samples kept at least 0.1 from 0, where ReLU-like layers have a kink."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (0.1 + np.abs(x))


def _cases():
    """How to build a small instance of each layer class, and an input for it."""
    import nnlib

    def get(name, *args, **kwargs):
        return lambda: getattr(nnlib, name)(*args, **kwargs)

    return {
        "Linear": (get("Linear", 4, 3, rng=0), "Linear(4, 3)", (5, 4)),
        "ReLU": (get("ReLU"), "ReLU()", (5, 4)),
        "Sigmoid": (get("Sigmoid"), "Sigmoid()", (5, 4)),
        "Tanh": (get("Tanh"), "Tanh()", (5, 4)),
        "LeakyReLU": (get("LeakyReLU", 0.1), "LeakyReLU(0.1)", (5, 4)),
        "ELU": (get("ELU", 1.0), "ELU(1.0)", (5, 4)),
        "Identity": (get("Identity"), "Identity()", (5, 4)),
        "Dropout": (get("Dropout", 0.5, rng=0), "Dropout(0.5), eval mode", (5, 4)),
        "Flatten": (get("Flatten"), "Flatten()", (2, 3, 2, 2)),
        "Conv2d": (get("Conv2d", 2, 3, 3, stride=1, padding=1), "Conv2d(2, 3, 3, padding=1)",
                   (2, 2, 5, 5)),
        "MaxPool2d": (get("MaxPool2d", 2), "MaxPool2d(2)", (2, 2, 4, 4)),
        "AvgPool2d": (get("AvgPool2d", 2), "AvgPool2d(2)", (2, 2, 4, 4)),
        "BatchNorm1d": (get("BatchNorm1d", 4), "BatchNorm1d(4), eval mode", (5, 4)),
        "BatchNorm2d": (get("BatchNorm2d", 2), "BatchNorm2d(2), eval mode", (2, 2, 3, 3)),
        "AdaptiveAvgPool2d": (get("AdaptiveAvgPool2d", (2, 3)), "AdaptiveAvgPool2d((2, 3))", (2, 2, 5, 7)),
        "Residual": (lambda: nnlib.Residual(nnlib.Linear(4, 4, rng=0)), "Residual(Linear(4, 4))", (5, 4)),
    }


def layer_classes() -> list[type]:
    """Every Module subclass that ``import nnlib`` exports, except the containers."""
    import nnlib

    return sorted((obj for obj in vars(nnlib).values()
                   if isinstance(obj, type) and issubclass(obj, Module)
                   and obj not in (Module, Sequential)), key=lambda c: c.__name__)


def gradcheck_table(extra: dict | None = None, seed: int = 0, tol: float = 1e-6) -> list[dict]:
    """Run ``nnlib.gradcheck`` on every layer class nnlib exports (plus ``extra`` cases).

    Parameters
    ----------
    extra : dict name -> (factory, description, input_shape), optional
        More modules to check, e.g. a deliberately broken layer.
    seed : int, seed of the inputs and of gradcheck's probe
    tol : float, largest relative error that passes

    Returns
    -------
    list of dict, one per layer: ``layer``, ``config``, ``input_shape``, ``checked``
    (x and the parameter names), ``error`` (max relative error, None when no example is
    configured for a class), ``passed`` (bool).
    """
    from ..gradcheck import gradcheck

    check_positive(tol, "tol", "gradcheck_table")
    cases = _cases()
    rows = []
    plan = [(cls.__name__, cases.get(cls.__name__)) for cls in layer_classes()]
    if "Dropout" in cases and any(name == "Dropout" for name, _ in plan):
        plan.append(("Dropout (train)", "dropout-train"))
    plan += list((extra or {}).items())
    for name, case in plan:
        rng = np.random.default_rng(seed)
        if case is None:
            rows.append(dict(layer=name, config="no example configured", input_shape=None,
                             checked=[], error=None, passed=False))
            continue
        if case == "dropout-train":
            # The same mask on every probe: reseed the layer's generator before each forward.
            layer = cases["Dropout"][0]()
            x = _away_from_kinks(rng, (5, 4))

            def fwd(x_, layer=layer):
                layer.train()
                layer.rng = np.random.default_rng(seed)
                return layer.forward(x_)

            err, details = gradcheck((fwd, layer.backward), x, seed=seed, return_details=True)
            rows.append(dict(layer=name, config="Dropout(0.5), train mode, fixed mask",
                             input_shape=(5, 4), checked=list(details), error=err, passed=err < tol))
            continue
        factory, config, shape = case
        x = _away_from_kinks(rng, shape)
        err, details = gradcheck(factory(), x, seed=seed, return_details=True)
        rows.append(dict(layer=name, config=config, input_shape=tuple(shape), checked=list(details),
                         error=float(err), passed=bool(err < tol)))
    return rows


def format_gradcheck_table(rows, tol: float = 1e-6) -> str:
    """A plain-text table. Errors below ``tol`` print as "< tol": they are round-off, whose
    last digits differ between machines; failures print with 2 significant digits."""
    head = f"{'layer':<18}{'configuration':<40}{'input':<16}{'checked':<16}result"
    lines = [head, "-" * len(head)]
    for r in rows:
        shape = "-" if r["input_shape"] is None else str(r["input_shape"])
        checked = ", ".join(r["checked"]) or "-"
        if r["error"] is None:
            result = "NOT CHECKED"
        elif r["passed"]:
            result = f"ok (rel. error < {tol:.0e})"
        else:
            result = f"FAILED (rel. error {r['error']:.2g})"
        lines.append(f"{r['layer']:<18}{r['config']:<40}{shape:<16}{checked:<16}{result}")
    return "\n".join(lines)


# ---- 8. exercise checkers ---------------------------------------------------------------------------
def _diamond_chain(k: int):
    x = Value(0.1, label="x")
    z = x
    for _ in range(k):
        z = z.tanh() + z.sigmoid()
    return z, x


def _ls_grad_b() -> float:
    w1, w2, b = Value(1.0), Value(1.0), Value(0.0)
    loss = (1.0 - (w1 * 2.0 + w2 * 3.0 + b)) ** 2
    loss.backward()
    return b.grad


def _vanishing_depth() -> int:
    for depth in range(2, 41):
        g = gradient_norms(depth, "sigmoid", "xavier")["grad_norm"]
        if g[0] < 1e-6 * g[-1]:
            return depth
    raise RuntimeError("no depth up to 40 vanishes by 1e-6")  # pragma: no cover


EXERCISES = {
    "ls_grad_b": (_ls_grad_b,
                  "write ŷ = w·x + b, then r = y - ŷ, and use ∂ℓ/∂b = -2r; watch the sign of r"),
    "reverse_cost": (lambda: chain_costs([10, 20, 30, 1])["reverse"],
                     "reverse mode starts at the 1-row output end: each product costs "
                     "1 x (its two other widths)"),
    "diamond_paths": (lambda: count_paths(*_diamond_chain(12)),
                      "each diamond offers two routes and the choices multiply"),
    "vanishing_depth": (_vanishing_depth,
                        "try gradient_norms(depth, 'sigmoid', 'xavier') for growing depth and "
                        "compare grad_norm[0] with 1e-6 * grad_norm[-1]"),
}


def check(exercise: str, answer) -> str:
    """Say whether ``answer`` to one of the notebook's exercises is right (never reveals it).

    Parameters
    ----------
    exercise : one of ``EXERCISES``
    answer : number
    """
    if exercise not in EXERCISES:
        raise ValueError(
            f"check: argument 'exercise' must be one of {sorted(EXERCISES)}, got {exercise!r}"
        )
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) or not np.isfinite(answer):
        return f"✗ {exercise}: the answer should be a finite number, got {answer!r}"
    compute, hint = EXERCISES[exercise]
    if np.isclose(float(answer), float(compute()), rtol=1e-3, atol=1e-9):
        return f"✓ {exercise}: right"
    return f"✗ {exercise}: not quite. Hint: {hint}"
