"""Logic behind notebook 02 (universal approximation, width, hand-built bumps, depth vs width).

The expensive part of the notebook is training one network per hidden width. ``train_widths``
trains a whole family of one-hidden-layer networks *at once*: their hidden units sit side by
side in one wide Linear layer and a block-diagonal output layer keeps them apart. Because the
loss is a sum of the members' losses and Adam works element by element, every member follows
exactly the trajectory it would follow alone (the tests check this), at the cost of one
network as wide as all of them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_in_range, check_labels, check_positive
from ..layers import sigmoid as _sigmoid  # the stable one: exp(-|z|) only

# 1-D targets of Bishop's figure 5.3 (the same four as nnlib.datasets.function_samples).
TARGETS = {
    "x^2": lambda x: x**2,
    "sin(pi x)": lambda x: np.sin(np.pi * x),
    "|x|": np.abs,
    "step": lambda x: np.where(x >= 0, 1.0, 0.0),
}
TARGET_KEYS = {"x^2": "square", "sin(pi x)": "sin", "|x|": "abs", "step": "step"}

WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 50)
FIT_ACTIVATIONS = ("tanh", "sigmoid", "relu")


def _target(name, owner):
    if name not in TARGETS:
        raise ValueError(f"{owner}: argument 'target' must be one of {list(TARGETS)}, got {name!r}")
    return TARGETS[name]


def _finite(value, name, owner) -> float:
    check_in_range(value, name, owner, -np.inf, np.inf)
    return float(value)


def _widths(widths, owner):
    widths = list(widths)
    if not widths:
        raise ValueError(f"{owner}: argument 'widths' must hold at least one width, got []")
    for i, w in enumerate(widths):
        check_positive(w, f"widths[{i}]", owner, integer=True)
    return widths


# --------------------------------------------------------------------------------------------
# A family of one-hidden-layer networks trained side by side
# --------------------------------------------------------------------------------------------
@dataclass
class WidthFamily:
    """One trained one-hidden-layer network per width, stored as one wide network.

    Attributes
    ----------
    widths : list of int, the K member widths
    W1 : (sum(widths), D) first-layer weights; b1 : (sum(widths),)
    W2 : (K, sum(widths)) block-diagonal output weights; b2 : (K,)
    activation : str
    loss_curve : (steps + 1, K) training loss of each member at every step
    """

    widths: list
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    activation: str
    loss_curve: np.ndarray

    def _act(self):
        from ..models import ACTIVATIONS

        return ACTIVATIONS[self.activation]()

    def hidden(self, X) -> np.ndarray:
        """Every member's hidden-unit outputs side by side. Shape: (N, D) -> (N, sum(widths))."""
        X = check_array(X, "X", "WidthFamily.hidden", shape=(None, self.W1.shape[1]), finite=True)
        return self._act()(X @ self.W1.T + self.b1)

    def predict(self, X) -> np.ndarray:
        """Every member's output. Shape: (N, D) -> (N, K)."""
        return self.hidden(X) @ self.W2.T + self.b2

    def index(self, width: int) -> int:
        if width not in self.widths:
            raise ValueError(f"WidthFamily: argument 'width' must be one of {self.widths}, got {width!r}")
        return self.widths.index(width)

    def unit_slice(self, width: int) -> slice:
        """Columns of ``hidden(X)`` that belong to the member of this width."""
        k = self.index(width)
        start = int(sum(self.widths[:k]))
        return slice(start, start + width)

    def member(self, width: int):
        """The member of this width as a stand-alone ``nnlib.models.mlp`` (weights copied)."""
        from ..models import mlp

        k, sl = self.index(width), self.unit_slice(width)
        model = mlp([self.W1.shape[1], width, 1], self.activation, rng=0)
        model[0].weight.value = self.W1[sl].copy()
        model[0].bias.value = self.b1[sl].copy()
        model[2].weight.value = self.W2[k:k + 1, sl].copy()
        model[2].bias.value = self.b2[k:k + 1].copy()
        return model

    def final_loss(self) -> np.ndarray:
        """Training loss of each member after the last step. Shape: (K,)."""
        return self.loss_curve[-1].copy()


def train_widths(X, y, widths=WIDTHS, activation: str = "tanh", loss: str = "mse",
                 steps: int = 1000, lr: float = 0.03, seed: int = 0) -> WidthFamily:
    """Train ``mlp([D, w, 1], activation)`` for every ``w`` in ``widths`` with full-batch Adam.

    Member ``w`` starts from ``mlp([D, w, 1], activation, rng=seed)``, exactly the network one
    would train alone, and follows the same trajectory (see the module docstring).

    Parameters
    ----------
    X : array_like, shape (N, D)
    y : array_like, shape (N,) or (N, 1): regression targets (``loss='mse'``) or 0/1 labels
        (``loss='bce'``, outputs are logits)
    widths : sequence of int
    activation : 'tanh', 'sigmoid', 'relu', ... (any name nnlib.models.mlp accepts)

    Shape
    -----
    The stored loss curve is (steps + 1, len(widths)).
    """
    from .. import BCEWithLogitsLoss, Linear, MSELoss, optim
    from ..models import ACTIVATIONS, mlp

    owner = "train_widths"
    X = check_array(X, "X", owner, ndim=2, finite=True)
    y = check_array(y, "y", owner, finite=True).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{owner}: argument 'y' expected {X.shape[0]} values (one per row of X), "
                         f"got {y.shape[0]}")
    widths = _widths(widths, owner)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{owner}: argument 'activation' must be one of {sorted(ACTIVATIONS)}, "
                         f"got {activation!r}")
    if loss not in ("mse", "bce"):
        raise ValueError(f"{owner}: argument 'loss' must be 'mse' or 'bce', got {loss!r}")
    if loss == "bce":
        check_labels(y, "y", owner, n_classes=2)
    check_positive(steps, "steps", owner, integer=True)
    check_positive(lr, "lr", owner)

    K, total, D = len(widths), int(sum(widths)), X.shape[1]
    first, second = Linear(D, total, rng=0), Linear(total, K, rng=0)
    mask = np.zeros((K, total))
    start = 0
    for k, w in enumerate(widths):
        m = mlp([D, w, 1], activation, rng=seed)
        first.weight.value[start:start + w] = m[0].weight.value
        first.bias.value[start:start + w] = m[0].bias.value
        second.weight.value[k] = 0.0
        second.weight.value[k, start:start + w] = m[2].weight.value[0]
        second.bias.value[k] = m[2].bias.value[0]
        mask[k, start:start + w] = 1.0
        start += w
    act = ACTIVATIONS[activation]()
    loss_fn = MSELoss() if loss == "mse" else BCEWithLogitsLoss()
    params = [first.weight, first.bias, second.weight, second.bias]
    opt = optim.Adam(params, lr=lr)
    Y = np.repeat(y.reshape(-1, 1), K, axis=1)
    curve = np.empty((steps + 1, K))
    for step in range(steps + 1):
        out = second(act(first(X)))
        curve[step] = _member_losses(out, Y, loss)
        if step == steps:
            break
        loss_fn(out, Y)
        for p in params:
            p.zero_grad()
        # the loss is a mean over K members; times K makes each member's gradient its own
        first.backward(act.backward(second.backward(loss_fn.backward() * K)))
        second.weight.grad *= mask  # members never see each other's hidden units
        opt.step()
    return WidthFamily(widths, first.weight.value.copy(), first.bias.value.copy(),
                       second.weight.value.copy(), second.bias.value.copy(), activation, curve)


def _member_losses(out, Y, loss):
    if loss == "mse":
        return np.mean((out - Y) ** 2, axis=0)
    # stable log(1 + e^{-|z|}) form of binary cross-entropy on logits
    return np.mean(np.maximum(out, 0) - out * Y + np.log1p(np.exp(-np.abs(out))), axis=0)


def train_alone(X, y, width: int, activation: str = "tanh", steps: int = 1000, lr: float = 0.03,
                seed: int = 0):
    """The reference the family trick must match: one ``mlp([D, width, 1])`` trained alone with
    full-batch Adam on MSE. Returns ``(model, loss_curve)``.

    Shape
    -----
    X (N, D), y (N,) or (N, 1); loss_curve (steps + 1,).
    """
    from .. import MSELoss, optim
    from ..models import mlp

    owner = "train_alone"
    X = check_array(X, "X", owner, ndim=2, finite=True)
    y = check_array(y, "y", owner, finite=True).reshape(-1, 1)
    check_positive(width, "width", owner, integer=True)
    check_positive(steps, "steps", owner, integer=True)
    model = mlp([X.shape[1], width, 1], activation, rng=seed)
    loss_fn, opt = MSELoss(), optim.Adam(model.parameters(), lr=lr)
    curve = []
    for step in range(steps + 1):
        curve.append(loss_fn(model(X), y))
        if step == steps:
            break
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return model, np.array(curve)


class FitCache:
    """Trained width families per (target, activation), computed on first use and kept.

    The width slider only indexes into a cached family, so its redraw never trains.
    """

    def __init__(self, n: int = 50, steps: int = 1000, lr: float = 0.03, seed: int = 0,
                 widths=WIDTHS):
        from ..datasets import function_samples

        check_positive(n, "n", "FitCache", integer=True)
        self.widths = _widths(widths, "FitCache")
        self.steps, self.lr, self.seed = steps, lr, seed
        self.data = {name: function_samples(TARGET_KEYS[name], n) for name in TARGETS}
        self.x_plot = np.linspace(-1, 1, 301).reshape(-1, 1)
        self._families = {}
        self._curves = {}

    def precompute(self, activations=FIT_ACTIVATIONS) -> None:
        """Train every (target, activation) family now, so no slider ever waits."""
        for target in TARGETS:
            for act in activations:
                self.family(target, act)

    def family(self, target: str, activation: str) -> WidthFamily:
        _target(target, "FitCache.family")
        key = (target, activation)
        if key not in self._families:
            X, y = self.data[target]
            fam = train_widths(X, y, self.widths, activation, "mse", self.steps, self.lr, self.seed)
            self._families[key] = fam
            self._curves[key] = fam.predict(self.x_plot)
        return self._families[key]

    def curves(self, target: str, activation: str) -> np.ndarray:
        """Every member's prediction on ``x_plot``. Shape: (301, len(widths))."""
        self.family(target, activation)
        return self._curves[(target, activation)]


@dataclass
class WidthView:
    """What the width slider shows for one (target, activation, width)."""

    x: np.ndarray
    fit: np.ndarray
    train_mse: float
    widths: list
    errors: np.ndarray


def width_view(cache: FitCache, target: str, activation: str, width: int) -> WidthView:
    """The fit of one width and the error-against-width curve, read from the cache.

    Shape
    -----
    ``x``, ``fit`` (301,); ``errors`` (len(widths),).
    """
    fam = cache.family(target, activation)
    k = fam.index(width)
    return WidthView(cache.x_plot[:, 0], cache.curves(target, activation)[:, k],
                     float(fam.final_loss()[k]), list(fam.widths), fam.final_loss())


# --------------------------------------------------------------------------------------------
# Building the approximation by hand: pairs of steep sigmoids make bumps
# --------------------------------------------------------------------------------------------
def bump(x, left: float, right: float, height: float, steepness: float):
    """``height * (sigmoid(s (x - left)) - sigmoid(s (x - right)))``: a step up at ``left`` and
    one down at ``right``; two hidden units with input weight ``s`` and biases ``-s*left``,
    ``-s*right``.

    Shape
    -----
    x (N,) -> (N,).
    """
    owner = "bump"
    x = check_array(x, "x", owner, finite=True)
    left, right = _finite(left, "left", owner), _finite(right, "right", owner)
    height = _finite(height, "height", owner)
    check_positive(steepness, "steepness", owner)
    return height * (_sigmoid(steepness * (x - left)) - _sigmoid(steepness * (x - right)))


@dataclass
class BumpNetwork:
    """A one-hidden-layer sigmoid network ``f(x) = w0 + sum_j w_j sigmoid(v_j x + b_j)``."""

    v: np.ndarray
    b: np.ndarray
    w: np.ndarray
    w0: float

    @property
    def hidden_units(self) -> int:
        return int(self.v.size)

    def hidden(self, x) -> np.ndarray:
        """Each unit's contribution ``w_j sigmoid(v_j x + b_j)``. Shape: (N,) -> (N, H)."""
        x = check_array(x, "x", "BumpNetwork.hidden", ndim=1, finite=True)
        return self.w * _sigmoid(np.outer(x, self.v) + self.b)

    def __call__(self, x) -> np.ndarray:
        return self.w0 + self.hidden(x).sum(axis=1)

    def to_mlp(self):
        """The same function as an ``nnlib.models.mlp([1, H, 1], 'sigmoid')``."""
        from ..models import mlp

        model = mlp([1, self.hidden_units, 1], "sigmoid", rng=0)
        model[0].weight.value = self.v.reshape(-1, 1).copy()
        model[0].bias.value = self.b.copy()
        model[2].weight.value = self.w.reshape(1, -1).copy()
        model[2].bias.value = np.array([self.w0])
        return model


def bump_network(target: str, n_bumps: int, steepness: float, lo: float = -1.0,
                 hi: float = 1.0) -> BumpNetwork:
    """Cut [lo, hi] into ``n_bumps`` equal pieces; over each put a bump as tall as the target at
    the piece's centre. ``2 * n_bumps`` hidden units; steeper sigmoids make squarer bumps.
    """
    owner = "bump_network"
    f = _target(target, owner)
    check_positive(n_bumps, "n_bumps", owner, integer=True)
    check_positive(steepness, "steepness", owner)
    lo, hi = _finite(lo, "lo", owner), _finite(hi, "hi", owner)
    if not lo < hi:
        raise ValueError(f"{owner}: argument 'hi' must exceed 'lo', got lo={lo}, hi={hi}")
    edges = np.linspace(lo, hi, n_bumps + 1)
    # the outer edges move out by a piece so the sum does not sag to half height at x = lo, hi
    left, right = edges[:-1].copy(), edges[1:].copy()
    left[0] -= (hi - lo)
    right[-1] += (hi - lo)
    heights = f(0.5 * (edges[:-1] + edges[1:]))
    s = float(steepness)
    v = np.full(2 * n_bumps, s)
    b = np.empty(2 * n_bumps)
    w = np.empty(2 * n_bumps)
    b[0::2], b[1::2] = -s * left, -s * right
    w[0::2], w[1::2] = heights, -heights
    return BumpNetwork(v, b, w, 0.0)


@dataclass
class BumpView:
    x: np.ndarray
    target: np.ndarray
    hand: np.ndarray
    bumps: np.ndarray  # (N, n_bumps): each bump = sum of its two units
    hand_mse: float
    hand_max_error: float
    max_weight: float


def bump_view(target: str, n_bumps: int, steepness: float, n: int = 301) -> BumpView:
    """What the bump sliders show: target, hand-built sum, each bump, and the errors.

    Shape
    -----
    every array (n,) except ``bumps`` (n, n_bumps).
    """
    check_positive(n, "n", "bump_view", integer=True)
    net = bump_network(target, n_bumps, steepness)
    x = np.linspace(-1, 1, n)
    t = TARGETS[target](x)
    units = net.hidden(x)
    bumps = units[:, 0::2] + units[:, 1::2]
    hand = net(x)
    err = hand - t
    return BumpView(x, t, hand, bumps, float(np.mean(err**2)), float(np.max(np.abs(err))),
                    float(np.max(np.abs(np.r_[net.v, net.b, net.w]))))


# --------------------------------------------------------------------------------------------
# 2-D classification: width against train and test accuracy
# --------------------------------------------------------------------------------------------
@dataclass
class ClassificationSweep:
    family: WidthFamily
    train_acc: np.ndarray
    test_acc: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    grid_logits: np.ndarray  # (steps, steps, K)

    @property
    def best_width(self) -> int:
        """The width with the highest test accuracy (the first, on ties)."""
        return int(self.family.widths[int(np.argmax(self.test_acc))])


def classification_sweep(X_train, y_train, X_test, y_test, widths, activation: str = "relu",
                         steps: int = 2000, lr: float = 0.01, seed: int = 0,
                         grid_steps: int = 120) -> ClassificationSweep:
    """Train one network per hidden width on a 2-D data set; accuracies and decision maps.

    Shape
    -----
    X_* (N, 2), y_* (N,); ``grid_logits`` (grid_steps, grid_steps, len(widths)).
    """
    owner = "classification_sweep"
    X_train = check_array(X_train, "X_train", owner, shape=(None, 2), finite=True)
    X_test = check_array(X_test, "X_test", owner, shape=(None, 2), finite=True)
    y_train = check_labels(y_train, "y_train", owner, n=X_train.shape[0], n_classes=2)
    y_test = check_labels(y_test, "y_test", owner, n=X_test.shape[0], n_classes=2)
    check_positive(grid_steps, "grid_steps", owner, integer=True)
    fam = train_widths(X_train, y_train, widths, activation, "bce", steps, lr, seed)
    train_acc = np.mean((fam.predict(X_train) > 0) == (y_train[:, None] == 1), axis=0)
    test_acc = np.mean((fam.predict(X_test) > 0) == (y_test[:, None] == 1), axis=0)
    both = np.vstack([X_train, X_test])
    lo, hi = both.min(axis=0) - 0.5, both.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid_steps), np.linspace(lo[1], hi[1], grid_steps))
    logits = fam.predict(np.c_[gx.ravel(), gy.ravel()]).reshape(grid_steps, grid_steps, -1)
    return ClassificationSweep(fam, train_acc, test_acc, gx, gy, logits)


# --------------------------------------------------------------------------------------------
# Depth against width: a sawtooth built exactly both ways
# --------------------------------------------------------------------------------------------
def sawtooth(x, k: int):
    """The tent map applied ``k`` times on [0, 1]: ``2**(k-1)`` teeth, ``2**k`` linear pieces.

    Shape
    -----
    x (N,) -> (N,).
    """
    x = check_array(x, "x", "sawtooth", finite=True)
    check_positive(k, "k", "sawtooth", integer=True)
    for _ in range(k):
        x = np.where(x < 0.5, 2 * x, 2 - 2 * x)
    return x


def deep_sawtooth(k: int):
    """``k`` hidden ReLU layers of 2 units each that compute ``sawtooth(x, k)`` exactly on [0, 1].

    Each layer computes the tent map ``t(u) = 2 relu(u) - 4 relu(u - 1/2)`` of the previous
    tent's output. Returns an ``nnlib.Sequential`` of Linear and ReLU layers.
    """
    from .. import Linear, ReLU, Sequential

    check_positive(k, "k", "deep_sawtooth", integer=True)
    layers = []
    for j in range(k):
        lin = Linear(1 if j == 0 else 2, 2, rng=0)
        # layer j > 0 reads u = 2 h1 - 4 h2 of the layer before and splits it again
        lin.weight.value = np.array([[1.0], [1.0]]) if j == 0 else np.array([[2.0, -4.0], [2.0, -4.0]])
        lin.bias.value = np.array([0.0, -0.5])
        layers += [lin, ReLU()]
    out = Linear(2, 1, rng=0)
    out.weight.value = np.array([[2.0, -4.0]])
    out.bias.value = np.array([0.0])
    return Sequential(*layers, out)


def shallow_sawtooth(k: int):
    """One hidden ReLU layer that computes ``sawtooth(x, k)`` exactly on [0, 1]: one unit per
    linear piece, ``relu(x - j / 2**k)`` for ``j = 0 .. 2**k - 1``, each adding the change of
    slope at its kink. Returns an ``nnlib.Sequential``.
    """
    from .. import Linear, ReLU, Sequential

    check_positive(k, "k", "shallow_sawtooth", integer=True)
    m = 2**k
    kinks = np.arange(m) / m
    slope = 2.0**k
    # slopes alternate +2^k, -2^k; the change at kink 0 is +2^k, then -2·2^k, +2·2^k, ...
    changes = np.where(np.arange(m) % 2 == 0, 2 * slope, -2 * slope)
    changes[0] = slope
    hid = Linear(1, m, rng=0)
    hid.weight.value = np.ones((m, 1))
    hid.bias.value = -kinks
    out = Linear(m, 1, rng=0)
    out.weight.value = changes.reshape(1, -1)
    out.bias.value = np.array([0.0])
    return Sequential(hid, ReLU(), out)


def count_parameters(model) -> int:
    """Number of learnable numbers in a model (weights and biases)."""
    return int(sum(p.size for p in model.parameters()))


def mlp_parameter_count(sizes) -> int:
    """Parameters of ``mlp(sizes)`` without building it: sum of (n_in + 1) * n_out."""
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp_parameter_count: argument 'sizes' needs at least 2 entries, got {sizes}")
    for i, s in enumerate(sizes):
        check_positive(s, f"sizes[{i}]", "mlp_parameter_count", integer=True)
    return int(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


def count_linear_pieces(y, x, tol: float = 1e-6) -> int:
    """Linear pieces of a piecewise-linear function sampled on a fine grid (slope changes + 1).

    Shape
    -----
    y, x (N,), x increasing.
    """
    x = check_array(x, "x", "count_linear_pieces", ndim=1, finite=True)
    y = check_array(y, "y", "count_linear_pieces", shape=x.shape, finite=True)
    slopes = np.diff(y) / np.diff(x)
    return int(np.sum(np.abs(np.diff(slopes)) > tol * max(1.0, np.abs(slopes).max())) + 1)


@dataclass
class DepthRow:
    k: int
    pieces: int
    deep_params: int
    shallow_params: int
    shallow_lower_bound_params: int
    deep_max_error: float
    shallow_max_error: float


def depth_vs_width_table(ks=(1, 2, 3, 4, 5, 6), n: int = 4097) -> list[DepthRow]:
    """For each k: build both exact networks for ``sawtooth(x, k)``, check them on a grid of
    ``n`` points, and count parameters. A one-hidden-layer ReLU net with m units has at most
    m + 1 linear pieces, so ``2**k`` pieces need at least ``2**k - 1`` units."""
    check_positive(n, "n", "depth_vs_width_table", integer=True)
    x = np.linspace(0, 1, n)
    rows = []
    for k in ks:
        check_positive(k, "k", "depth_vs_width_table", integer=True)
        t = sawtooth(x, k)
        deep, shallow = deep_sawtooth(k), shallow_sawtooth(k)
        d = deep(x.reshape(-1, 1))[:, 0]
        s = shallow(x.reshape(-1, 1))[:, 0]
        m_min = 2**k - 1
        rows.append(DepthRow(k, 2**k, count_parameters(deep), count_parameters(shallow),
                             mlp_parameter_count([1, m_min, 1]),
                             float(np.max(np.abs(d - t))), float(np.max(np.abs(s - t)))))
    return rows


def train_mlp(X, y, sizes, activation: str = "relu", steps: int = 2000, lr: float = 0.02,
              seed: int = 0) -> float:
    """Train ``mlp(sizes, activation, rng=seed)`` with full-batch Adam on MSE; final MSE.

    Shape
    -----
    X (N, sizes[0]), y (N,) or (N, 1).
    """
    from .. import MSELoss, optim
    from ..models import mlp

    owner = "train_mlp"
    X = check_array(X, "X", owner, ndim=2, finite=True)
    y = check_array(y, "y", owner, finite=True).reshape(-1, 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{owner}: argument 'y' expected {X.shape[0]} values, got {y.shape[0]}")
    check_positive(steps, "steps", owner, integer=True)
    model = mlp(sizes, activation, rng=seed)
    loss_fn, opt = MSELoss(), optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss_fn(model(X), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return loss_fn(model(X), y)


@dataclass
class TrainedDepthRow:
    sizes: list
    params: int
    best_mse: float  # best final training MSE over the seeds


def trained_depth_comparison(k: int = 3, shallow_widths=(4, 8, 16, 32, 64),
                             deep_sizes=([1, 4, 4, 1], [1, 6, 6, 1], [1, 4, 4, 4, 1]),
                             seeds=(0, 1), steps: int = 2000, lr: float = 0.02, n: int = 200):
    """Train ReLU networks on ``sawtooth`` with k levels (inputs rescaled to [-1, 1]) and
    report parameters against the best training MSE over ``seeds``: one hidden layer (all
    widths trained side by side) and the deeper ``deep_sizes``.

    Returns
    -------
    list of TrainedDepthRow, shallow first.
    """
    check_positive(n, "n", "trained_depth_comparison", integer=True)
    x = np.linspace(-1, 1, n).reshape(-1, 1)
    t = sawtooth((x[:, 0] + 1) / 2, k).reshape(-1, 1)
    rows = []
    best = np.full(len(shallow_widths), np.inf)
    for seed in seeds:
        fam = train_widths(x, t, shallow_widths, "relu", "mse", steps, lr, seed)
        best = np.minimum(best, fam.final_loss())
    for w, b in zip(shallow_widths, best):
        rows.append(TrainedDepthRow([1, w, 1], mlp_parameter_count([1, w, 1]), float(b)))
    for sizes in deep_sizes:
        b = min(train_mlp(x, t, sizes, "relu", steps, lr, seed) for seed in seeds)
        rows.append(TrainedDepthRow(list(sizes), mlp_parameter_count(sizes), float(b)))
    return rows


# --------------------------------------------------------------------------------------------
# Exercise checkers: right/wrong with a hint, never the answer
# --------------------------------------------------------------------------------------------
def check_parameter_count(sizes, answer) -> str:
    """Exercise: how many parameters does ``mlp(sizes)`` have?"""
    true = mlp_parameter_count(sizes)
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"Please answer with a whole number, got {answer!r}."
    if int(answer) == true:
        return "Right."
    return ("Not yet. Hint: a Linear(n_in, n_out) layer has an (n_out, n_in) weight and an "
            "n_out bias; add the layers up.")


def min_bumps_for(target: str, tol: float, steepness: float = 200.0, max_bumps: int = 200) -> int:
    """Fewest evenly placed bumps whose sum stays within ``tol`` of the target on [-1, 1]
    (max error over 301 points), or -1 when ``max_bumps`` are not enough."""
    check_positive(tol, "tol", "min_bumps_for")
    check_positive(max_bumps, "max_bumps", "min_bumps_for", integer=True)
    for n in range(1, max_bumps + 1):
        if bump_view(target, n, steepness).hand_max_error < tol:
            return n
    return -1


def check_min_bumps(target: str, tol: float, answer, steepness: float = 200.0) -> str:
    """Exercise: the fewest bumps (steepness 200) that keep the max error under ``tol``."""
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"Please answer with a whole number, got {answer!r}."
    true = min_bumps_for(target, tol, steepness)
    if int(answer) == true:
        return "Right."
    if int(answer) > true:
        return "Not yet: fewer bumps already do it. Hint: loop n upwards and stop at the first success."
    return ("Not yet: with that many bumps the max error is still too large. Hint: compute "
            "bump_view(target, n, steepness).hand_max_error for increasing n.")


def check_shallow_units(k: int, answer) -> str:
    """Exercise: the fewest hidden units a one-hidden-layer ReLU net needs for sawtooth(x, k)."""
    check_positive(k, "k", "check_shallow_units", integer=True)
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return f"Please answer with a whole number, got {answer!r}."
    if int(answer) == 2**k - 1:
        return "Right."
    return ("Not yet. Hint: each ReLU unit adds at most one kink; count the kinks of the sawtooth "
            "(count_linear_pieces helps).")


# --------------------------------------------------------------------------------------------
# Plot helpers and widget wiring (thin: read the controls, call the functions above)
# --------------------------------------------------------------------------------------------
def _plain_log_ticks(axis, values, labels):
    from matplotlib.ticker import FixedLocator, NullLocator

    axis.set_major_locator(FixedLocator(values))
    axis.set_minor_locator(NullLocator())
    axis.set_ticks(values, labels)


def plot_fit_with_units(ax, family: WidthFamily, width: int, X, y, title: str = ""):
    """Bishop-style panel: data (dots), each hidden unit's output (dashed), the fit (solid)."""
    from ..viz import PALETTE

    x = np.linspace(-1, 1, 301).reshape(-1, 1)
    sl, k = family.unit_slice(width), family.index(width)
    H = family.hidden(x)[:, sl]
    ax.plot(X[:, 0], np.asarray(y).reshape(-1), "o", color=PALETTE[0], ms=5, label="training points")
    for j in range(H.shape[1]):
        ax.plot(x[:, 0], H[:, j], "--", color=PALETTE[(2, 4, 5, 1, 6)[j % 5]], lw=1.5,
                label="hidden unit outputs" if j == 0 else None)
    ax.plot(x[:, 0], family.predict(x)[:, k], color=PALETTE[3], lw=2.5, label="network output")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    return ax


def width_widget(cache: FitCache, target: str = "sin(pi x)", activation: str = "tanh",
                 width: int = 3):
    """Target and activation dropdowns and a width slider; the fit and the error-vs-width
    curve are read from the cache (train each family once, then every redraw is a lookup)."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, (ax_fit, ax_err) = figure(1, 2, figsize=(11, 4.5))
    (pts,) = ax_fit.plot([], [], "o", color=PALETTE[0], ms=5, label="training points")
    (fit_line,) = ax_fit.plot([], [], color=PALETTE[3], lw=2.5, label="network output")
    ax_fit.set_xlim(-1.05, 1.05)
    ax_fit.set_ylim(-1.3, 1.3)
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.legend(loc="lower right")
    (err_line,) = ax_err.plot([], [], "o-", color=PALETTE[0])
    (err_dot,) = ax_err.plot([], [], "o", color=PALETTE[3], ms=12)
    ax_err.set_xscale("log")
    ax_err.set_yscale("log")
    ax_err.set_xlabel("hidden units (log scale)")
    ax_err.set_ylabel("training MSE (log scale)")
    # fixed ticks with plain labels: log axes' default mathtext labels cost a redraw ~50 ms
    _plain_log_ticks(ax_err.xaxis, [1, 2, 5, 10, 20, 50], [f"{v:g}" for v in (1, 2, 5, 10, 20, 50)])
    _plain_log_ticks(ax_err.yaxis, [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0],
                     ["1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "0.01", "1"])
    ax_err.set_xlim(0.8, max(cache.widths) * 1.25)
    ax_err.set_ylim(1e-13, 3.0)
    ax_err.set_title("training error against width")  # static: part of the blitted background
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    # blit: axes, ticks and labels are rendered once; a move redraws the data and the title
    live = LiveFigure(fig, animated=[pts, fit_line, ax_fit.get_legend(), err_line, err_dot, ax_fit.title])
    dd_t = widgets.Dropdown(options=list(TARGETS), value=target, description="target")
    dd_a = widgets.Dropdown(options=list(FIT_ACTIVATIONS), value=activation, description="activation")
    sl = widgets.SelectionSlider(options=list(cache.widths), value=width, description="width")

    def update(_=None):
        v = width_view(cache, dd_t.value, dd_a.value, sl.value)
        X, y = cache.data[dd_t.value]
        pts.set_data(X[:, 0], y[:, 0])
        fit_line.set_data(v.x, v.fit)
        ax_fit.set_title(f"{dd_t.value}, {sl.value} {dd_a.value} units: MSE {v.train_mse:.2g}")
        err = np.maximum(v.errors, 1e-12)
        err_line.set_data(v.widths, err)
        err_dot.set_data([sl.value], [max(v.train_mse, 1e-12)])
        live.redraw(key=(dd_t.value, dd_a.value, sl.value))

    for w in (dd_t, dd_a, sl):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([dd_t, dd_a, sl]), live.output])


def single_bump_widget(left: float = -0.3, right: float = 0.3, height: float = 1.0,
                       steepness: float = 10.0):
    """Two sigmoids and their difference: a bump whose edges sharpen as steepness grows."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, ax = figure(figsize=(7, 4))
    x = np.linspace(-1, 1, 401)
    (up,) = ax.plot([], [], "--", color=PALETTE[0], label="h·σ(s(x − left))")
    (down,) = ax.plot([], [], "--", color=PALETTE[1], label="h·σ(s(x − right))")
    (diff,) = ax.plot([], [], color=PALETTE[3], lw=3, label="difference: a bump")
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1.6, 1.6)
    ax.set_xlabel("x")
    ax.set_ylabel("unit output")
    ax.legend(loc="lower left", fontsize=11)
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    # blit: axes and labels are rendered once; a move redraws the three curves and the title
    live = LiveFigure(fig, animated=[up, down, diff, ax.get_legend(), ax.title])
    s_left = widgets.FloatSlider(value=left, min=-1, max=1, step=0.05, description="left edge")
    s_right = widgets.FloatSlider(value=right, min=-1, max=1, step=0.05, description="right edge")
    s_h = widgets.FloatSlider(value=height, min=-1.5, max=1.5, step=0.05, description="height h")
    s_s = widgets.FloatLogSlider(value=steepness, base=10, min=0, max=3, step=0.05,
                                 description="steepness s")

    def update(_=None):
        s, h = s_s.value, s_h.value
        up.set_data(x, h * _sigmoid(s * (x - s_left.value)))
        down.set_data(x, h * _sigmoid(s * (x - s_right.value)))
        diff.set_data(x, bump(x, s_left.value, s_right.value, h, s))
        ax.set_title(f"input weight s = {s:.3g}: larger weights, sharper steps")
        live.redraw()

    for w in (s_left, s_right, s_h, s_s):
        w.observe(update, names="value")
    update()
    return widgets.HBox([widgets.VBox([s_left, s_right, s_h, s_s]), live.output])


def bump_widget(cache: FitCache, target: str = "sin(pi x)", n_bumps: int = 5,
                steepness: float = 50.0):
    """Sum of evenly placed bumps against the target, next to the trained sigmoid network with
    the same number of hidden units (2 per bump), read from the cache."""
    import ipywidgets as widgets

    from ..viz import PALETTE, LiveFigure, figure

    fig, ax = figure(figsize=(8, 4.5))
    (t_line,) = ax.plot([], [], color="black", lw=1.5, label="target")
    (h_line,) = ax.plot([], [], color=PALETTE[3], lw=2.5, label="hand-built (bumps)")
    (n_line,) = ax.plot([], [], color=PALETTE[2], lw=2.5, ls="-.", label="trained, same units")
    bump_lines = []
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1.3, 1.4)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="lower right", fontsize=11)
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    live = LiveFigure(fig)
    options = [n for n in range(1, 51) if 2 * n in cache.widths]
    dd = widgets.Dropdown(options=list(TARGETS), value=target, description="target")
    s_n = widgets.SelectionSlider(options=options, value=n_bumps, description="bumps")
    s_s = widgets.FloatLogSlider(value=steepness, base=10, min=0, max=3, step=0.05,
                                 description="steepness")

    def update(_=None):
        v = bump_view(dd.value, s_n.value, s_s.value)
        t_line.set_data(v.x, v.target)
        h_line.set_data(v.x, v.hand)
        while bump_lines:
            bump_lines.pop().remove()
        for j in range(v.bumps.shape[1]):
            bump_lines.append(ax.plot(v.x, v.bumps[:, j], "--", color=PALETTE[0], lw=1)[0])
        w = width_view(cache, dd.value, "sigmoid", 2 * s_n.value)
        n_line.set_data(w.x, w.fit)
        trained_mse = float(np.mean((w.fit - TARGETS[dd.value](w.x)) ** 2))
        ax.set_title(f"{2 * s_n.value} units: hand-built MSE {v.hand_mse:.2g}, "
                     f"trained MSE {trained_mse:.2g}", fontsize=13)
        live.redraw()

    for w in (dd, s_n, s_s):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([dd, s_n, s_s]), live.output])


def moons_widget(sweep: ClassificationSweep, X_train, y_train, X_test, y_test, width: int = 4):
    """Width slider over a classification sweep: the decision regions, and train/test accuracy
    against width with the current width marked."""
    import ipywidgets as widgets
    from matplotlib.colors import ListedColormap

    from ..viz import PALETTE, LiveFigure, figure

    fam = sweep.family
    fig, (ax_map, ax_acc) = figure(1, 2, figsize=(11, 4.6))
    ext = (sweep.grid_x.min(), sweep.grid_x.max(), sweep.grid_y.min(), sweep.grid_y.max())
    img = ax_map.imshow(np.zeros(sweep.grid_x.shape), origin="lower", extent=ext, aspect="auto",
                        cmap=ListedColormap([PALETTE[0], PALETTE[1]]), vmin=0, vmax=1, alpha=0.25)
    for X, y, mk, lab in ((X_train, y_train, "o", "train"), (X_test, y_test, ".", "test")):
        ax_map.scatter(X[:, 0], X[:, 1], c=[PALETTE[int(t)] for t in y], marker=mk,
                       s=40 if mk == "o" else 6, edgecolor="black" if mk == "o" else "none",
                       linewidth=0.5, label=lab)
    ax_map.set_xlabel("$x_1$")
    ax_map.set_ylabel("$x_2$")
    ax_acc.plot(fam.widths, sweep.train_acc, "o-", label="train")
    ax_acc.plot(fam.widths, sweep.test_acc, "s-", label="test")
    (vline,) = ax_acc.plot([], [], color="black", ls=":")
    ax_acc.set_xscale("log")
    _plain_log_ticks(ax_acc.xaxis, fam.widths, [str(w) for w in fam.widths])
    ax_acc.set_xlabel("hidden units (log scale)")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend(loc="lower right")
    ax_acc.set_title(f"test accuracy peaks at width {sweep.best_width}")
    for a in fig.axes:  # reserve room for the titles that update() writes
        a.set_title(a.get_title() or "title")
    fig.tight_layout()
    # blit: axes, accuracy curves and labels are rendered once; a move redraws the regions,
    # the points on top of them, the title and the width marker
    live = LiveFigure(fig, animated=[img, *ax_map.collections, ax_map.title, vline])
    sl = widgets.SelectionSlider(options=list(fam.widths), value=width, description="width")

    def update(_=None):
        k = fam.index(sl.value)
        img.set_data((sweep.grid_logits[:, :, k] > 0).astype(float))
        ax_map.set_title(f"width {sl.value}: train {sweep.train_acc[k]:.2f}, "
                         f"test {sweep.test_acc[k]:.2f}")
        vline.set_data([sl.value, sl.value], [0.45, 1.02])
        live.redraw(key=sl.value)

    sl.observe(update, names="value")
    update()
    return widgets.VBox([sl, live.output])
