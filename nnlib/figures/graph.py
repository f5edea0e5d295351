"""Pictures and narration of an :mod:`nnlib.graph` computation graph (matplotlib only).

:func:`draw_graph` places each node at the depth of its longest path from an input
(:func:`layout`) and draws a box with its operation, value ``v`` and gradient ``g``;
:meth:`GraphPlot.set_step` replays the forward and backward passes one node at a time,
captioned by :func:`describe_step`. :func:`local_derivatives` reads the derivative on each
edge, for the chain rule written as a sum over paths.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import viz
from .._validation import check_positive
from ..graph import Value, topological_order

__all__ = ["local_derivatives", "layout", "pass_state", "describe_step", "GraphPlot", "draw_graph"]


def local_derivatives(node: Value) -> list[tuple[Value, float]]:
    """∂node/∂parent for each distinct parent of a scalar node.

    Read off the node's own ``_backward`` closure with ``node.grad = 1``, so it uses exactly
    the engine's rules; every gradient is restored afterwards. For ``a * a`` the single
    parent ``a`` gets 2a, the sum over both uses.

    Returns
    -------
    list of (parent, derivative), in the order the parents were first used.

    Shape
    -----
    ``node`` and its parents hold scalars (shape ``()``); ValueError otherwise.
    """
    if not isinstance(node, Value):
        raise TypeError(f"local_derivatives: argument 'node' must be a Value, got {type(node).__name__}")
    parents = list({id(p): p for p in node.parents}.values())
    if np.ndim(node.data) != 0 or any(np.ndim(p.data) != 0 for p in parents):
        raise ValueError("local_derivatives: only scalar nodes and parents have scalar derivatives")
    saved = [(n, n.grad) for n in [node, *parents]]
    for p in parents:
        p.grad = 0.0
    node.grad = 1.0
    node._backward()
    result = [(p, float(p.grad)) for p in parents]
    for n, g in saved:
        n.grad = g
    return result


def layout(root: Value) -> dict[int, tuple[float, float]]:
    """Positions for drawing: x = longest-path depth from an input, y = spread within a layer.

    Every operation sits one step right of its deepest parent, so every edge points right;
    an input sits one step left of its first use. Within a layer the nodes are ordered by
    the mean height of their neighbours (barycentre sweeps, left to right and back), which
    removes most crossings in small graphs.

    Returns
    -------
    dict mapping ``id(node)`` to ``(x, y)``.
    """
    order = topological_order(root)
    depth, children = {}, {}
    for node in order:  # parents come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
        for p in node.parents:
            children.setdefault(id(p), []).append(node)
    for node in order:
        if node.is_leaf and node is not root:
            depth[id(node)] = min(depth[id(c)] for c in children[id(node)]) - 1
    layers: dict[int, list[Value]] = {}
    for node in order:
        layers.setdefault(depth[id(node)], []).append(node)
    rank = {id(n): float(i) for nodes in layers.values() for i, n in enumerate(nodes)}

    def sweep(ds, neighbours):
        # order each layer by the mean rank of its neighbours in the layer just placed
        for d in ds:
            key = {id(n): np.mean([rank[id(m)] for m in neighbours(n)]) if neighbours(n) else rank[id(n)]
                   for n in layers[d]}
            layers[d].sort(key=lambda n: key[id(n)])
            for i, n in enumerate(layers[d]):
                rank[id(n)] = i - (len(layers[d]) - 1) / 2

    ds = sorted(layers)
    for _ in range(2):  # a few barycentre sweeps, as in Sugiyama-style layered drawing
        sweep(ds[1:], lambda n: n.parents)
        sweep(ds[::-1][1:], lambda n: children.get(id(n), []))
    return {id(n): (float(d), -rank[id(n)]) for d in ds for n in layers[d]}


def pass_state(n_nodes: int, step: int) -> tuple[str, int]:
    """Where a walk through the two passes is at ``step``.

    Steps ``0 .. n-1`` compute the nodes' values in topological order (forward pass); steps
    ``n .. 2n-1`` visit them in reverse order (backward pass).

    Returns
    -------
    (phase, k): ``"forward"`` or ``"backward"``, and how many nodes that phase has
    finished, the current one included (1 .. n).
    """
    check_positive(n_nodes, "n_nodes", "pass_state", integer=True)
    is_int = isinstance(step, numbers.Integral) and not isinstance(step, bool)
    if not is_int or not 0 <= step < 2 * n_nodes:
        raise ValueError(f"pass_state: argument 'step' must be an integer in [0, {2 * n_nodes - 1}], got {step!r}")
    return ("forward", step + 1) if step < n_nodes else ("backward", step - n_nodes + 1)


def _fmt(v) -> str:
    if np.ndim(v) == 0:
        return f"{v:.4g}"
    head = ", ".join(f"{x:.3g}" for x in np.ravel(v)[:3])
    return f"[{head}{', …' if np.size(v) > 3 else ''}]"


def _name(node: Value) -> str:
    return node.label or (f"[{node.op}]" if node.op else _fmt(node.data))


def _is_constant(node: Value) -> bool:
    """A leaf made from a plain number: the engine labels it with its own value."""
    return node.is_leaf and np.ndim(node.data) == 0 and node.label == f"{node.data:.4g}"


def _leaf_kind(node: Value, params) -> str:
    if _is_constant(node):
        return "constant"
    if params is not None and any(node is p for p in params):
        return "parameter"
    return "input"


def _formula(node: Value) -> str:
    names = [_name(p) for p in node.parents]
    if node.op in ("+", "*"):
        return f" {node.op} ".join(names)
    if node.op.startswith("**"):
        return f"{names[0]}{node.op}"
    return f"{node.op}({', '.join(names)})"


def describe_step(root: Value, step: int, params=None) -> str:
    """Two lines saying what the forward or backward pass does at ``step``.

    Parameters
    ----------
    root : Value, after ``root.backward()``
    step : int in ``[0, 2n)`` for a graph of n nodes
    params : iterable of Value, optional
        The leaves gradient descent updates. Gradients of the other leaves (inputs and
        constants) are computed on the way, but nothing is updated with them; the text
        says so. Without ``params`` every leaf that is not a constant is called an input.
    """
    order = topological_order(root)
    phase, k = pass_state(len(order), step)
    head = f"{phase} pass, step {k} of {len(order)}\n"
    node = order[k - 1] if phase == "forward" else order[len(order) - k]
    name, kind = _name(node), _leaf_kind(node, params) if node.is_leaf else "operation"
    if phase == "forward":
        if kind == "operation":
            return f"{head}{name} = {_formula(node)} = {_fmt(node.data)} (cached for the backward pass)"
        return head + (f"constant {name}" if kind == "constant" else f"{kind} {name} = {_fmt(node.data)}")
    r = _name(root)
    grad = f"∂{r}/∂{f'({name})' if kind == 'constant' else name} = {_fmt(node.grad)}"
    if node is root:
        return f"{head}start with ∂{r}/∂{r} = 1"
    if kind == "operation":
        parents = ", ".join(_name(p) for p in {id(p): p for p in node.parents}.values())
        return f"{head}{grad} is complete (summed over its children): pass it on to {parents}"
    if kind == "parameter":
        return f"{head}{grad} is complete: gradient descent updates the parameter {name} with it"
    if kind == "constant":
        return f"{head}{grad} falls out of the pass, but {name} is a constant: nothing updates it"
    if params is None:
        return f"{head}{name} is an input; its gradient is complete: {_fmt(node.grad)}"
    return f"{head}{grad} is complete, but {name} is data, not a parameter: nothing updates it"


class GraphPlot:
    """A drawn computation graph whose boxes can show any step of the two passes.

    Each box shows the node's name and operation, its value ``v`` and its gradient ``g``
    (∂root/∂node). Call ``root.backward()`` before drawing, so the gradients exist;
    :meth:`set_step` then hides what the passes have not reached yet, so a slider can replay
    them without recomputing anything.

    Parameters
    ----------
    root : Value
    ax : matplotlib Axes, optional (a new figure from :func:`nnlib.viz.figure` otherwise)
    step : int or None
        None shows everything (values and gradients).
    params : iterable of Value, optional
        The parameters, for the captions (see :func:`describe_step`).

    Attributes
    ----------
    fig, ax, order (nodes in topological order), n_steps (2 × number of nodes)
    """

    def __init__(self, root: Value, ax=None, step: int | None = None, params=None):
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

        if not isinstance(root, Value):
            raise TypeError(f"GraphPlot: argument 'root' must be a Value, got {type(root).__name__}")
        self.root, self.params = root, None if params is None else list(params)
        self.order = topological_order(root)
        self.n_steps = 2 * len(self.order)
        pos = layout(root)
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        if ax is None:
            w_in = min(max(1.7 * (max(xs) - min(xs) + 1), 6), 14)
            h_in = min(max(1.3 * (max(ys) - min(ys) + 1) + 0.8, 3), 9)
            self.fig, ax = viz.figure(figsize=(w_in, h_in))
            self.fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.75 / h_in)  # 2 title lines
        else:
            self.fig = ax.figure
        self.ax = ax
        w, h = 0.8, 0.74  # box size in layer units; the figure size keeps the text inside
        self._boxes, self._texts, self._state = {}, {}, {}
        for node in self.order:
            x, y = pos[id(node)]
            for p in {id(p): p for p in node.parents}.values():
                px, py = pos[id(p)]
                ax.add_patch(FancyArrowPatch((px + w / 2, py), (x - w / 2, y), arrowstyle="-|>", color="#777777",
                                             lw=1.3, shrinkA=0, shrinkB=0, mutation_scale=14, zorder=1))
            box = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                 fc="white", ec="#444444", lw=1.2, zorder=2)
            ax.add_patch(box)
            self._boxes[id(node)] = box
            self._texts[id(node)] = ax.text(x, y, "", ha="center", va="center", zorder=3,
                                            fontsize=viz.fontsize("small"))
        ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
        ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
        # no frame, ticks or grid; not axis("off"), whose never-drawn frame a blitting widget would paint on top
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        self.title = ax.set_title("", fontsize=viz.fontsize("font"), loc="left")
        self.set_step(step)

    def set_step(self, step: int | None) -> str:
        """Show the passes after ``step`` steps (None: everything); returns the caption."""
        n = len(self.order)
        if step is None:
            phase, k = "done", n
            caption = "after the forward and the backward pass\nv = value, g = gradient of the output"
        else:
            phase, k = pass_state(n, step)
            caption = describe_step(self.root, step, self.params)
        valued = {id(m) for m in (self.order[:k] if phase == "forward" else self.order)}
        graded = set() if phase == "forward" else {id(m) for m in self.order[n - k:]}
        current = self.order[k - 1] if phase == "forward" else self.order[n - k] if phase == "backward" else None
        for node in self.order:
            head = node.label or "input"
            if node.op:
                head = f"{node.label}  [{node.op}]" if node.label else f"[{node.op}]"
            v = _fmt(node.data) if id(node) in valued else "?"
            g = _fmt(node.grad) if id(node) in graded else "?"
            fc = "#D6EAF8" if id(node) in graded else "#FDEBD0" if id(node) in valued and phase == "forward" \
                else "white"
            ec, lw = ((viz.ORANGE if phase == "forward" else viz.SKY), 3.5) if node is current else ("#444444", 1.2)
            state = (f"{head}\nv = {v}\ng = {g}", fc, ec, lw)
            if self._state.get(id(node)) != state:  # touch only what changed: the rest stays blitted
                self._state[id(node)] = state
                self._boxes[id(node)].set(facecolor=fc, edgecolor=ec, linewidth=lw)
                self._texts[id(node)].set_text(state[0])
                self._texts[id(node)].stale = True  # redrawn with its box, which would cover it otherwise
        self.title.set_text(caption)
        return caption


def draw_graph(root: Value, ax=None, step: int | None = None, params=None) -> GraphPlot:
    """Draw ``root``'s computation graph with matplotlib (no graphviz needed).

    Returns the :class:`GraphPlot`: ``.fig`` is the figure, ``set_step`` walks the passes.

    Shape
    -----
    Nodes may hold scalars or arrays; arrays show their first three entries.
    """
    return GraphPlot(root, ax=ax, step=step, params=params)
