"""Notebook 04, part 2: random restarts, early stopping and regularization.

All of it runs on small problems that train in a fraction of a second with ``nnlib.fit``:

- restarts: the lecture's 3-tanh-unit network f(x) = w0 + Σ w_i tanh(v_i x + b_i), fitted
  from many random initialisations to two periods of a sine (too little capacity, so runs
  settle in different local minima);
- early stopping and regularization: 20 noisy samples of sin(πx) and a 1-32-32-1 tanh
  network that can thread every one of them (overfitting on purpose).

The sliders read caches computed once (``restart_runs``, ``long_run``, ``regularization_grid``),
so a redraw only moves artists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import optim, viz
from .._validation import check_array, check_in_range, check_positive
from ..datasets import function_samples
from ..init import as_rng
from ..layers import Dropout, Linear, Tanh
from ..losses import MSELoss
from ..models import mlp
from ..module import Module, Sequential
from ..training import EarlyStopping, fit, predict


# ============================================================================================
# Jitter (input noise) as a layer, so nnlib.fit trains with it unchanged
# ============================================================================================
class Jitter(Module):
    r"""Bishop's jitter: in training, every pass adds fresh noise :math:`\epsilon \sim
    N(0, \sigma^2 I)` to the input; in eval mode it is the identity.

    Parameters
    ----------
    sigma : float >= 0, the noise's standard deviation (in the input's units)
    rng : Generator, int or None, the seed of the noise

    Shape: any; the output has the input's shape and dtype.
    """

    def __init__(self, sigma: float, rng=None):
        self.sigma = float(check_positive(sigma, "sigma", "Jitter", allow_zero=True))
        self.rng = as_rng(rng)

    def forward(self, x):
        x = check_array(x, "x", "Jitter.forward")
        if not self.training or self.sigma == 0:
            return x
        return x + (self.sigma * self.rng.standard_normal(x.shape)).astype(x.dtype, copy=False)

    def backward(self, grad_y):
        # x + ε has derivative 1 with respect to x: the gradient passes through unchanged
        return grad_y

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


# ============================================================================================
# Random restarts
# ============================================================================================
@dataclass
class RestartRuns:
    """Final training losses and fitted curves of one fit per seed.

    Shape: ``losses`` ``(S,)``; ``curves`` ``(S, G)`` on ``x_grid`` ``(G,)``;
    ``X``, ``y`` ``(N, 1)``.
    """

    seeds: np.ndarray
    losses: np.ndarray
    curves: np.ndarray
    x_grid: np.ndarray
    X: np.ndarray
    y: np.ndarray


def restart_problem(n: int = 40):
    """Two periods of sin(πx) on [-2, 2], no noise: X ``(n, 1)``, y ``(n, 1)``."""
    return function_samples("sin", n=n, x_range=(-2.0, 2.0))


def restart_runs(n_seeds: int = 12, epochs: int = 400, lr: float = 0.05, hidden: int = 3) -> RestartRuns:
    """Fit the 1-``hidden``-1 tanh network once per seed (0, 1, ...), full batch, Adam.

    Only the initial weights differ between runs, so any spread in the final losses is
    the non-convexity of the loss: different starts, different valleys.
    """
    check_positive(n_seeds, "n_seeds", "restart_runs", integer=True)
    check_positive(epochs, "epochs", "restart_runs", integer=True)
    check_positive(hidden, "hidden", "restart_runs", integer=True)
    X, y = restart_problem()
    grid = np.linspace(-2.2, 2.2, 200)
    losses, curves = [], []
    for seed in range(n_seeds):
        model = mlp([1, hidden, 1], "tanh", rng=seed)
        fit(model, MSELoss(), optim.Adam(model.parameters(), lr=lr), X, y, epochs=epochs,
            batch_size=len(X), seed=seed, progress=False)
        losses.append(float(np.mean((predict(model, X) - y) ** 2)))
        curves.append(predict(model, grid[:, None])[:, 0])
    return RestartRuns(np.arange(n_seeds), np.array(losses), np.array(curves), grid, X, y)


def expected_best_of_k(losses, k: int) -> float:
    """Expected lowest loss among k runs drawn without replacement from ``losses``.

    With the losses sorted, the i-th smallest (1-based) is the best of the k exactly when
    it is drawn and the other k-1 come from the S-i larger ones:
    P = C(S-i, k-1) / C(S, k).
    """
    losses = np.sort(check_array(losses, "losses", "expected_best_of_k", ndim=1, finite=True))
    S = len(losses)
    check_positive(k, "k", "expected_best_of_k", integer=True)
    if k > S:
        raise ValueError(f"expected_best_of_k: argument 'k' must be <= the number of runs {S}, got {k}")
    probs = np.array([math.comb(S - i, k - 1) for i in range(1, S + 1)], dtype=np.float64)
    probs /= math.comb(S, k)
    return float(np.dot(probs, losses))


def best_of_first_k(losses, k: int) -> tuple[int, float]:
    """What random restarts return after trying seeds 0..k-1: (seed, its loss)."""
    losses = check_array(losses, "losses", "best_of_first_k", ndim=1, finite=True)
    check_positive(k, "k", "best_of_first_k", integer=True)
    if k > len(losses):
        raise ValueError(f"best_of_first_k: argument 'k' must be <= {len(losses)}, got {k}")
    i = int(np.argmin(losses[:k]))
    return i, float(losses[i])


def restarts_dashboard(runs: RestartRuns, initial: int = 4):
    """Slider k: the fits of seeds 0..k-1 (best in colour), and the loss histogram with the
    best-of-k marked."""
    import ipywidgets as W

    S = len(runs.losses)
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(13, 4.8))
    ax.plot(runs.X[:, 0], runs.y[:, 0], "o", color=viz.BLACK, ms=5, label="training data")
    grey = [ax.plot(runs.x_grid, runs.curves[s], color="0.75", lw=1)[0] for s in range(S)]
    (best_line,) = ax.plot([], [], color=viz.VERMILLION, lw=2.5, label="best of the k runs")
    ax.set_xlabel("input x")
    ax.set_ylabel("output")
    ax.legend(loc="lower left")
    ax2.hist(runs.losses, bins=12, color=viz.SKY, edgecolor="white")
    lo, hi = runs.losses.min(), runs.losses.max()
    ax2.set_xlim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))  # before the marker, so 0 is not pulled in
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    vline = ax2.axvline(lo, color=viz.VERMILLION, lw=2.5)
    ax2.set_xlabel("final training MSE")
    ax2.set_ylabel("number of seeds")
    ax2.set_title(f"Final losses of {S} restarts")
    fig.tight_layout()
    live = None  # built after the first update, so the figure is rendered once
    livefig = fig
    slider = W.IntSlider(value=initial, min=1, max=S, description="restarts k",
                         style={"description_width": "90px"}, layout=W.Layout(width="450px"))
    caption = W.HTML()

    def redraw(*_):
        k = slider.value
        seed, loss = best_of_first_k(runs.losses, k)
        for s, line in enumerate(grey):
            line.set_visible(s < k)
        best_line.set_data(runs.x_grid, runs.curves[seed])
        vline.set_xdata([loss, loss])
        ax.set_title(f"Fits from seeds 0..{k - 1}; the best is seed {seed}")
        if live is not None:
            live.redraw(key=k)  # the figure depends on k alone
        caption.value = viz.message(
            f"best of the first {k}: MSE {loss:.4g} (seed {seed}); "
            f"expected best of {k} random seeds: {expected_best_of_k(runs.losses, k):.4g}")

    slider.observe(redraw, names="value")
    redraw()
    # blit: axes, data points and histogram are rendered once; a move redraws the curves
    live = viz.LiveFigure(livefig, animated=[*grey, best_line, vline, ax.title,
                                                ax.get_legend()])  # legend last: stays on top
    box = W.VBox([slider, caption, live.output])
    box.live = live
    return box


# ============================================================================================
# The overfitting problem, early stopping
# ============================================================================================
@dataclass(frozen=True)
class OverfitProblem:
    """Shape: ``X``, ``y`` ``(20, 1)`` training; ``X_val``, ``y_val`` ``(100, 1)``;
    ``x_grid`` ``(200,)`` and ``truth`` ``(200,)`` for drawing."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    x_grid: np.ndarray
    truth: np.ndarray
    noise: float


def overfit_problem(n: int = 20, n_val: int = 100, noise: float = 0.25) -> OverfitProblem:
    """sin(πx) on [-1, 1] plus N(0, noise²): few points, so a 32-32 network can memorise them.

    A perfect model still has validation MSE about noise² = 0.0625 (the noise cannot be
    predicted); anything far below that on the training set is memorised noise.
    """
    X, y = function_samples("sin", n=n, noise=noise, random_x=True, seed=1)
    Xv, yv = function_samples("sin", n=n_val, noise=noise, random_x=True, seed=2)
    grid = np.linspace(-1.0, 1.0, 200)
    return OverfitProblem(X, y, Xv, yv, grid, np.sin(np.pi * grid), noise)


def overfit_model(dropout: float = 0.0, jitter: float = 0.0, hidden: int = 32, seed: int = 0) -> Sequential:
    """1-hidden-hidden-1 tanh network; optional Jitter on the input and Dropout after each
    hidden layer. The initial weights depend only on ``seed``, so every regularizer starts
    from the same network."""
    check_in_range(dropout, "dropout", "overfit_model", 0.0, 1.0)
    rng = np.random.default_rng(seed)
    l1, l2, l3 = Linear(1, hidden, rng=rng), Linear(hidden, hidden, rng=rng), Linear(hidden, 1, rng=rng)
    layers = [Jitter(jitter, rng=seed + 1)] if jitter > 0 else []
    layers += [l1, Tanh()] + ([Dropout(dropout)] if dropout > 0 else [])
    layers += [l2, Tanh()] + ([Dropout(dropout)] if dropout > 0 else [])
    layers += [l3]
    return Sequential(*layers)


@dataclass
class FitResult:
    """Shape: ``curve`` ``(200,)`` on the problem's grid; curves per epoch in ``history``."""

    model: Sequential
    history: object
    curve: np.ndarray
    train_mse: float
    val_mse: float


def train_overfit(problem: OverfitProblem, *, weight_decay: float = 0.0, dropout: float = 0.0,
                  jitter: float = 0.0, epochs: int = 300, lr: float = 0.02, seed: int = 0,
                  patience: int | None = None, track_validation: bool = True) -> FitResult:
    """Full-batch Adam on the overfitting problem with one or more regularizers.

    ``weight_decay`` is nnlib's coupled L2 (it adds wd·θ to every gradient, biases included,
    which is the gradient of (wd/2)·‖θ‖²). ``patience`` turns on early stopping with
    ``restore_best`` (it needs the validation curve). ``track_validation=False`` skips the
    per-epoch validation pass (a third of the time) when only the end result is wanted.
    Train and validation MSE are measured afterwards in eval mode.
    """
    if patience is not None and not track_validation:
        raise ValueError("train_overfit: argument 'patience' needs track_validation=True")
    check_positive(weight_decay, "weight_decay", "train_overfit", allow_zero=True)
    check_positive(jitter, "jitter", "train_overfit", allow_zero=True)
    model = overfit_model(dropout=dropout, jitter=jitter, seed=seed)
    opt = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    stop = EarlyStopping(patience=patience, restore_best=True) if patience is not None else None
    validation = (problem.X_val, problem.y_val) if track_validation else None
    history = fit(model, MSELoss(), opt, problem.X, problem.y, epochs=epochs, batch_size=len(problem.X),
                  validation=validation, seed=seed, progress=False, early_stopping=stop)
    train_mse = float(np.mean((predict(model, problem.X) - problem.y) ** 2))
    val_mse = float(np.mean((predict(model, problem.X_val) - problem.y_val) ** 2))
    curve = predict(model, problem.x_grid[:, None])[:, 0]
    return FitResult(model, history, curve, train_mse, val_mse)


def patience_rule(val_losses, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    """The epochs an early-stopping rule picks on a validation curve.

    An epoch improves when its loss is below the best so far by more than ``min_delta``;
    training stops after ``patience`` epochs in a row without improvement.

    Returns ``(best_epoch, stop_epoch)``, both 1-based; ``stop_epoch`` is the last epoch
    of the curve when the rule never fires.
    """
    v = check_array(val_losses, "val_losses", "patience_rule", ndim=1, finite=True)
    check_positive(patience, "patience", "patience_rule", integer=True)
    check_positive(min_delta, "min_delta", "patience_rule", allow_zero=True)
    if len(v) == 0:
        raise ValueError("patience_rule: argument 'val_losses' is empty; expected at least one epoch")
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, value in enumerate(v, start=1):
        if value < best - min_delta:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(v)


def early_stopping_dashboard(history, initial: int = 20):
    """Patience slider over one long run's curves: where the rule stops and which epoch's
    weights it restores."""
    import ipywidgets as W

    train, val = np.asarray(history["loss"]), np.asarray(history["val_loss"])
    epochs = np.arange(1, len(val) + 1)
    fig, ax = viz.figure(figsize=(10, 4.8))
    ax.semilogy(epochs, train, color=viz.BLUE, label="training MSE")
    ax.semilogy(epochs, val, color=viz.ORANGE, label="validation MSE")
    stop_line = ax.axvline(1, color=viz.VERMILLION, lw=2, ls="--", label="stops here")
    (best_pt,) = ax.plot([], [], "*", ms=18, color=viz.GREEN, mec=viz.BLACK, label="weights restored")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error (log)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    live = None  # built after the first update, so the figure is rendered once
    livefig = fig
    slider = W.IntSlider(value=initial, min=1, max=100, description="patience (epochs)",
                         style={"description_width": "130px"}, layout=W.Layout(width="480px"))
    caption = W.HTML()

    def redraw(*_):
        best, stop = patience_rule(val, slider.value)
        stop_line.set_xdata([stop, stop])
        best_pt.set_data([best], [val[best - 1]])
        ax.set_title(f"Patience {slider.value}: stop after epoch {stop}, keep epoch {best}")
        if live is not None:
            live.redraw(key=slider.value)
        caption.value = viz.message(
            f"stops after epoch {stop} of {len(val)}; restores epoch {best} "
            f"(validation MSE {val[best - 1]:.4g}; at the end of the full run: {val[-1]:.4g})")

    slider.observe(redraw, names="value")
    redraw()
    # blit: the two curves and the axes are rendered once; a move redraws the markers and title
    live = viz.LiveFigure(livefig, animated=[stop_line, best_pt, ax.title, ax.get_legend()])
    box = W.VBox([slider, caption, live.output])
    box.live = live
    return box


# ============================================================================================
# Regularization grid
# ============================================================================================
REG_GRID: dict[str, tuple] = {
    "L2 weight decay": (0.0, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    "dropout rate p": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "jitter σ": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
}
_REG_ARG = {"L2 weight decay": "weight_decay", "dropout rate p": "dropout", "jitter σ": "jitter"}


def regularization_grid(problem: OverfitProblem, grid: dict | None = None, epochs: int = 300) -> dict:
    """One fit per (regularizer, strength); the three zero strengths share one fit.

    Returns ``{(kind, value): FitResult}``, the cache the regularization slider reads.
    """
    grid = REG_GRID if grid is None else grid
    for kind in grid:
        if kind not in _REG_ARG:
            raise ValueError(f"regularization_grid: unknown regularizer {kind!r}; expected one of {list(_REG_ARG)}")
    plain = train_overfit(problem, epochs=epochs, track_validation=False)
    out = {}
    for kind, values in grid.items():
        for v in values:
            out[(kind, v)] = plain if v == 0 else train_overfit(
                problem, epochs=epochs, track_validation=False, **{_REG_ARG[kind]: v})
    return out


def regularization_table(cache: dict, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(strengths, train MSE, validation MSE) of one regularizer, in increasing strength."""
    values = sorted(v for k, v in cache if k == kind)
    if not values:
        raise ValueError(f"regularization_table: argument 'kind' must be one of "
                         f"{sorted({k for k, _ in cache})}, got {kind!r}")
    return (np.array(values), np.array([cache[(kind, v)].train_mse for v in values]),
            np.array([cache[(kind, v)].val_mse for v in values]))


def regularization_dashboard(problem: OverfitProblem, cache: dict, kind: str = "L2 weight decay"):
    """Regularizer dropdown and strength slider over the cached grid: the fitted function
    (left) and train/validation MSE against strength (right). Nothing trains on a redraw."""
    import ipywidgets as W

    kinds = sorted({k for k, _ in cache}, key=list(REG_GRID).index)
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(13, 4.8))
    ax.plot(problem.X_val[:, 0], problem.y_val[:, 0], ".", color="0.7", ms=6, label="validation data")
    ax.plot(problem.X[:, 0], problem.y[:, 0], "o", color=viz.BLACK, ms=6, label="training data")
    ax.plot(problem.x_grid, problem.truth, "--", color=viz.GREEN, lw=2, label="true sin(πx)")
    (fit_line,) = ax.plot([], [], color=viz.VERMILLION, lw=2.5, label="network")
    ax.set_ylim(-2, 2)
    ax.set_xlabel("input x")
    ax.set_ylabel("output")
    ax.legend(loc="lower right", fontsize=11)
    (tr_line,) = ax2.plot([], [], "o-", color=viz.BLUE, label="training MSE")
    (va_line,) = ax2.plot([], [], "s-", color=viz.ORANGE, label="validation MSE")
    ax2.axhline(problem.noise**2, color="0.5", ls=":", label="noise floor σ²")
    (mark,) = ax2.plot([], [], "o", ms=16, mfc="none", mec=viz.VERMILLION, mew=2.5)
    ax2.set_yscale("log")
    ax2.set_ylabel("mean squared error (log)")
    ax2.legend(loc="upper left", fontsize=11)
    fig.tight_layout()
    live = None  # built after the first update, so the figure is rendered once
    livefig = fig
    style = {"description_width": "110px"}
    kind_w = W.Dropdown(options=kinds, value=kind, description="regularizer", style=style)
    value_w = W.SelectionSlider(options=sorted(v for k, v in cache if k == kind), description="strength",
                                style=style, layout=W.Layout(width="500px"))
    caption = W.HTML()
    busy = {"flag": False}
    shown = {"kind": None}  # the regularizer the static background was rendered for

    def redraw(*_):
        if busy["flag"]:
            return
        k, v = kind_w.value, value_w.value
        values, tr, va = regularization_table(cache, k)
        pos = np.arange(len(values))
        tr_line.set_data(pos, tr)
        va_line.set_data(pos, va)
        i = int(np.flatnonzero(values == v)[0])
        mark.set_data([pos[i], pos[i]], [tr[i], va[i]])
        ax2.set_xticks(pos, [f"{x:g}" for x in values])
        ax2.set_xlim(-0.5, len(values) - 0.5)
        ax2.set_ylim(min(tr.min(), problem.noise**2) / 2, max(va.max(), problem.noise**2) * 2)
        ax2.set_xlabel(k)
        fit_line.set_data(problem.x_grid, cache[(k, v)].curve)
        ax.set_title(f"{k} = {v:g}")
        ax2.set_title("Error against strength")
        if live is not None:
            # another regularizer changes the static curves and ticks of the right panel
            live.redraw(full=k != shown["kind"], key=(k, v))
        shown["kind"] = k
        res = cache[(k, v)]
        caption.value = viz.message(f"{k} = {v:g}: training MSE {res.train_mse:.4g}, "
                                    f"validation MSE {res.val_mse:.4g}")

    def on_kind(change):
        busy["flag"] = True
        value_w.options = sorted(v for k, v in cache if k == change["new"])
        value_w.value = value_w.options[0]
        busy["flag"] = False
        redraw()

    kind_w.observe(on_kind, names="value")
    value_w.observe(redraw, names="value")
    redraw()
    # blit: data, error curves and axes are rendered once per regularizer; a strength move
    # redraws the fitted curve, the ring and the title
    live = viz.LiveFigure(livefig, animated=[fit_line, mark, ax.title, ax.get_legend()])
    box = W.VBox([W.HBox([kind_w, value_w]), caption, live.output])
    box.live = live
    return box


# ============================================================================================
# Dropout: Monte Carlo average of training-mode passes against the eval-mode network
# ============================================================================================
def mc_dropout_mean(model: Module, X, passes: int = 2000, seed: int = 0) -> np.ndarray:
    """Average of ``passes`` training-mode forward passes (fresh dropout masks each time).

    With inverted dropout each masked unit is scaled by 1/(1-p), so the expected input of
    the next Linear layer equals the eval-mode one; after a nonlinearity the average is only
    close to the eval output, not equal. The model's Dropout generators are reseeded from
    ``seed`` and the model is left in eval mode.

    Shape: ``X`` ``(N, d)``; returns the model's output shape.
    """
    X = check_array(X, "X", "mc_dropout_mean", min_ndim=2, finite=True)
    check_positive(passes, "passes", "mc_dropout_mean", integer=True)
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (Dropout, Jitter)):
            m.rng = np.random.default_rng(rng.integers(2**63))
    model.train()
    try:
        total = model(X).astype(np.float64)
        for _ in range(passes - 1):
            total += model(X)
    finally:
        model.eval()
    return total / passes


# ============================================================================================
# Exercise checker
# ============================================================================================
def check_stop_epoch(answer, val_losses, patience: int) -> str:
    """Exercise: after which epoch does early stopping with ``patience`` stop on this
    validation curve? Returns "Right. ..." or "Not yet. Hint: ...", never the answer."""
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        raise ValueError(f"check_stop_epoch: argument 'answer' must be an integer epoch, got {answer!r}")
    _, stop = patience_rule(val_losses, patience)
    if int(answer) == stop:
        return "Right. Training ends that many epochs after the last improvement."
    return ("Not yet. Hint: walk through the epochs keeping the lowest validation loss so far; "
            f"training stops at the first epoch that completes {patience} epochs in a row "
            "without beating it.")
