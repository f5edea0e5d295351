"""A scalar reverse-mode autodiff engine, after Karpathy's micrograd: readable in one sitting.

Every operation on a :class:`Value` builds a new node that remembers its ``parents`` (the
nodes it is computed from) and its ``op``, and attaches a ``_backward`` closure: the chain
rule for that one operation, which adds ``local derivative × out.grad`` into each parent's
``.grad``. :meth:`Value.backward` runs the closures in reverse topological order, so a
node passes its gradient on only once all of its children have added theirs.

Always ``+=``: a node used by several children receives one contribution from each, and the
chain rule sums them (``a * a`` is simply a parent used twice).

Two changes from micrograd: :func:`topological_order` walks the graph with an explicit
stack, so a chain of 10,000 nodes needs no recursion, and a second ``backward()`` adds
exactly one more gradient into the leaves. Values may also hold small numpy arrays
(elementwise operations that broadcast; ``.sum()`` makes a scalar). Pictures and the
step-by-step narration of a graph live in :mod:`nnlib.figures.graph`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import as_float_array, check_finite

__all__ = ["Value", "topological_order"]


class Value:
    """One node of a computation graph: a number (or small array), its gradient, its history.

    Parameters
    ----------
    data : float or array_like
        The node's value: a Python float for a scalar, a float ndarray otherwise.
    label : str, optional
        A name for printing and drawing (``"w1"``, ``"ŷ"``).
    parents, op : keyword-only, for operations
        The nodes the value was computed from and the operation's name (``"*"``, ``"tanh"``).
        An operation written outside this class builds its output this way (see Examples).

    Attributes
    ----------
    data : float or ndarray
    grad : float or ndarray, same shape as ``data``
        ∂(root)/∂(this node) after ``root.backward()``; starts at zero.
    parents : tuple of Value (empty for a leaf: an input, a parameter or a constant)
    op : str (``""`` for a leaf)
    label : str

    Shape
    -----
    ``data`` and ``grad`` share one shape: ``()`` for a scalar, or any array shape. Binary
    operations broadcast like numpy; the gradient flowing back into a broadcast input is
    summed back to that input's shape.

    Examples
    --------
    >>> x = Value(2.0, label="x")
    >>> y = x * x + x.exp()
    >>> y.backward()
    >>> round(x.grad, 4)          # 2x + e^x at x = 2
    11.3891

    A new operation has the same shape as the ones below:

    >>> def cube(a):
    ...     out = Value(a.data**3, parents=(a,), op="cube")
    ...     def _backward():
    ...         a.grad += 3 * a.data**2 * out.grad
    ...     out._backward = _backward
    ...     return out
    """

    __array_ufunc__ = None  # numpy scalar * Value: numpy steps aside and Value.__rmul__ runs

    def __init__(self, data, label: str = "", *, parents=(), op: str = ""):
        if not isinstance(label, str):
            raise TypeError(f"Value: argument 'label' must be a str, got {type(label).__name__}")
        # An operation's result may overflow legitimately; only a leaf's data is checked.
        self.data = (float(data) if np.ndim(data) == 0 else np.asarray(data)) if parents else _as_data(data)
        self.grad = self._zero()
        self.parents = tuple(parents)
        self.op = op
        self.label = label
        self._backward = lambda: None

    def _zero(self):
        return 0.0 if np.ndim(self.data) == 0 else np.zeros_like(self.data)

    @property
    def shape(self) -> tuple:
        return np.shape(self.data)

    @property
    def is_leaf(self) -> bool:
        return not self.parents

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={_repr(self.data)}, grad={_repr(self.grad)}{op}{name})"

    # ---- the primitives: the value, then the local chain rule -----------------------------
    def __add__(self, other):
        other = _lift(other, "+")
        out = Value(self.data + other.data, parents=(self, other), op="+")

        def _backward():
            self.grad += _unbroadcast(out.grad, self.shape)
            other.grad += _unbroadcast(out.grad, other.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _lift(other, "*")
        out = Value(self.data * other.data, parents=(self, other), op="*")

        def _backward():
            self.grad += _unbroadcast(other.data * out.grad, self.shape)
            other.grad += _unbroadcast(self.data * out.grad, other.shape)

        out._backward = _backward
        return out

    def __pow__(self, k):
        _check_power(self, k)
        out = Value(self.data**k, parents=(self,), op=f"**{k:g}")

        def _backward():
            self.grad += k * np.power(self.data, k - 1.0) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(np.exp(self.data), parents=(self,), op="exp")

        def _backward():
            self.grad += out.data * out.grad  # (e^x)' = e^x, already computed

        out._backward = _backward
        return out

    def log(self):
        if np.any(np.asarray(self.data) <= 0):
            raise ValueError(f"Value.log: the input must be > 0, got {self.data!r}")
        out = Value(np.log(self.data), parents=(self,), op="log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(np.tanh(self.data), parents=(self,), op="tanh")

        def _backward():
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        x = np.asarray(self.data)
        e = np.exp(-np.abs(x))  # 1/(1+e^-x) with an exponent <= 0: no overflow for large |x|
        out = Value(np.where(x >= 0, 1 / (1 + e), e / (1 + e)), parents=(self,), op="σ")

        def _backward():
            self.grad += out.data * (1 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(np.maximum(self.data, 0.0), parents=(self,), op="relu")

        def _backward():
            self.grad += (np.asarray(self.data) > 0) * out.grad  # the subgradient 0 at x = 0

        out._backward = _backward
        return out

    def sum(self):
        out = Value(float(np.sum(self.data)), parents=(self,), op="Σ")

        def _backward():
            self.grad += out.grad * np.ones_like(self.data)

        out._backward = _backward
        return out

    # ---- built from the primitives: no chain rule of their own ----------------------------
    def __neg__(self):  # -a
        return self * -1

    def __sub__(self, other):  # a - b = a + (-b)
        return self + (-_lift(other, "-"))

    def __rsub__(self, other):  # b - a
        return _lift(other, "-") + (-self)

    def __truediv__(self, other):  # a / b = a · b⁻¹
        return self * _divisor(other, "Value.__truediv__") ** -1

    def __rtruediv__(self, other):  # b / a
        return _lift(other, "/") * _divisor(self, "Value.__rtruediv__") ** -1

    def __radd__(self, other):  # b + a
        return _lift(other, "+") + self

    def __rmul__(self, other):  # b · a
        return _lift(other, "*") * self

    # ---- the backward pass ------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Fill ``.grad`` of every node with ∂(self)/∂(node): the chain rule in reverse order.

        Parameters
        ----------
        grad : float or array_like, optional
            The seed ∂L/∂self. Default 1.0, allowed only for a scalar; for an array output
            pass an array of the output's shape (or call ``.sum()`` first).

        Notes
        -----
        Leaves (inputs and parameters) *accumulate*: after two calls their ``.grad`` is twice
        the gradient, as in PyTorch. Interior nodes are reset at the start of every call, so
        the leaves receive exactly one more copy (micrograd, which never resets them, adds
        3x for x -> y -> L on the second call). :meth:`zero_grad` starts again from zero.

        Shape
        -----
        ``grad``: the shape of ``self.data``.
        """
        grad = _seed(self, grad)
        order = topological_order(self)
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


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, each after all of its parents; ``root`` last.

    Depth-first search with an explicit stack, so a chain of 10,000 (or 1,000,000) nodes
    needs no change to Python's recursion limit. A node appears once, however many paths
    lead to it: that is what lets a reused node sum all its children's gradients before it
    passes the total on.

    Shape
    -----
    Any: only the graph's structure is read.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: argument 'root' must be a Value, got {type(root).__name__}")
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # its parents were appended while this entry waited
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


# ---- helpers: input checks, broadcasting, printing ------------------------------------------
def _as_data(x):
    """A leaf's data: a Python float for scalars, a float ndarray otherwise; finite."""
    if isinstance(x, Value):
        raise TypeError("Value: argument 'data' is already a Value; use it directly")
    arr = as_float_array(float(x) if isinstance(x, bool) else x, "data", "Value")
    check_finite(arr, "data", "Value")
    return float(arr) if arr.ndim == 0 else arr


def _lift(x, op: str) -> Value:
    """Wrap a plain number or array as a constant leaf, labelled with its value."""
    if isinstance(x, Value):
        return x
    arr = as_float_array(x, "other", f"Value {op}")
    check_finite(arr, "other", f"Value {op}")
    return Value(arr, label=f"{float(arr):.4g}" if arr.ndim == 0 else "const")


def _divisor(x, owner: str) -> Value:
    x = _lift(x, "/")
    if np.any(np.asarray(x.data) == 0):
        raise ZeroDivisionError(f"{owner}: division by zero (the divisor holds 0)")
    return x


def _check_power(base: Value, k) -> None:
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or not math.isfinite(k):
        raise TypeError(f"Value.__pow__: the exponent must be a finite number, got {k!r}")
    if k < 0 and np.any(np.asarray(base.data) == 0):
        raise ZeroDivisionError(f"Value.__pow__: 0 cannot be raised to the negative power {k:g}")
    if k != int(k) and np.any(np.asarray(base.data) < 0):
        raise ValueError(f"Value.__pow__: a negative base has no real power {k:g}")


def _seed(root: Value, grad):
    """The gradient ∂L/∂root that starts the backward pass, checked against root's shape."""
    if grad is None:
        if np.size(root.data) != 1:
            raise ValueError(f"Value.backward: argument 'grad' is needed for an output of shape {root.shape}; "
                             "pass an array of that shape or call .sum() first")
        return 1.0 if np.ndim(root.data) == 0 else np.ones_like(root.data)
    grad = as_float_array(grad, "grad", "Value.backward")
    check_finite(grad, "grad", "Value.backward")
    if grad.shape != root.shape:
        raise ValueError(f"Value.backward: argument 'grad' expected shape {root.shape}, got {grad.shape}")
    return float(grad) if grad.ndim == 0 else grad.copy()


def _unbroadcast(grad, shape):
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched."""
    if np.shape(grad) == tuple(shape):
        return grad
    if shape == ():
        return float(np.sum(grad))
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True)


def _repr(v) -> str:
    return f"{v:.4g}" if np.ndim(v) == 0 else f"array(shape={np.shape(v)})"
