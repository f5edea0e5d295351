"""A small reverse-mode automatic differentiation engine, and pictures of its graphs.

Every arithmetic operation on a :class:`Value` creates a new node that remembers its
inputs (its *parents*, in the words of the course notes: the nodes it is computed from) and
a small closure ``_backward`` that applies the chain rule for that one operation: it adds
``local derivative × out.grad`` into each parent's ``.grad``. ``root.backward()`` then
visits the nodes in reverse topological order and calls each closure once.

Why ``+=``: a node that feeds several *children* (the nodes computed from it) receives one
contribution from each, and the chain rule says to sum them. A node used twice in one
operation (``a * a``) is simply two parents that happen to be the same object.

The engine works on Python floats, and on small numpy arrays with elementwise operations
and broadcasting (``.sum()`` reduces an array to a scalar). This is a teaching engine
(after Karpathy's micrograd) with two changes: the topological sort is iterative, so a
chain of 10,000 nodes does not hit Python's recursion limit, and ``backward`` may be
called twice with a documented result (see :meth:`Value.backward`).

Drawing needs matplotlib only: :func:`layout` places each node at the depth of its
longest path from an input, and :class:`GraphPlot` draws boxes showing the operation,
value and gradient, with a step index that walks through the forward and backward passes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import as_float_array, check_finite

__all__ = [
    "Value",
    "topological_order",
    "local_derivatives",
    "chain_rule_paths",
    "layout",
    "pass_state",
    "describe_step",
    "GraphPlot",
    "draw_graph",
]


def _sum_to(grad, shape):
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched."""
    if np.shape(grad) == tuple(shape):
        return grad
    if shape == ():
        return float(np.sum(grad))
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True)


def _as_data(x, name: str, owner: str):
    """A leaf's data: a Python float for scalars, a float ndarray otherwise; finite."""
    if isinstance(x, Value):
        raise TypeError(f"{owner}: argument '{name}' is already a Value; use it directly")
    if isinstance(x, bool):
        x = float(x)
    arr = as_float_array(x, name, owner)
    check_finite(arr, name, owner)
    return float(arr) if arr.ndim == 0 else arr


class Value:
    """One node of a computation graph: a number (or small array), its gradient, its history.

    Parameters
    ----------
    data : float or array_like
        The node's value. Scalars are kept as Python floats; arrays keep float32/float64.
    label : str, optional
        A name used when printing and drawing (``"w1"``, ``"ŷ"``).

    Attributes
    ----------
    data : float or ndarray
    grad : float or ndarray, same shape as ``data``
        ∂(root)/∂(this node) after ``root.backward()``; starts at zero.
    parents : tuple of Value
        The nodes this one was computed from (empty for an input, a "leaf").
    op : str
        The operation that produced the node (``"+"``, ``"*"``, ``"tanh"``, ...; ``""`` for a leaf).
    label : str

    Shape
    -----
    ``data`` and ``grad`` share one shape: ``()`` for a scalar, or any array shape. Binary
    operations broadcast like numpy, and the gradient flowing back into a broadcast input is
    summed back to that input's shape.

    Examples
    --------
    >>> x = Value(2.0, label="x")
    >>> y = x * x + x.exp()
    >>> y.backward()
    >>> round(x.grad, 4)          # 2x + e^x at x = 2
    11.3891
    """

    def __init__(self, data, label: str = "", *, _parents=(), _op: str = ""):
        if not isinstance(label, str):
            raise TypeError(f"Value: argument 'label' must be a str, got {type(label).__name__}")
        if _parents:
            # Results of operations: already floats/arrays, and may legitimately overflow.
            self.data = float(data) if np.ndim(data) == 0 else np.asarray(data)
        else:
            self.data = _as_data(data, "data", "Value")
        self.grad = self._zero()
        self.parents = tuple(_parents)
        self.op = _op
        self.label = label
        self._backward = lambda: None

    # ---- small helpers -------------------------------------------------------------------
    def _zero(self):
        return 0.0 if np.ndim(self.data) == 0 else np.zeros_like(self.data)

    @property
    def shape(self) -> tuple:
        return np.shape(self.data)

    @property
    def is_leaf(self) -> bool:
        return not self.parents

    def __repr__(self) -> str:
        def fmt(v):
            return f"{v:.4g}" if np.ndim(v) == 0 else f"array(shape={np.shape(v)})"

        name = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={fmt(self.data)}, grad={fmt(self.grad)}{op}{name})"

    # ---- the primitive operations: value, then the local chain rule ------------------------
    def __add__(self, other):
        other = _lift(other, "+")
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def _backward():
            self.grad += _sum_to(out.grad, self.shape)
            other.grad += _sum_to(out.grad, other.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _lift(other, "*")
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def _backward():
            self.grad += _sum_to(other.data * out.grad, self.shape)
            other.grad += _sum_to(self.data * out.grad, other.shape)

        out._backward = _backward
        return out

    def __pow__(self, k):
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or not math.isfinite(k):
            raise TypeError(f"Value.__pow__: the exponent must be a finite number, got {k!r}")
        if k < 0 and np.any(np.asarray(self.data) == 0):
            raise ValueError(f"Value.__pow__: 0 cannot be raised to the negative power {k}")
        if k != int(k) and np.any(np.asarray(self.data) < 0):
            raise ValueError(f"Value.__pow__: a negative base has no real power {k}")
        out = Value(self.data**k, _parents=(self,), _op=f"**{k:g}")

        def _backward():
            self.grad += k * np.power(self.data, k - 1.0) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(np.exp(self.data), _parents=(self,), _op="exp")

        def _backward():
            self.grad += out.data * out.grad  # d/dx e^x = e^x, already computed

        out._backward = _backward
        return out

    def log(self):
        if np.any(np.asarray(self.data) <= 0):
            raise ValueError(f"Value.log: the input must be > 0, got {self.data!r}")
        out = Value(np.log(self.data), _parents=(self,), _op="log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(np.tanh(self.data), _parents=(self,), _op="tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        # 1/(1+e^-x) written so that neither branch overflows for large |x|.
        x = np.asarray(self.data)
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        out = Value(s, _parents=(self,), _op="σ")

        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(np.maximum(self.data, 0.0), _parents=(self,), _op="relu")

        def _backward():
            # The notes pick the subgradient 0 at x = 0.
            self.grad += (np.asarray(self.data) > 0) * out.grad

        out._backward = _backward
        return out

    def sum(self):
        out = Value(float(np.sum(self.data)), _parents=(self,), _op="Σ")

        def _backward():
            self.grad += out.grad * np.ones_like(self.data)

        out._backward = _backward
        return out

    # ---- derived operations: built from the primitives, no new chain rules ---------------
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_lift(other, "-"))

    def __truediv__(self, other):
        return self * _lift(other, "/") ** -1

    def __radd__(self, other):
        return _lift(other, "+") + self

    def __rmul__(self, other):
        return _lift(other, "*") * self

    def __rsub__(self, other):
        return _lift(other, "-") + (-self)

    def __rtruediv__(self, other):
        return _lift(other, "/") * self**-1

    # ---- the backward pass -----------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Fill ``.grad`` of every node with ∂(self)/∂(node), by the chain rule in reverse order.

        Parameters
        ----------
        grad : float or array_like, optional
            The seed ∂L/∂self. Default 1.0, which is only allowed for a scalar; for an array
            output pass an array of the output's shape (or call ``.sum()`` first).

        Notes
        -----
        **Calling backward twice.** Leaves (inputs and parameters) *accumulate*: after two
        calls their ``.grad`` is twice the gradient, as in PyTorch, which is what lets
        gradients be summed over several losses. Interior nodes are reset at the start of
        every call, so they always hold this call's gradient and the leaves receive exactly
        one more copy of it (micrograd, which never resets them, over-counts: 3x for
        x -> y -> L after the second call). Use :meth:`zero_grad` to start again from zero.

        Shape
        -----
        ``grad``: the shape of ``self.data``.
        """
        order = topological_order(self)
        if grad is None:
            if np.ndim(self.data) != 0 and np.size(self.data) != 1:
                raise ValueError(
                    "Value.backward: argument 'grad' is needed for an output of shape "
                    f"{self.shape}; pass an array of that shape or call .sum() first"
                )
            grad = 1.0 if np.ndim(self.data) == 0 else np.ones_like(self.data)
        else:
            grad = as_float_array(grad, "grad", "Value.backward")
            check_finite(grad, "grad", "Value.backward")
            if grad.shape != self.shape:
                raise ValueError(
                    f"Value.backward: argument 'grad' expected shape {self.shape}, got {grad.shape}"
                )
            grad = float(grad) if grad.ndim == 0 else grad.copy()
        for node in order:
            if not node.is_leaf:
                node.grad = node._zero()
        self.grad = self.grad + grad if self.is_leaf else grad
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``.grad`` of every node of this graph (leaves included) back to zero."""
        for node in topological_order(self):
            node.grad = node._zero()


def _lift(x, op: str) -> Value:
    """Wrap a plain number or array as a constant leaf so it can meet a Value."""
    if isinstance(x, Value):
        return x
    data = _as_data(x, "other", f"Value {op}")
    return Value(data, label=_fmt(data) if np.ndim(data) == 0 else "const")


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, each after all of its parents; ``root`` last.

    Depth-first search with an explicit stack instead of recursion, so a chain of 10,000
    (or 1,000,000) nodes needs no change to Python's recursion limit. A node appears once
    however many paths lead to it.

    Parameters
    ----------
    root : Value

    Returns
    -------
    list of Value, length = number of distinct nodes.

    Shape
    -----
    Any: nodes may hold scalars or arrays; only the graph's structure is read.
    """
    if not isinstance(root, Value):
        raise TypeError(
            f"topological_order: argument 'root' must be a Value, got {type(root).__name__}"
        )
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # every parent was appended while this entry waited
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


def local_derivatives(node: Value) -> list[tuple[Value, float]]:
    """The local derivative ∂node/∂parent for each distinct parent of a scalar node.

    Computed by calling the node's own ``_backward`` closure with ``node.grad = 1`` and
    reading what arrives in each parent, so it uses exactly the rules the engine uses.
    The nodes' gradients are restored afterwards. For ``a * a`` the single parent ``a``
    gets 2a, the sum over both uses.

    Returns
    -------
    list of (parent, derivative), in the order the parents were first used.

    Shape
    -----
    ``node`` and its parents hold scalars (shape ``()``); ValueError otherwise.
    """
    if not isinstance(node, Value):
        raise TypeError(
            f"local_derivatives: argument 'node' must be a Value, got {type(node).__name__}"
        )
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


def chain_rule_paths(root: Value, leaf: Value, max_paths: int = 10_000):
    """Every path from ``leaf`` up to ``root`` and the product of local derivatives along it.

    The chain rule says ∂root/∂leaf is the sum of these products; backpropagation gets the
    same number without listing paths, whose count can grow exponentially with depth.

    Parameters
    ----------
    root, leaf : Value
        Scalar nodes; ``leaf`` must be one of the nodes ``root`` depends on.
    max_paths : int
        Stop with ValueError beyond this many paths (the point of backprop).

    Returns
    -------
    list of (nodes, product): ``nodes`` runs from ``leaf`` to ``root``.

    Shape
    -----
    Every node on the paths holds a scalar (shape ``()``).
    """
    order = topological_order(root)
    if not isinstance(leaf, Value) or all(n is not leaf for n in order):
        raise ValueError("chain_rule_paths: argument 'leaf' is not a node that 'root' depends on")
    from ._validation import check_positive

    check_positive(max_paths, "max_paths", "chain_rule_paths", integer=True)
    local = {id(n): local_derivatives(n) for n in order if not n.is_leaf}
    paths = []
    stack = [([root], 1.0)]  # partial paths, walking down from the root
    while stack:
        nodes, product = stack.pop()
        top = nodes[-1]
        if top is leaf:
            paths.append((nodes[::-1], product))
            if len(paths) > max_paths:
                raise ValueError(f"chain_rule_paths: more than max_paths={max_paths} paths")
            continue
        for parent, d in reversed(local.get(id(top), [])):
            stack.append((nodes + [parent], product * d))
    return paths


# ---- pictures --------------------------------------------------------------------------------
def layout(root: Value) -> dict[int, tuple[float, float]]:
    """Positions for drawing: x = longest-path depth from an input, y = spread within a layer.

    Every operation sits one step right of its deepest parent (its longest-path depth), so
    every edge points right; an input sits one step left of its first use. Within a layer
    the nodes are ordered by the mean height of their neighbours (barycentre sweeps, left to
    right and back), which removes most crossings in small graphs.

    Returns
    -------
    dict mapping ``id(node)`` to ``(x, y)``.

    Shape
    -----
    Any: positions depend on the graph's structure only.
    """
    order = topological_order(root)
    depth, children = {}, {}
    for node in order:  # parents come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
        for p in node.parents:
            children.setdefault(id(p), []).append(node)
    for node in order:
        if node.is_leaf and node is not root:
            # An input is drawn just left of its first use, not far away in column 0.
            depth[id(node)] = min(depth[id(c)] for c in children[id(node)]) - 1
    layers: dict[int, list[Value]] = {}
    for node in order:
        layers.setdefault(depth[id(node)], []).append(node)
    rank = {id(n): float(i) for nodes in layers.values() for i, n in enumerate(nodes)}

    def sweep(ds, neighbours):
        # Order each layer by the mean rank of its neighbours in the layer just placed.
        for d in ds:
            key = {id(n): np.mean([rank[id(m)] for m in neighbours(n)]) if neighbours(n)
                   else rank[id(n)] for n in layers[d]}
            layers[d].sort(key=lambda n: key[id(n)])
            for i, n in enumerate(layers[d]):
                rank[id(n)] = i - (len(layers[d]) - 1) / 2

    ds = sorted(layers)
    for _ in range(2):  # a few barycentre sweeps, as in Sugiyama-style layered drawing
        sweep(ds[1:], lambda n: n.parents)
        sweep(ds[::-1][1:], lambda n: children.get(id(n), []))
    return {id(n): (float(d), -rank[id(n)]) for d in ds for n in layers[d]}


def pass_state(n_nodes: int, step: int) -> tuple[str, int]:
    """Where a walk through the passes is after ``step`` steps.

    Steps ``0 .. n-1`` compute the nodes' values in topological order (forward pass);
    steps ``n .. 2n-1`` visit them in reverse order (backward pass).

    Returns
    -------
    (phase, k): phase is ``"forward"`` or ``"backward"``; k is the number of nodes that
    phase has finished, including the current one (1 .. n).
    """
    from ._validation import check_positive

    check_positive(n_nodes, "n_nodes", "pass_state", integer=True)
    is_int = isinstance(step, numbers.Integral) and not isinstance(step, bool)
    if not is_int or not 0 <= step < 2 * n_nodes:
        raise ValueError(
            f"pass_state: argument 'step' must be an integer in [0, {2 * n_nodes - 1}], "
            f"got {step!r}"
        )
    return ("forward", step + 1) if step < n_nodes else ("backward", step - n_nodes + 1)


def _name(node: Value) -> str:
    return node.label or (f"[{node.op}]" if node.op else _fmt(node.data))


def _formula(node: Value) -> str:
    names = [_name(p) for p in node.parents]
    if node.op in ("+", "*"):
        return f" {node.op} ".join(names)
    if node.op.startswith("**"):
        return f"{names[0]}{node.op}"
    return f"{node.op}({', '.join(names)})"


def describe_step(root: Value, step: int) -> str:
    """One sentence saying what the forward or backward pass does at ``step``."""
    order = topological_order(root)
    phase, k = pass_state(len(order), step)
    if phase == "forward":
        node = order[k - 1]
        if node.is_leaf:
            return f"forward {k}/{len(order)}: input {_name(node)} = {_fmt(node.data)}"
        return (f"forward {k}/{len(order)}: {_name(node)} = {_formula(node)} = {_fmt(node.data)}"
                " (value cached for the backward pass)")
    node = order[len(order) - k]
    if node is root:
        return f"backward {k}/{len(order)}: start with ∂{_name(root)}/∂{_name(root)} = 1"
    if node.is_leaf:
        return (f"backward {k}/{len(order)}: {_name(node)} is an input; "
                f"its gradient is complete: {_fmt(node.grad)}")
    parents = ", ".join(_name(p) for p in node.parents)
    return (f"backward {k}/{len(order)}: ∂{_name(root)}/∂{_name(node)} = {_fmt(node.grad)} "
            f"is complete (summed over its children); pass it on to {parents}")


def _fmt(v) -> str:
    if np.ndim(v) == 0:
        return f"{v:.4g}"
    head = ", ".join(f"{x:.3g}" for x in np.ravel(v)[:3])
    return f"[{head}{', …' if np.size(v) > 3 else ''}]"


class GraphPlot:
    """A drawn computation graph whose boxes can be updated to any step of the two passes.

    Each box shows the node's name and operation, its value ``v`` and its gradient ``g``
    (``∂root/∂node``). Call ``root.backward()`` before drawing so the gradients exist;
    ``set_step`` then hides what the passes have not reached yet, so a slider can replay
    them without recomputing anything.

    Parameters
    ----------
    root : Value
    ax : matplotlib Axes, optional (a new figure from ``nnlib.viz.figure`` otherwise)
    step : int or None
        None shows everything (values and gradients).
    """

    def __init__(self, root: Value, ax=None, step: int | None = None):
        from . import viz

        if not isinstance(root, Value):
            raise TypeError(
                f"GraphPlot: argument 'root' must be a Value, got {type(root).__name__}"
            )
        self.root = root
        self.order = topological_order(root)
        self.n_steps = 2 * len(self.order)
        if ax is None:
            width = 2.6 * (1 + max(p[0] for p in layout(root).values()))
            height = 1.5 * (1 + max(abs(p[1]) for p in layout(root).values()) * 2)
            self.fig, ax = viz.figure(figsize=(min(max(width, 6), 16), min(max(height, 3), 10)))
        else:
            self.fig = ax.figure
        self.ax = ax
        from matplotlib.patches import FancyBboxPatch

        pos = layout(root)
        w, h = 0.78, 0.72  # box size in layer units; figure size keeps the text inside
        self._boxes, self._texts = {}, {}
        for node in self.order:
            x, y = pos[id(node)]
            for p in {id(p): p for p in node.parents}.values():
                px, py = pos[id(p)]
                ax.annotate("", xy=(x - w / 2, y), xytext=(px + w / 2, py),
                            arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1.3,
                                            shrinkA=0, shrinkB=0, mutation_scale=14), zorder=1)
            box = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                 boxstyle="round,pad=0,rounding_size=0.06",
                                 fc="white", ec="#444444", lw=1.2, zorder=2)
            ax.add_patch(box)
            self._boxes[id(node)] = box
            self._texts[id(node)] = ax.text(x, y, "", ha="center", va="center",
                                            fontsize=12, zorder=3)
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
        ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
        ax.axis("off")
        self.title = ax.set_title("", fontsize=13)
        self.set_step(step)

    def set_step(self, step: int | None) -> str:
        """Show the passes after ``step`` steps (None: everything); returns the caption."""
        from .viz import ORANGE, SKY

        n = len(self.order)
        if step is None:
            phase, k = "done", n
            caption = "values and gradients after the forward and backward passes"
        else:
            phase, k = pass_state(n, step)
            caption = describe_step(self.root, step)
        current = None
        if phase == "forward":
            valued = {id(m) for m in self.order[:k]}
            graded = set()
            current = self.order[k - 1]
        else:
            valued = {id(m) for m in self.order}
            reached = self.order[n - k:] if phase == "backward" else self.order
            graded = {id(m) for m in reached}
            current = self.order[n - k] if phase == "backward" else None
        for node in self.order:
            head = node.label or "input"  # labelled constants show their number
            if node.op:
                head = f"{node.label}  [{node.op}]" if node.label else f"[{node.op}]"
            v = _fmt(node.data) if id(node) in valued else "?"
            g = _fmt(node.grad) if id(node) in graded else "?"
            self._texts[id(node)].set_text(f"{head}\nv = {v}\ng = {g}")
            fc = "white"
            if id(node) in graded:
                fc = "#D6EAF8"
            elif id(node) in valued and phase == "forward":
                fc = "#FDEBD0"
            ec, lw = ("#444444", 1.2)
            if node is current:
                ec, lw = (ORANGE if phase == "forward" else SKY), 3.5
            self._boxes[id(node)].set(facecolor=fc, edgecolor=ec, linewidth=lw)
        self.title.set_text(caption)
        return caption


def draw_graph(root: Value, ax=None, step: int | None = None) -> GraphPlot:
    """Draw ``root``'s computation graph with matplotlib (no graphviz needed).

    Returns the :class:`GraphPlot`; its ``.fig`` is the figure and ``set_step`` walks the
    passes.

    Shape
    -----
    Nodes may hold scalars or arrays; arrays show their first three entries.
    """
    return GraphPlot(root, ax=ax, step=step)
