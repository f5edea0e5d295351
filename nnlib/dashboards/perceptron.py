"""Logic behind notebook 01 (perceptrons, XOR, learned features, activation functions).

Every slider callback of the notebook is one of the plain functions below; the widget wiring
at the bottom of the file only reads slider values, calls them, and moves matplotlib artists.

Conventions (those of the course notes): a threshold perceptron *fires* (outputs 1) when its
weighted sum reaches the threshold, ``w1*i1 + w2*i2 >= theta``; the four binary inputs are
listed in the order (0,0), (0,1), (1,0), (1,1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_array, check_in_range, check_labels, check_positive
from ..layers import sigmoid as _sigmoid  # the stable one: exp(-|z|) only

# The four inputs of a two-input gate, in truth-table order.
INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

# Target column of the truth table for each named gate (rows in the order of INPUTS).
GATES = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "SAME (XNOR)": (1, 0, 0, 1),
}

# The notes' hand-built two-layer network for "fires when both pixels are equal":
# h1 = [i1 + i2 >= 2] (AND), h2 = [-i1 - i2 >= 0] (NOR), out = [h1 + h2 >= 1] (OR).
NOTES_NETWORK = {
    "W_hidden": np.array([[1.0, 1.0], [-1.0, -1.0]]),
    "theta_hidden": np.array([2.0, 0.0]),
    "w_out": np.array([1.0, 1.0]),
    "theta_out": 1.0,
}


def _gate_target(gate, owner: str) -> np.ndarray:
    """A gate name from GATES or a length-4 0/1 sequence -> int array (4,)."""
    if isinstance(gate, str):
        if gate not in GATES:
            raise ValueError(f"{owner}: argument 'gate' must be one of {list(GATES)}, got {gate!r}")
        return np.array(GATES[gate], dtype=np.int64)
    target = check_labels(np.asarray(gate), "gate", owner, n=4, n_classes=2)
    return target


def _finite_number(value, name: str, owner: str) -> float:
    check_in_range(value, name, owner, -np.inf, np.inf)
    return float(value)


# --------------------------------------------------------------------------------------------
# One perceptron as a logic gate
# --------------------------------------------------------------------------------------------
def perceptron(X, w, theta):
    """Threshold unit: weighted sums ``X @ w`` and whether each reaches ``theta``.

    Parameters
    ----------
    X : array_like, shape (N, 2)
    w : array_like, shape (2,)
    theta : float

    Returns
    -------
    s : ndarray, shape (N,), the weighted sums
    fires : ndarray of int, shape (N,), 1 where ``s >= theta``
    """
    owner = "perceptron"
    X = check_array(X, "X", owner, shape=(None, 2), finite=True)
    w = check_array(w, "w", owner, shape=(2,), finite=True)
    theta = _finite_number(theta, "theta", owner)
    s = X @ w
    return s, (s >= theta).astype(np.int64)


def gate_name(outputs) -> str | None:
    """Name of the gate whose truth-table column equals ``outputs`` (shape (4,)), or None."""
    outputs = tuple(int(v) for v in check_labels(np.asarray(outputs), "outputs", "gate_name",
                                                   n=4, n_classes=2))
    for name, column in GATES.items():
        if column == outputs:
            return name
    if outputs == (0, 0, 0, 0):
        return "always 0"
    if outputs == (1, 1, 1, 1):
        return "always 1"
    return None


@dataclass
class TruthTable:
    """What the gate slider shows: inputs, weighted sums, outputs and the gate they form."""

    inputs: np.ndarray
    weighted_sum: np.ndarray
    output: np.ndarray
    gate: str | None

    def rows(self) -> list[str]:
        """The table as printable lines (sums rounded to 4 significant digits)."""
        lines = ["i1  i2  w1*i1+w2*i2  fires"]
        for (i1, i2), s, o in zip(self.inputs, self.weighted_sum, self.output):
            lines.append(f"{int(i1):>2}  {int(i2):>2}  {s:>11.4g}  {int(o):>5}")
        return lines


def truth_table(w1: float, w2: float, theta: float) -> TruthTable:
    """Truth table of the perceptron ``[w1*i1 + w2*i2 >= theta]`` over the four binary inputs.

    Shape
    -----
    ``inputs`` (4, 2); ``weighted_sum`` and ``output`` (4,).
    """
    owner = "truth_table"
    w = np.array([_finite_number(w1, "w1", owner), _finite_number(w2, "w2", owner)])
    s, out = perceptron(INPUTS, w, _finite_number(theta, "theta", owner))
    return TruthTable(INPUTS.copy(), s, out, gate_name(out))


def decision_line(w1: float, w2: float, theta: float, lo: float = -0.5, hi: float = 1.5):
    """Points of the line ``w1*x1 + w2*x2 = theta`` clipped to the square [lo, hi]².

    Returns ``(x1, x2)`` arrays of two points each, or ``None`` when the line misses the square
    or does not exist (``w1 = w2 = 0``: the unit then fires everywhere or nowhere).

    Shape
    -----
    ``x1``, ``x2``: (2,).
    """
    owner = "decision_line"
    w1, w2, theta = (_finite_number(v, n, owner) for v, n in ((w1, "w1"), (w2, "w2"), (theta, "theta")))
    lo, hi = _finite_number(lo, "lo", owner), _finite_number(hi, "hi", owner)
    if not lo < hi:
        raise ValueError(f"{owner}: argument 'hi' must exceed 'lo', got lo={lo}, hi={hi}")
    if w1 == 0 and w2 == 0:
        return None
    # Intersect the line with the four sides of the square and keep the points inside.
    pts = []
    if w2 != 0:
        for x1 in (lo, hi):
            x2 = (theta - w1 * x1) / w2
            if lo - 1e-12 <= x2 <= hi + 1e-12:
                pts.append((x1, x2))
    if w1 != 0:
        for x2 in (lo, hi):
            x1 = (theta - w2 * x2) / w1
            if lo - 1e-12 <= x1 <= hi + 1e-12:
                pts.append((x1, x2))
    pts = sorted(set((round(a, 12), round(b, 12)) for a, b in pts))
    if len(pts) < 2:
        return None
    (a1, a2), (b1, b2) = pts[0], pts[-1]
    return np.array([a1, b1]), np.array([a2, b2])


def gate_constraints(gate, w1: float, w2: float, theta: float) -> list[tuple[str, bool]]:
    """The four inequalities a perceptron must satisfy to compute ``gate``, each with whether
    ``(w1, w2, theta)`` satisfies it (the notes' argument, evaluated at one point).

    Returns
    -------
    list of (inequality as text, satisfied) in the order of INPUTS.
    """
    owner = "gate_constraints"
    target = _gate_target(gate, owner)
    w = np.array([_finite_number(w1, "w1", owner), _finite_number(w2, "w2", owner)])
    s, out = perceptron(INPUTS, w, _finite_number(theta, "theta", owner))
    terms = ["0", "w2", "w1", "w1 + w2"]
    return [
        (f"{term} {'>=' if t else '<'} theta", bool(o == t))
        for term, t, o in zip(terms, target, out)
    ]


@dataclass
class GridSearchResult:
    """Outcome of an exhaustive search over (w1, w2, theta)."""

    gate: tuple
    n_tried: int
    n_solutions: int
    example: tuple | None  # one solution (w1, w2, theta), or None
    best_correct: int  # most rows any grid point gets right (4 = solved)


def grid_search(gate, values) -> GridSearchResult:
    """Try every ``(w1, w2, theta)`` in ``values``³ and count those that compute ``gate``.

    Parameters
    ----------
    gate : str or sequence of four 0/1 targets
    values : array_like, shape (K,), the grid used for each of w1, w2 and theta

    Shape
    -----
    Evaluates a (K, K, K, 4) table of outputs; K = 81 is about 2 million entries.
    """
    owner = "grid_search"
    target = _gate_target(gate, owner)
    v = check_array(values, "values", owner, ndim=1, finite=True)
    if v.size == 0 or v.size > 201:
        raise ValueError(f"{owner}: argument 'values' expected 1 to 201 grid values, got {v.size}")
    w1, w2, th = np.meshgrid(v, v, v, indexing="ij")
    s = w1[..., None] * INPUTS[:, 0] + w2[..., None] * INPUTS[:, 1]  # (K, K, K, 4)
    correct = ((s >= th[..., None]).astype(np.int64) == target).sum(axis=-1)
    solved = correct == 4
    example = None
    if solved.any():
        i, j, k = np.argwhere(solved)[0]
        example = tuple(round(float(a), 10) for a in (v[i], v[j], v[k]))
    return GridSearchResult(tuple(int(t) for t in target), int(solved.size), int(solved.sum()),
                            example, int(correct.max()))


# --------------------------------------------------------------------------------------------
# Two layers: the notes' hand-built network and linear separability
# --------------------------------------------------------------------------------------------
@dataclass
class LayerTable:
    """Hidden-layer input (weighted sums), hidden output, and network output per input row."""

    inputs: np.ndarray
    hidden_in: np.ndarray
    hidden_out: np.ndarray
    output: np.ndarray


def two_layer_table(W_hidden, theta_hidden, w_out, theta_out, X=None) -> LayerTable:
    """Forward pass of a two-layer network of threshold units.

    ``hidden_in = X @ W_hidden.T``; ``hidden_out = [hidden_in >= theta_hidden]``;
    ``output = [hidden_out @ w_out >= theta_out]``.

    Shape
    -----
    W_hidden (H, 2), theta_hidden (H,), w_out (H,), X (N, 2) (default: the four binary inputs);
    returns hidden_in, hidden_out (N, H) and output (N,).
    """
    owner = "two_layer_table"
    X = INPUTS if X is None else check_array(X, "X", owner, shape=(None, 2), finite=True)
    W = check_array(W_hidden, "W_hidden", owner, shape=(None, 2), finite=True)
    H = W.shape[0]
    th = check_array(theta_hidden, "theta_hidden", owner, shape=(H,), finite=True)
    w = check_array(w_out, "w_out", owner, shape=(H,), finite=True)
    theta_out = _finite_number(theta_out, "theta_out", owner)
    hidden_in = X @ W.T
    hidden_out = (hidden_in >= th).astype(np.int64)
    output = (hidden_out @ w >= theta_out).astype(np.int64)
    return LayerTable(X.copy(), hidden_in, hidden_out, output)


def linearly_separable(X, y):
    """Is there a line (hyperplane) with every class-1 point strictly on one side?

    Solves the feasibility problem ``s_i (w . x_i + b) >= 1`` with ``s_i = 2 y_i - 1`` as a
    linear program: feasible exactly when the two classes are strictly linearly separable.

    Parameters
    ----------
    X : array_like, shape (N, D)
    y : array_like of 0/1, shape (N,)

    Returns
    -------
    separable : bool
    w : ndarray (D,) or None, b : float or None -- one separating hyperplane when separable.
    """
    from scipy.optimize import linprog

    owner = "linearly_separable"
    X = check_array(X, "X", owner, ndim=2, finite=True)
    y = check_labels(y, "y", owner, n=X.shape[0], n_classes=2)
    s = 2.0 * y - 1.0
    D = X.shape[1]
    # unknowns z = (w, b); constraint -s_i (x_i.w + b) <= -1
    A = -s[:, None] * np.hstack([X, np.ones((X.shape[0], 1))])
    res = linprog(np.zeros(D + 1), A_ub=A, b_ub=-np.ones(X.shape[0]),
                  bounds=[(None, None)] * (D + 1), method="highs")
    if res.status != 0:
        return False, None, None
    return True, res.x[:D], float(res.x[D])


# --------------------------------------------------------------------------------------------
# The notes' 2-hidden-unit ReLU example
# --------------------------------------------------------------------------------------------
def relu_example_data(n_per_cluster: int = 12, seed: int = 0):
    """Points no line separates but two ReLUs do: class 1 left and right, class 0 in the middle.

    Shape
    -----
    X (3 * n_per_cluster, 2), y (3 * n_per_cluster,) with 0/1 labels.
    """
    check_positive(n_per_cluster, "n_per_cluster", "relu_example_data", integer=True)
    rng = np.random.default_rng(seed)
    n = n_per_cluster
    centres = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    X = np.vstack([c + rng.normal(scale=[0.35, 0.8], size=(n, 2)) for c in centres])
    y = np.repeat([1, 0, 1], n).astype(np.int64)
    return X, y


def hyperplane(angle_deg: float, offset: float):
    """Unit normal at ``angle_deg`` and bias so that ``z = n . x + b`` is zero on the line whose
    signed distance from the origin is ``offset`` (positive side: where n points).

    Returns ``(n, b)`` with n of shape (2,).
    """
    owner = "hyperplane"
    a = np.deg2rad(_finite_number(angle_deg, "angle_deg", owner))
    n = np.array([np.cos(a), np.sin(a)])
    return n, -_finite_number(offset, "offset", owner)


# Slider settings for the ReLU demo: the notes' picture, and the sign-flipped normals they ask about.
RELU_PRESETS = {
    "notes' solution": (0.0, 1.0, 180.0, 1.0),
    "normals flipped": (180.0, -1.0, 0.0, -1.0),
    "both the same": (0.0, 1.0, 0.0, 1.0),
}


@dataclass
class ReluDemo:
    """Hidden features of the two-ReLU network and whether they are linearly separable."""

    W: np.ndarray
    b: np.ndarray
    H: np.ndarray
    separable_in: bool
    separable_hidden: bool
    w_out: np.ndarray | None = None
    b_out: float | None = None
    n_collapsed: int = 0  # points mapped to (0, 0): both units silent
    notes: list = field(default_factory=list)


def relu_features(X, W, b):
    """``max(0, X @ W.T + b)``: the hidden representation of a one-layer ReLU network.

    Shape
    -----
    X (N, D), W (H, D), b (H,) -> (N, H).
    """
    owner = "relu_features"
    X = check_array(X, "X", owner, ndim=2, finite=True)
    W = check_array(W, "W", owner, shape=(None, X.shape[1]), finite=True)
    b = check_array(b, "b", owner, shape=(W.shape[0],), finite=True)
    return np.maximum(X @ W.T + b, 0.0)


def relu_demo(angle1: float, offset1: float, angle2: float, offset2: float, X, y) -> ReluDemo:
    """What the ReLU sliders show: features ``[relu(z1), relu(z2)]`` of each point and whether a
    line separates the classes before and after the mapping.

    Shape
    -----
    X (N, 2), y (N,) -> ``H`` (N, 2).
    """
    n1, b1 = hyperplane(angle1, offset1)
    n2, b2 = hyperplane(angle2, offset2)
    W, b = np.vstack([n1, n2]), np.array([b1, b2])
    H = relu_features(X, W, b)
    y = check_labels(y, "y", "relu_demo", n=H.shape[0], n_classes=2)
    sep_in, _, _ = linearly_separable(X, y)
    sep_h, w_out, b_out = linearly_separable(H, y)
    collapsed = int(np.sum(np.all(H == 0, axis=1)))
    return ReluDemo(W, b, H, sep_in, sep_h, w_out, b_out, collapsed)


# --------------------------------------------------------------------------------------------
# Activation functions, saturation, dead units
# --------------------------------------------------------------------------------------------
def _elu(z, alpha):
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


# name -> (f, f'); the derivative at a kink is taken from the right-hand-side convention
# the library's layers use (ReLU'(0) = 0, as the notes pick the subgradient 0).
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z, a=0.01: np.where(z > 0, z, a * z),
                   lambda z, a=0.01: np.where(z > 0, 1.0, a)),
    "elu": (lambda z, a=1.0: _elu(z, a), lambda z, a=1.0: np.where(z > 0, 1.0, _elu(z, a) + a)),
}


def _activation_name(name, owner):
    if name not in ACTIVATIONS:
        raise ValueError(f"{owner}: argument 'name' must be one of {list(ACTIVATIONS)}, got {name!r}")
    return name


def _apply(which: int, name: str, z, param, owner: str):
    """ACTIVATIONS[name][which] (0: the function, 1: its derivative) on a checked z."""
    fn = ACTIVATIONS[_activation_name(name, owner)][which]
    z = check_array(z, "z", owner)
    if param is not None and name in ("leaky_relu", "elu"):
        return fn(z, _finite_number(param, "param", owner))
    return fn(z)


def activation(name: str, z, param: float | None = None):
    """Apply the named activation elementwise. ``param`` is leaky ReLU's negative slope
    (default 0.01, as nnlib.LeakyReLU; the notes use 0.1) or ELU's alpha (default 1).

    Shape
    -----
    any -> same.
    """
    return _apply(0, name, z, param, "activation")


def activation_derivative(name: str, z, param: float | None = None):
    """Derivative of the named activation, elementwise (same ``param`` as :func:`activation`).

    Shape
    -----
    any -> same.
    """
    return _apply(1, name, z, param, "activation_derivative")


def saturation_fraction(name: str, z, tol: float = 0.01) -> float:
    """Fraction of pre-activations ``z`` where the unit is saturated: ``|f'(z)| < tol``.

    There the gradient that flows back through the unit is almost zero, so its incoming
    weights barely learn. (ReLU counts as 'saturated' on its whole negative side.)
    """
    check_positive(tol, "tol", "saturation_fraction")
    d = np.abs(activation_derivative(name, z))
    return float(np.mean(d < tol))


def dead_units(Z) -> np.ndarray:
    """Which ReLU units are dead on a data set: pre-activation <= 0 for every sample.

    Such a unit outputs 0 and passes back gradient 0 for every input, so no gradient step on
    this data can revive it.

    Shape
    -----
    Z (N, H) pre-activations -> bool (H,).
    """
    Z = check_array(Z, "Z", "dead_units", ndim=2, finite=True)
    return np.all(Z <= 0, axis=0)


def dead_fraction_vs_bias(biases, n_samples: int = 200, n_in: int = 10, n_units: int = 100,
                          seed: int = 0) -> np.ndarray:
    """Fraction of dead ReLU units in one randomly initialised layer when every bias is shifted
    by each value in ``biases`` (inputs N(0, 1), weights N(0, 1/n_in)).

    Shape
    -----
    biases (B,) -> (B,).
    """
    owner = "dead_fraction_vs_bias"
    biases = check_array(biases, "biases", owner, ndim=1, finite=True)
    for v, n in ((n_samples, "n_samples"), (n_in, "n_in"), (n_units, "n_units")):
        check_positive(v, n, owner, integer=True)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_in))
    W = rng.standard_normal((n_units, n_in)) / np.sqrt(n_in)
    Z = X @ W.T
    return np.array([dead_units(Z + b).mean() for b in biases])


@dataclass
class ActivationPanel:
    """What the activation dropdown draws: f, f' and where the unit is saturated."""

    z: np.ndarray
    f: np.ndarray
    df: np.ndarray
    saturated: np.ndarray
    max_slope: float
    saturated_fraction: float


def activation_panel(name: str, lo: float = -6.0, hi: float = 6.0, n: int = 601,
                     tol: float = 0.01) -> ActivationPanel:
    """f and f' on a grid of ``n`` points over [lo, hi] and the saturated part of that range.

    Shape
    -----
    every array field (n,).
    """
    owner = "activation_panel"
    _activation_name(name, owner)
    lo, hi = _finite_number(lo, "lo", owner), _finite_number(hi, "hi", owner)
    if not lo < hi:
        raise ValueError(f"{owner}: argument 'hi' must exceed 'lo', got lo={lo}, hi={hi}")
    check_positive(n, "n", owner, integer=True)
    z = np.linspace(lo, hi, n)
    f, d = activation(name, z), activation_derivative(name, z)
    sat = np.abs(d) < tol
    return ActivationPanel(z, f, d, sat, float(np.abs(d).max()), float(sat.mean()))


# --------------------------------------------------------------------------------------------
# Learned features on XOR (needs nnlib's layers, losses and optimizers)
# --------------------------------------------------------------------------------------------
XOR_Y = np.array([0, 1, 1, 0], dtype=np.int64)


@dataclass
class XorRun:
    """A training run on the four XOR points, with the hidden layer recorded at every step."""

    seed: int
    hidden: np.ndarray  # (steps + 1, 4, H) hidden activations after each step (index 0: init)
    logits: np.ndarray  # (steps + 1, 4)
    loss: np.ndarray  # (steps + 1,)
    solved: bool  # every point on the right side of 0 at the end
    separable_hidden: bool  # hidden points of the final step linearly separable
    grad_norm: float  # norm of the full gradient at the end: ~0 where training got stuck


def train_xor(hidden: int = 2, activation: str = "tanh", steps: int = 300, lr: float = 0.1,
              seed: int = 0) -> XorRun:
    """Train ``mlp([2, hidden, 1])`` on the four XOR points with full-batch Adam and
    BCEWithLogitsLoss, recording the hidden representation after every step.

    Shape
    -----
    ``hidden`` array (steps + 1, 4, hidden).
    """
    from .. import BCEWithLogitsLoss, optim

    owner = "train_xor"
    check_positive(hidden, "hidden", owner, integer=True)
    check_positive(steps, "steps", owner, integer=True)
    check_positive(lr, "lr", owner)
    if activation not in ("tanh", "relu", "sigmoid"):
        raise ValueError(f"{owner}: argument 'activation' must be 'tanh', 'relu' or 'sigmoid', "
                         f"got {activation!r}")
    model = _seeded_mlp([2, hidden, 1], activation, seed)
    loss_fn = BCEWithLogitsLoss()
    opt = optim.Adam(model.parameters(), lr=lr)
    X, y = INPUTS, XOR_Y.astype(np.float64).reshape(-1, 1)
    H, logits, losses = [], [], []
    for step in range(steps + 1):
        # the forward pass layer by layer, so the hidden activations can be recorded
        h = model[1](model[0](X))
        out = model[2](h)
        loss = loss_fn(out, y)
        H.append(h.copy())
        logits.append(out[:, 0].copy())
        losses.append(loss)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        if step == steps:
            break
        opt.step()
    H = np.array(H)
    logits = np.array(logits)
    solved = bool(np.all((logits[-1] > 0) == (XOR_Y == 1)))
    sep, _, _ = linearly_separable(H[-1], XOR_Y)
    grad_norm = float(np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in model.parameters())))
    return XorRun(seed, H, logits, np.array(losses), solved, sep, grad_norm)


def _seeded_mlp(sizes, activation, seed):
    from ..models import mlp

    return mlp(sizes, activation=activation, rng=np.random.default_rng(seed))


@dataclass
class RestartSummary:
    seeds: np.ndarray
    solved: np.ndarray
    final_loss: np.ndarray
    separable_hidden: np.ndarray
    merged: np.ndarray  # runs where two inputs of opposite class share one hidden point
    grad_norm: np.ndarray  # gradient norm at the last step of each run

    @property
    def n_failed(self) -> int:
        return int((~self.solved).sum())


def xor_restarts(n_seeds: int = 30, hidden: int = 2, activation: str = "tanh", steps: int = 300,
                 lr: float = 0.1) -> RestartSummary:
    """Train from ``n_seeds`` random initialisations (seeds 0..n_seeds-1) and record which
    solve XOR. A failed run sits in a local minimum or a flat region of a non-convex loss.
    """
    check_positive(n_seeds, "n_seeds", "xor_restarts", integer=True)
    runs = [train_xor(hidden, activation, steps, lr, seed) for seed in range(n_seeds)]
    solved = np.array([r.solved for r in runs])
    final = np.array([r.loss[-1] for r in runs])
    sep = np.array([r.separable_hidden for r in runs])
    merged = np.array([_merged_opposite(r.hidden[-1], XOR_Y) for r in runs])
    grad = np.array([r.grad_norm for r in runs])
    return RestartSummary(np.arange(n_seeds), solved, final, sep, merged, grad)


def _merged_opposite(H, y, tol=0.05):
    """Do two points of different class sit (almost) on the same hidden point? Then no output
    layer can tell them apart, whatever its weights."""
    d = np.linalg.norm(H[:, None, :] - H[None, :, :], axis=-1)
    return bool(np.any((d < tol) & (y[:, None] != y[None, :])))


# --------------------------------------------------------------------------------------------
# Exercise checkers: right/wrong with a hint, never the answer
# --------------------------------------------------------------------------------------------
def check_gate(gate: str, w1: float, w2: float, theta: float) -> str:
    """Exercise: find (w1, w2, theta) for a gate. Says which rows are wrong, not the weights."""
    owner = "check_gate"
    target = _gate_target(gate, owner)
    table = truth_table(w1, w2, theta)
    wrong = [tuple(int(v) for v in table.inputs[i]) for i in range(4) if table.output[i] != target[i]]
    if not wrong:
        return f"Right: w1={w1}, w2={w2}, theta={theta} computes {gate}."
    return (f"Not yet: the unit is wrong on input(s) {wrong}. Hint: write the four inequalities "
            f"(weighted sum >= theta or < theta) that {gate} needs and pick theta first.")


def count_linear_gates() -> int:
    """How many of the 16 two-input Boolean functions a single threshold unit computes
    (by grid search; the grid is fine enough for every realisable gate)."""
    values = np.arange(-2.0, 2.01, 0.5)
    count = 0
    for code in range(16):
        target = [(code >> k) & 1 for k in range(4)]
        if grid_search(target, values).n_solutions > 0:
            count += 1
    return count


def check_count_linear_gates(answer) -> str:
    """Exercise: how many of the 16 two-input Boolean functions can one perceptron compute?"""
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"Please answer with a whole number, got {answer!r}."
    if int(answer) == count_linear_gates():
        return "Right."
    return ("Not yet. Hint: loop over the 16 target columns (each a 4-bit number) and call "
            "grid_search on each; count those with at least one solution.")


def check_sigmoid_max_slope(answer) -> str:
    """Exercise: the largest value of the sigmoid's derivative (and so the most a sigmoid
    layer can pass back per unit of incoming gradient)."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return f"Please answer with a number, got {answer!r}."
    true = activation_panel("sigmoid", -10, 10, 20001).max_slope
    if np.isfinite(value) and abs(value - true) < 1e-3:
        return "Right."
    return ("Not yet. Hint: sigma'(z) = sigma(z)(1 - sigma(z)); where is a product p(1-p) "
            "largest for p in (0, 1)?")


# --------------------------------------------------------------------------------------------
# Static figures
# --------------------------------------------------------------------------------------------
RESTAURANT = {
    "raw": ["# dishes", "price", "wine option", "zip code", "# seats", "size"],
    "engineered": {"food quality": [0, 1, 2], "walkable": [3], "noisy": [4, 5]},
}


def feature_diagram():
    """Two panels: the notes' restaurant decomposition (features chosen by a person, wired
    to the inputs they depend on) and a network whose hidden units read every input and are
    learned. Returns the figure."""
    from ..viz import PALETTE, figure

    fig, axes = figure(1, 2, figsize=(12, 5))
    raw = RESTAURANT["raw"]
    y_raw = np.linspace(0.9, 0.1, len(raw))
    panels = (
        (axes[0], list(RESTAURANT["engineered"]), list(RESTAURANT["engineered"].values()),
         "feature engineering: a person picks h and its inputs"),
        (axes[1], ["$h_1$", "$h_2$", "$h_3$"], [list(range(len(raw)))] * 3,
         "feature learning: every $h_k$ sees every input,\nits weights are learned"),
    )
    for ax, names, wiring, title in panels:
        y_mid = np.linspace(0.8, 0.2, len(names))
        for i, (name, inputs) in enumerate(zip(names, wiring)):
            for j in inputs:
                ax.plot([0.22, 0.5], [y_raw[j], y_mid[i]], color=PALETTE[5], lw=1.2, zorder=1)
            ax.plot([0.5, 0.8], [y_mid[i], 0.5], color=PALETTE[0], lw=2, zorder=1)
            ax.text(0.5, y_mid[i], name, ha="center", va="center", fontsize=12, zorder=2,
                    bbox=dict(boxstyle="round", fc="white", ec=PALETTE[2]))
        for j, r in enumerate(raw):
            ax.text(0.2, y_raw[j], r, ha="right", va="center", fontsize=12)
        ax.text(0.82, 0.5, "popularity\n$= w^T h$", ha="left", va="center", fontsize=12,
                bbox=dict(boxstyle="round", fc="white", ec=PALETTE[3]))
        ax.set_xlim(-0.1, 1.05)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(title, fontsize=13)
    return fig


def plot_spaces(X, H, y, titles=("input space", "hidden space"), hidden_labels=("$h_1$", "$h_2$")):
    """Input space and hidden space side by side, points coloured by class, with a separating
    line drawn wherever :func:`linearly_separable` finds one. Returns the figure.

    Shape
    -----
    X (N, 2), H (N, 2), y (N,).
    """
    from ..viz import PALETTE, figure

    owner = "plot_spaces"
    X = check_array(X, "X", owner, shape=(None, 2), finite=True)
    H = check_array(H, "H", owner, shape=(X.shape[0], 2), finite=True)
    y = check_labels(y, "y", owner, n=X.shape[0], n_classes=2)
    fig, axes = figure(1, 2, figsize=(10, 4.5))
    for ax, P_, title, labels in ((axes[0], X, titles[0], ("$x_1$", "$x_2$")),
                                  (axes[1], H, titles[1], hidden_labels)):
        big = len(y) <= 8
        for k, marker in ((0, "o"), (1, "s")):
            m = y == k
            # class 1 drawn smaller on top, so a point of each class at one place shows both
            size = (220 if k == 0 else 90) if big else (50 if k == 0 else 30)
            ax.scatter(P_[m, 0], P_[m, 1], s=size, marker=marker, color=PALETTE[k],
                       edgecolor="black", zorder=3 + k, label=f"class {k}")
        lo, hi = P_.min(axis=0) - 0.5, P_.max(axis=0) + 0.5
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ok, w, b = linearly_separable(P_, y)
        if ok and abs(w[1]) > 1e-12:
            xs = np.array([lo[0], hi[0]])
            ax.plot(xs, -(w[0] * xs + b) / w[1], "--", color="black", label="separating line")
        elif ok:
            ax.axvline(-b / w[0], ls="--", color="black", label="separating line")
        ax.set_title(f"{title}: {'separable' if ok else 'not separable'}")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    # outside the axes, so the legend never hides a point
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=11)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Widget wiring (thin: read the controls, call the functions above, move the artists)
# --------------------------------------------------------------------------------------------
def _scatter_gate(ax, target):
    from ..viz import PALETTE

    cols = [PALETTE[int(t)] for t in target]
    return ax.scatter(INPUTS[:, 0], INPUTS[:, 1], s=220, c=cols, edgecolor="black", zorder=3)


def gate_widget(w1: float = 0.5, w2: float = 0.5, theta: float = 0.8):
    """Sliders for w1, w2, theta; truth table, weighted sums and decision line update live."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, ax = figure(figsize=(5.5, 5))
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlabel("$i_1$ (light at point 1)")
    ax.set_ylabel("$i_2$ (light at point 2)")
    ax.set_aspect("equal")
    dots = _scatter_gate(ax, [0, 0, 0, 0])
    labels = [ax.text(x + 0.06, y + 0.08, "", fontsize=12) for x, y in INPUTS]
    (line,) = ax.plot([], [], color=PALETTE[3], lw=2.5)
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    # blit: axes and labels are rendered once; a move redraws dots, sums, line and title
    live = LiveFigure(fig, animated=[line, dots, *labels, ax.title])
    sliders = {name: widgets.FloatSlider(value=v, min=-2, max=2, step=0.1, description=name,
                                         continuous_update=True)
               for name, v in (("w1", w1), ("w2", w2), ("theta", theta))}
    text = widgets.HTML()

    def update(_=None):
        a, b, t = (sliders[k].value for k in ("w1", "w2", "theta"))
        table = truth_table(a, b, t)
        dots.set_facecolor([PALETTE[int(o)] for o in table.output])
        for lab, s, o in zip(labels, table.weighted_sum, table.output):
            lab.set_text(f"sum={s:.2g} → {o}")
        seg = decision_line(a, b, t)
        line.set_data(*(seg if seg is not None else ([], [])))
        ax.set_title(f"the unit computes: {table.gate or 'no named gate'}")
        live.redraw()
        text.value = "<pre style='font-size:14px'>" + "\n".join(table.rows()) + "</pre>"

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    return widgets.HBox([widgets.VBox(list(sliders.values()) + [text]), live.output])


def xor_training_widget(run: XorRun):
    """Input space and hidden space side by side, with a slider over training steps."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, (ax_in, ax_h) = figure(1, 2, figsize=(10, 4.5))
    cols = [PALETTE[int(t)] for t in XOR_Y]
    ax_in.scatter(INPUTS[:, 0], INPUTS[:, 1], s=200, c=cols, edgecolor="black", zorder=3)
    ax_in.set_title("input space: XOR")
    ax_in.set_xlabel("$x_1$")
    ax_in.set_ylabel("$x_2$")
    lo, hi = run.hidden[..., :2].min() - 0.2, run.hidden[..., :2].max() + 0.2
    pts = ax_h.scatter(run.hidden[0, :, 0], run.hidden[0, :, 1], s=200, c=cols, edgecolor="black",
                       zorder=3)
    ax_h.set_xlim(lo, hi)
    ax_h.set_ylim(lo, hi)
    ax_h.set_xlabel("hidden unit 1")
    ax_h.set_ylabel("hidden unit 2")
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    live = LiveFigure(fig, animated=[pts, ax_h.title])  # blit: only the hidden points move
    steps = run.hidden.shape[0] - 1
    slider = widgets.IntSlider(value=0, min=0, max=steps, step=max(1, steps // 100),
                               description="step")

    def update(_=None):
        k = slider.value
        pts.set_offsets(run.hidden[k, :, :2])
        sep, _, _ = linearly_separable(run.hidden[k], XOR_Y)
        ax_h.set_title(f"hidden space, step {k}: loss {run.loss[k]:.3g}, "
                       f"{'separable' if sep else 'not separable'}")
        live.redraw(key=k)

    slider.observe(update, names="value")
    update()
    return widgets.VBox([slider, live.output])


def relu_widget(X, y):
    """Sliders for the angle and offset of the two ReLU hyperplanes; the input space with the
    lines and normals, and the hidden space with a separating line when one exists."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure, nice_ceil

    y = check_labels(y, "y", "relu_widget", n=len(X), n_classes=2)
    fig, (ax_in, ax_h) = figure(1, 2, figsize=(11, 4.8))
    cols = [PALETTE[int(t)] for t in y]
    in_pts = ax_in.scatter(X[:, 0], X[:, 1], c=cols, s=40, edgecolor="black", zorder=3)
    ax_in.set_xlim(-4, 4)
    ax_in.set_ylim(-3, 3)
    ax_in.set_xlabel("$x_1$")
    ax_in.set_ylabel("$x_2$")
    ax_in.set_title("input space: lines z=0, arrows to z>0")
    lines = [ax_in.plot([], [], color=c, lw=2)[0] for c in (PALETTE[3], PALETTE[4])]
    arrows = [ax_in.quiver([0], [0], [1], [0], color=c, angles="xy", scale_units="xy", scale=1)
              for c in (PALETTE[3], PALETTE[4])]
    hpts = ax_h.scatter(np.zeros(len(y)), np.zeros(len(y)), c=cols, s=40, edgecolor="black",
                        zorder=3)
    (sep_line,) = ax_h.plot([], [], color="black", ls="--")
    ax_h.set_xlabel("relu($z_1$)")
    ax_h.set_ylabel("relu($z_2$)")
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    # blit: axes and labels are rendered once (again when the hidden-space limits change);
    # a move redraws lines, arrows, points (on top of the lines, as in a full render) and title
    live = LiveFigure(fig, animated=[*lines, *arrows, in_pts, sep_line, hpts, ax_h.title])
    preset = widgets.Dropdown(options=list(RELU_PRESETS), description="preset")
    names = ("angle 1 (°)", "offset 1", "angle 2 (°)", "offset 2")
    sliders = [widgets.FloatSlider(value=v, min=lo, max=hi, step=st, description=nm)
               for nm, v, (lo, hi, st) in zip(names, RELU_PRESETS["notes' solution"],
                                              [(0, 360, 5), (-3, 3, 0.1)] * 2)]

    def update(_=None):
        a1, o1, a2, o2 = (s.value for s in sliders)
        d = relu_demo(a1, o1, a2, o2, X, y)
        for k in range(2):
            n, b = d.W[k], d.b[k]
            p0 = -b * n  # the point of the line nearest the origin
            t = np.array([-n[1], n[0]]) * 8
            lines[k].set_data([p0[0] - t[0], p0[0] + t[0]], [p0[1] - t[1], p0[1] + t[1]])
            arrows[k].set_offsets([p0])
            arrows[k].set_UVC([n[0]], [n[1]])
        hpts.set_offsets(d.H)
        # snapped to 1-2-5 steps, so most moves keep the limits and the rendered axes
        top = max(1.0, nice_ceil(float(d.H.max()) * 1.1 + 1e-9))
        ax_h.set_xlim(-0.2, top)
        ax_h.set_ylim(-0.2, top)
        if d.separable_hidden and abs(d.w_out[1]) > 1e-12:
            xs = np.array([-0.2, top])
            sep_line.set_data(xs, -(d.w_out[0] * xs + d.b_out) / d.w_out[1])
        else:
            sep_line.set_data([], [])
        ax_h.set_title(f"hidden space: {'separable' if d.separable_hidden else 'NOT separable'}"
                       f" ({d.n_collapsed} points at (0,0))")
        live.redraw()

    def apply_preset(_=None):
        for s, v in zip(sliders, RELU_PRESETS[preset.value]):
            s.unobserve(update, names="value")
            s.value = v
            s.observe(update, names="value")
        update()

    for s in sliders:
        s.observe(update, names="value")
    preset.observe(apply_preset, names="value")
    update()
    return widgets.HBox([widgets.VBox([preset] + sliders), live.output])


def activation_widget():
    """Dropdown over the five activations: f and f' with the saturated range shaded."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, (ax_f, ax_d) = figure(1, 2, figsize=(10, 4.2))
    (lf,) = ax_f.plot([], [], color=PALETTE[0])
    (ld,) = ax_d.plot([], [], color=PALETTE[1])
    for ax, t in ((ax_f, "f(z)"), (ax_d, "f'(z)")):
        ax.set_xlim(-6, 6)
        ax.set_xlabel("pre-activation z")
        ax.set_ylabel(t)
    ax_f.set_ylim(-1.5, 6)
    ax_d.set_ylim(-0.1, 1.1)
    shades = []
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    live = LiveFigure(fig)
    dd = widgets.Dropdown(options=list(ACTIVATIONS), value="sigmoid", description="activation")

    def update(_=None):
        p = activation_panel(dd.value)
        lf.set_data(p.z, p.f)
        ld.set_data(p.z, p.df)
        while shades:
            shades.pop().remove()
        shades.append(ax_d.fill_between(p.z, -0.1, 1.1, where=p.saturated, color=PALETTE[3],
                                        alpha=0.15, lw=0))
        ax_f.set_title(dd.value)
        ax_d.set_title(f"|f'| < 0.01 on {100 * p.saturated_fraction:.0f}% of [-6, 6] (shaded)")
        live.redraw(key=dd.value)

    dd.observe(update, names="value")
    update()
    return widgets.VBox([dd, live.output])
