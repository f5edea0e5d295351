"""Notebook 04, part 1: optimizers on 2-D loss surfaces.

Every trajectory here is produced by ``nnlib.optim`` itself: the point ``(x, y)`` is a
2-vector ``Parameter``, its ``.grad`` is set from the surface's analytic gradient, then
``opt.step()`` moves it. The lecture's own variants of the rules (momentum on the previous
gradient, RMSProp without ε, Adam without bias correction) are written below as small
optimizers with the same interface, so the two can be run side by side and compared.

What the notebook calls:

- ``SURFACES``, ``critical_points``: the loss surfaces and their minima and saddles;
- ``run_optimizer``, ``race``, ``race_summary``, ``PRESETS``, ``race_dashboard``: the race;
- ``NotesMomentum``, ``NotesRMSProp``, ``NotesAdam`` and the ``compare_*`` helpers;
- ``regression_problem``, ``minibatch_path``, ``gradient_noise``, ``minibatch_dashboard``;
- ``lr_schedule``, ``train_with_schedule``, ``clipping_demo``;
- the exercise checkers ``check_*``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .. import optim, viz
from .._validation import check_array, check_in_range, check_positive
from ..module import Parameter

# A coordinate beyond this is "gone": the optimizer diverged (and floats would overflow next).
BLOWUP = 1e6


# ============================================================================================
# Loss surfaces
# ============================================================================================
@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface with its analytic gradient and Hessian.

    Attributes
    ----------
    key, title : str
    f : callable ``(x, y) -> value``, vectorised over arrays of any (equal) shape
    grad : callable ``(x, y) -> (df/dx, df/dy)``
    hess : callable ``(x, y) -> 2x2 ndarray`` at one point
    xlim, ylim : (float, float), the plotted window
    start : (float, float), the default starting point
    guesses : points from which Newton's method finds every critical point in the window

    Shape
    -----
    ``value(p)`` takes ``p`` of shape ``(..., 2)`` and returns shape ``(...)``.
    """

    key: str
    title: str
    f: Callable
    grad: Callable
    hess: Callable
    xlim: tuple
    ylim: tuple
    start: tuple
    guesses: tuple = ()

    def value(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        return self.f(p[..., 0], p[..., 1])

    def gradient(self, p) -> np.ndarray:
        gx, gy = self.grad(p[0], p[1])
        return np.array([gx, gy], dtype=np.float64)


# f = ½(x² + 20 y²): curvature 1 along x, 20 along y, condition number 20.
RAVINE_CURVATURES = (1.0, 20.0)


def _ravine():
    a, b = RAVINE_CURVATURES
    return Surface(
        key="ravine",
        title=f"ill-conditioned quadratic ½({a:g}x² + {b:g}y²)",
        f=lambda x, y: 0.5 * (a * x * x + b * y * y),
        grad=lambda x, y: (a * x, b * y),
        hess=lambda x, y: np.array([[a, 0.0], [0.0, b]]),
        xlim=(-5.0, 5.0),
        ylim=(-2.0, 2.0),
        start=(-4.5, 1.5),
        guesses=((0.0, 0.0),),
    )


def _rosenbrock():
    # (1 - x)² + 100 (y - x²)²: a curved, flat-bottomed valley; minimum 0 at (1, 1)
    return Surface(
        key="rosenbrock",
        title="Rosenbrock (1-x)² + 100(y-x²)²",
        f=lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
        grad=lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
        hess=lambda x, y: np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]]),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        start=(-1.2, 1.0),
        guesses=((1.0, 1.0),),
    )


def _four_wells():
    # (x²-1)² + (y²-1)² tilted by 0.3x + 0.2y: four minima of different depths,
    # four saddles between them, one maximum near the origin.
    return Surface(
        key="wells",
        title="four wells (x²-1)² + (y²-1)² + 0.3x + 0.2y",
        f=lambda x, y: (x * x - 1) ** 2 + (y * y - 1) ** 2 + 0.3 * x + 0.2 * y,
        grad=lambda x, y: (4 * x * (x * x - 1) + 0.3, 4 * y * (y * y - 1) + 0.2),
        hess=lambda x, y: np.array([[12 * x * x - 4, 0.0], [0.0, 12 * y * y - 4]]),
        xlim=(-2.0, 2.0),
        ylim=(-2.0, 2.0),
        start=(1.8, 1.6),
        guesses=tuple((gx, gy) for gx in (-1.0, 0.0, 1.0) for gy in (-1.0, 0.0, 1.0)),
    )


def _quartic_wall():
    # ¼x⁴ + ½y²: the gradient grows like x³, so far from the minimum one step can explode
    return Surface(
        key="wall",
        title="steep quartic wall ¼x⁴ + ½y²",
        f=lambda x, y: 0.25 * x**4 + 0.5 * y * y,
        grad=lambda x, y: (x**3, y),
        hess=lambda x, y: np.array([[3 * x * x, 0.0], [0.0, 1.0]]),
        xlim=(-7.0, 7.0),
        ylim=(-4.0, 4.0),
        start=(6.0, 3.0),
        guesses=((0.0, 0.0),),
    )


SURFACES: dict[str, Surface] = {s.key: s for s in (_ravine(), _rosenbrock(), _four_wells(), _quartic_wall())}
RACE_SURFACES = ("ravine", "rosenbrock", "wells")


def get_surface(key) -> Surface:
    """The surface named ``key`` (one of ``SURFACES``); a clear ValueError otherwise."""
    if isinstance(key, Surface):
        return key
    if key not in SURFACES:
        raise ValueError(f"get_surface: argument 'key' must be one of {sorted(SURFACES)}, got {key!r}")
    return SURFACES[key]


@dataclass(frozen=True)
class CriticalPoint:
    point: tuple
    value: float
    kind: str  # "minimum", "saddle" or "maximum", from the signs of the Hessian's eigenvalues
    eigenvalues: tuple


def critical_points(surface, tol: float = 1e-10) -> list[CriticalPoint]:
    """Every point where the gradient vanishes, found by Newton's method from the surface's
    guesses and classified by the Hessian (both eigenvalues > 0: minimum; signs differ: saddle).

    Returns the points sorted by value, lowest first.
    """
    s = get_surface(surface)
    found: list[CriticalPoint] = []
    for guess in s.guesses:
        p = np.array(guess, dtype=np.float64)
        for _ in range(100):
            g = s.gradient(p)
            if np.linalg.norm(g) < tol:
                break
            p = p - np.linalg.solve(s.hess(*p), g)
        if np.linalg.norm(s.gradient(p)) > 1e-8:
            continue
        if any(np.allclose(p, c.point, atol=1e-6) for c in found):
            continue
        eig = np.linalg.eigvalsh(s.hess(*p))
        # a zero eigenvalue (the quartic wall's flat bottom) is counted with the positive ones
        kind = "minimum" if eig.min() >= -1e-12 else ("maximum" if eig.max() < 0 else "saddle")
        found.append(CriticalPoint(tuple(float(v) for v in p), float(s.value(p)), kind,
                                   tuple(float(e) for e in eig)))
    return sorted(found, key=lambda c: c.value)


def global_minimum(surface) -> CriticalPoint:
    return [c for c in critical_points(surface) if c.kind == "minimum"][0]


# ============================================================================================
# The lecture's forms of the rules, as optimizers with nnlib.optim's interface
# ============================================================================================
class _NotesOptimizer:
    def __init__(self, params, lr: float):
        owner = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{owner}: argument 'params' is empty; expected at least one Parameter")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{owner}: argument 'params'[{i}] must be a Parameter, got {type(p).__name__}")
        self.lr = float(check_positive(lr, "lr", owner))
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)


class NotesMomentum(_NotesOptimizer):
    r"""The lecture's "momentum": :math:`W_{t+1} = W_t - \eta(\beta G_{t-1} + G_t)`.

    Only the one previous gradient is added back, so on a constant slope the step grows to
    (1+β)·η·g at most; heavy-ball momentum (``nnlib.optim.SGD(momentum=β)``) sums all past
    gradients geometrically and reaches η·g/(1-β).

    Shape: each parameter keeps a previous-gradient array of its own shape.
    """

    def __init__(self, params, lr: float, beta: float = 0.9):
        super().__init__(params, lr)
        self.beta = float(check_in_range(beta, "beta", "NotesMomentum", 0.0, 1.0))
        self.prev = [np.zeros_like(p.value) for p in self.params]  # G_{-1} = 0

    def step(self) -> None:
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad.copy()
            p.value -= self.lr * (self.beta * self.prev[i] + g)
            self.prev[i] = g


class NotesRMSProp(_NotesOptimizer):
    r"""The lecture's RMSProp: :math:`S_t = \beta S_{t-1} + (1-\beta) G_t^2`,
    :math:`W_{t+1} = W_t - \eta\, G_t / \sqrt{S_t}` — no ε, so a coordinate whose gradient has
    always been exactly zero computes 0/0. ``eps > 0`` gives ``nnlib.optim.RMSProp``'s rule,
    ``g / (sqrt(S) + eps)``.

    Shape: each parameter keeps an S array of its own shape.
    """

    def __init__(self, params, lr: float, beta: float = 0.99, eps: float = 0.0):
        super().__init__(params, lr)
        self.beta = float(check_in_range(beta, "beta", "NotesRMSProp", 0.0, 1.0))
        self.eps = float(check_positive(eps, "eps", "NotesRMSProp", allow_zero=True))
        self.s = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad
            self.s[i] = self.beta * self.s[i] + (1 - self.beta) * g * g
            with np.errstate(invalid="ignore", divide="ignore"):
                p.value -= self.lr * g / (np.sqrt(self.s[i]) + self.eps)


class NotesAdam(_NotesOptimizer):
    r"""The lecture's Adam: :math:`M_t = \beta_1 M_{t-1} + (1-\beta_1)G_t`,
    :math:`S_t = \beta_2 S_{t-1} + (1-\beta_2)G_t^2`,
    :math:`W_{t+1} = W_t - \eta\,\frac{M_t/(1-\beta_1^t)}{\sqrt{S_t/(1-\beta_2^t)}}`.

    ``bias_correction=False`` drops the two divisions by ``1 - β^t`` (the form before the
    Adam paper's correction); ``eps`` is added to the square root as nnlib's Adam does.

    Shape: each parameter keeps M and S arrays of its own shape.
    """

    def __init__(self, params, lr: float, betas=(0.9, 0.999), bias_correction: bool = True,
                 eps: float = 0.0):
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"NotesAdam: argument 'betas' must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (float(check_in_range(b1, "betas[0]", "NotesAdam", 0.0, 1.0)),
                      float(check_in_range(b2, "betas[1]", "NotesAdam", 0.0, 1.0)))
        self.bias_correction = bool(bias_correction)
        self.eps = float(check_positive(eps, "eps", "NotesAdam", allow_zero=True))
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.s = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            g = p.grad
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.s[i] = b2 * self.s[i] + (1 - b2) * g * g
            m, s = self.m[i], self.s[i]
            if self.bias_correction:
                m, s = m / (1 - b1**self.t), s / (1 - b2**self.t)
            with np.errstate(invalid="ignore", divide="ignore"):
                p.value -= self.lr * m / (np.sqrt(s) + self.eps)


# ============================================================================================
# Running an optimizer on a surface
# ============================================================================================
@dataclass
class Trajectory:
    """Where an optimizer went.

    Attributes
    ----------
    label : str
    path : ndarray ``(k + 1, 2)``, the start and every finite point visited
    losses : ndarray ``(k + 1,)``, the surface's value along the path
    diverged_at : int or None, the step whose result was non-finite or beyond ``BLOWUP``
    grad_norms : ndarray ``(k,)``, the gradient norm fed to each step (before any clipping)
    """

    label: str
    path: np.ndarray
    losses: np.ndarray
    diverged_at: int | None = None
    grad_norms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def final(self) -> np.ndarray:
        return self.path[-1]

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


def run_optimizer(surface, make_optimizer, steps: int, start=None, label: str = "",
                  max_norm: float | None = None) -> Trajectory:
    """Run ``steps`` optimizer steps on a surface, starting at ``start``.

    Parameters
    ----------
    surface : Surface or key of ``SURFACES``
    make_optimizer : callable ``[Parameter] -> optimizer`` (e.g. ``lambda ps: optim.Adam(ps, lr=0.1)``)
    steps : int >= 1
    start : (2,) array-like, default the surface's start
    label : str
    max_norm : float, optional; clip the gradient with ``nnlib.optim.clip_grad_norm_`` first

    Returns
    -------
    Trajectory. A run that diverges stops at the first non-finite or huge point;
    ``diverged_at`` says at which step, and no warning or exception escapes.

    Shape
    -----
    ``path`` is ``(k + 1, 2)`` with k <= steps.
    """
    s = get_surface(surface)
    check_positive(steps, "steps", "run_optimizer", integer=True)
    start = s.start if start is None else start
    start = check_array(start, "start", "run_optimizer", shape=(2,), finite=True).astype(np.float64)
    if max_norm is not None:
        check_positive(max_norm, "max_norm", "run_optimizer")
    p = Parameter(start.copy(), name="xy")
    opt = make_optimizer([p])
    path, norms, diverged = [p.value.copy()], [], None
    # The loop works on Python floats where it can: a slider redraw runs four of these
    # with up to 500 steps each, and numpy's per-call overhead on 2-vectors dominates.
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            opt.zero_grad()
            try:
                gx, gy = s.grad(float(p.value[0]), float(p.value[1]))
            except OverflowError:
                diverged = t
                break
            p.grad[0] += gx  # what a backward pass would accumulate
            p.grad[1] += gy
            norm = math.hypot(gx, gy)
            norms.append(norm)
            if not math.isfinite(norm):
                diverged = t
                break
            if max_norm is not None:
                optim.clip_grad_norm_([p], max_norm)
            opt.step()
            x, y = float(p.value[0]), float(p.value[1])
            if not (abs(x) <= BLOWUP and abs(y) <= BLOWUP):  # also catches NaN
                diverged = t
                break
            path.append(p.value.copy())
        path = np.array(path)
        losses = s.value(path)
    return Trajectory(label, path, losses, diverged, np.array(norms))


# ============================================================================================
# The race: SGD, momentum, RMSProp and Adam on one surface
# ============================================================================================
RACERS = ("SGD", "momentum", "RMSProp", "Adam")
RACER_COLORS = {"SGD": viz.BLUE, "momentum": viz.ORANGE, "RMSProp": viz.GREEN, "Adam": viz.BLACK}


@dataclass(frozen=True)
class RaceSettings:
    """Everything that determines a race (a preset is one of these).

    ``lr_sgd`` drives SGD and momentum, whose step is lr × gradient; ``lr_adaptive`` drives
    RMSProp and Adam, whose step is about lr per coordinate whatever the gradient's size —
    one shared learning rate would favour one family by construction.
    """

    surface: str = "ravine"
    lr_sgd: float = 0.09
    momentum: float = 0.6
    lr_adaptive: float = 0.1
    alpha: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    steps: int = 100

    def validated(self) -> RaceSettings:
        owner = "RaceSettings"
        get_surface(self.surface)
        check_positive(self.lr_sgd, "lr_sgd", owner)
        check_positive(self.lr_adaptive, "lr_adaptive", owner)
        check_in_range(self.momentum, "momentum", owner, 0.0, 1.0)
        check_in_range(self.alpha, "alpha", owner, 0.0, 1.0)
        check_in_range(self.beta1, "beta1", owner, 0.0, 1.0)
        check_in_range(self.beta2, "beta2", owner, 0.0, 1.0)
        check_positive(self.steps, "steps", owner, integer=True)
        return self


def race_optimizers(settings: RaceSettings) -> dict[str, Callable]:
    """The four optimizer factories of a race, all from ``nnlib.optim``."""
    st = settings
    return {
        "SGD": lambda ps: optim.SGD(ps, lr=st.lr_sgd),
        "momentum": lambda ps: optim.SGD(ps, lr=st.lr_sgd, momentum=st.momentum),
        "RMSProp": lambda ps: optim.RMSProp(ps, lr=st.lr_adaptive, alpha=st.alpha),
        "Adam": lambda ps: optim.Adam(ps, lr=st.lr_adaptive, betas=(st.beta1, st.beta2)),
    }


def race(settings: RaceSettings | None = None, **overrides) -> dict[str, Trajectory]:
    """Run the four racers with ``settings`` (default ``RaceSettings()``), fields overridable
    by keyword: ``race(surface="rosenbrock", steps=500)``.

    Returns ``{racer: Trajectory}`` in the order of ``RACERS``.
    """
    st = replace(settings or RaceSettings(), **overrides).validated()
    return {name: run_optimizer(st.surface, make, st.steps, label=name)
            for name, make in race_optimizers(st).items()}


def race_summary(trajectories: dict[str, Trajectory], surface) -> str:
    """One plain line per racer: its final loss and distance to the global minimum, or the
    step where it diverged and what to do about it."""
    s = get_surface(surface)
    best = global_minimum(s)
    lines = []
    for name, tr in trajectories.items():
        if tr.diverged_at is not None:
            lines.append(f"{name}: diverged at step {tr.diverged_at} — the learning rate is too "
                         "high for this surface; lower it")
        elif tr.final_loss > tr.losses[0]:
            lines.append(f"{name}: the loss grew from {tr.losses[0]:.4g} to {tr.final_loss:.4g} in "
                         f"{len(tr.path) - 1} steps — heading for divergence; lower the learning rate")
        else:
            dist = float(np.linalg.norm(tr.final - np.array(best.point)))
            lines.append(f"{name}: loss {tr.final_loss:.4g} after {len(tr.path) - 1} steps, "
                         f"{dist:.3g} from the global minimum")
    return "\n".join(lines)


PRESETS: dict[str, RaceSettings] = {
    "ravine (default)": RaceSettings(),
    "too high a learning rate": RaceSettings(surface="ravine", lr_sgd=0.12, momentum=0.5, steps=100),
    "momentum overshoots": RaceSettings(surface="ravine", lr_sgd=0.02, momentum=0.95, steps=150),
    "Adam on a ravine": RaceSettings(surface="rosenbrock", lr_sgd=0.001, momentum=0.5,
                                     lr_adaptive=0.1, alpha=0.9, beta2=0.99, steps=500),
    "momentum escapes a local minimum": RaceSettings(surface="wells", lr_sgd=0.02, momentum=0.9,
                                                     lr_adaptive=0.05, steps=150),
}


def preset(name: str) -> RaceSettings:
    """The settings of a named instructor preset (see ``PRESETS``)."""
    if name not in PRESETS:
        raise ValueError(f"preset: argument 'name' must be one of {list(PRESETS)}, got {name!r}")
    return PRESETS[name]


# ---- drawing ---------------------------------------------------------------------------------
def _contour_grid(s: Surface, n: int = 160):
    xs = np.linspace(*s.xlim, n)
    ys = np.linspace(*s.ylim, n)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, s.f(X, Y)


def draw_contours(ax, surface, n_levels: int = 14):
    """Log-spaced contour lines of f - f_min over the surface's window, minima as stars,
    saddles as crosses."""
    s = get_surface(surface)
    X, Y, Z = _contour_grid(s)
    fmin = global_minimum(s).value
    gap = Z - fmin
    levels = np.geomspace(max(np.quantile(gap, 0.002), 1e-3), np.quantile(gap, 0.98), n_levels)
    ax.contour(X, Y, gap, levels=levels, colors="0.6", linewidths=1.0)
    for c in critical_points(s):
        if c.kind == "minimum":
            ax.plot(*c.point, marker="*", ms=18, mfc=viz.YELLOW, mec=viz.BLACK, ls="none")
        elif c.kind == "saddle":
            ax.plot(*c.point, marker="x", ms=10, mew=2, color="0.3", ls="none")
    ax.set_xlim(*s.xlim)
    ax.set_ylim(*s.ylim)
    ax.set_xlabel("parameter $w_1$")
    ax.set_ylabel("parameter $w_2$")
    ax.set_title(s.title, fontsize=13)
    ax.grid(False)


class RaceFigure:
    """Contours with four trajectories (left) and the loss gap against step (right).

    ``update(trajectories, surface)`` moves the existing lines; contours are redrawn only
    when the surface changes.
    """

    def __init__(self, surface="ravine"):
        self.fig, (self.ax, self.ax_loss) = viz.figure(1, 2, figsize=(12, 4.8),
                                                       gridspec_kw={"width_ratios": [1.25, 1]})
        self.surface = None
        self.lines, self.loss_lines = {}, {}
        for name in RACERS:
            (self.loss_lines[name],) = self.ax_loss.plot([], [], color=RACER_COLORS[name], label=name)
        # log10 of the gap on a linear axis: the same picture as a log axis, and much
        # cheaper to render on every slider move (no minor-tick machinery)
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("log₁₀(loss − minimum loss)")
        self.ax_loss.set_title("Loss gap against step")
        self.ax_loss.legend(loc="lower left")
        self._set_surface(surface)
        self.fig.tight_layout()

    def _set_surface(self, surface):
        s = get_surface(surface)
        if s.key == self.surface:
            return
        self.ax.clear()
        draw_contours(self.ax, s)
        self.lines = {name: self.ax.plot([], [], "-", lw=1.8, color=RACER_COLORS[name],
                                         label=name)[0] for name in RACERS}
        (self.start,) = self.ax.plot(*s.start, marker="o", ms=11, mfc="white", mec=viz.BLACK, mew=2, ls="none")
        self.surface = s.key
        self.fmin = global_minimum(s).value

    def update(self, trajectories: dict[str, Trajectory], surface) -> None:
        self._set_surface(surface)
        steps = 1
        lo, hi = np.inf, -np.inf
        for name, tr in trajectories.items():
            line = self.lines[name]
            line.set_data(tr.path[:, 0], tr.path[:, 1])
            # dots show the individual steps while there are few enough to see
            line.set_marker("o" if len(tr.path) <= 160 else "")
            line.set_markersize(3)
            gap = np.log10(np.maximum(tr.losses - self.fmin, 1e-12))
            self.loss_lines[name].set_data(np.arange(len(gap)), gap)
            steps = max(steps, len(gap) - 1)
            lo, hi = min(lo, gap.min()), max(hi, gap.max())
        self.ax_loss.set_xlim(0, steps)
        # limits snapped to even decades: most slider moves keep them, so LiveFigure can keep
        # the rendered axes and redraw only the lines
        self.ax_loss.set_ylim(2 * np.floor((lo - 0.5) / 2), 2 * np.ceil((min(hi, 12.0) + 0.5) / 2))

    def animated_artists(self) -> list:
        """What a slider move changes: the trajectories, the loss curves (legend on top)."""
        return [*self.lines.values(), self.start, *self.loss_lines.values(), self.ax_loss.get_legend()]


def race_dashboard(initial: str = "ravine (default)"):
    """The race as a widget: preset and surface dropdowns, sliders for both learning rates
    (log scale), momentum β, RMSProp's α, Adam's β1/β2 and the number of steps.

    Every redraw recomputes the four trajectories with nnlib.optim (a few ms) and moves the
    existing artists; diverging settings end in a message, never a traceback.
    """
    import ipywidgets as W

    st = preset(initial)
    style = {"description_width": "150px"}
    lay = W.Layout(width="420px")
    presets = W.Dropdown(options=list(PRESETS), value=initial, description="preset", style=style, layout=lay)
    surface = W.Dropdown(options=[(get_surface(k).title, k) for k in RACE_SURFACES], value=st.surface,
                         description="surface", style=style, layout=lay)
    controls = {
        "lr_sgd": W.FloatLogSlider(value=st.lr_sgd, base=10, min=-4, max=0, step=0.05,
                                   description="lr (SGD, momentum)", readout_format=".3g", style=style, layout=lay),
        "momentum": W.FloatSlider(value=st.momentum, min=0.0, max=0.99, step=0.01,
                                  description="momentum β", style=style, layout=lay),
        "lr_adaptive": W.FloatLogSlider(value=st.lr_adaptive, base=10, min=-3, max=0.5, step=0.05,
                                        description="lr (RMSProp, Adam)", readout_format=".3g",
                                        style=style, layout=lay),
        "alpha": W.FloatSlider(value=st.alpha, min=0.0, max=0.999, step=0.001, readout_format=".3f",
                               description="RMSProp α", style=style, layout=lay),
        "beta1": W.FloatSlider(value=st.beta1, min=0.0, max=0.99, step=0.01,
                               description="Adam β1", style=style, layout=lay),
        "beta2": W.FloatSlider(value=st.beta2, min=0.5, max=0.9999, step=0.0001, readout_format=".4f",
                               description="Adam β2", style=style, layout=lay),
        "steps": W.IntSlider(value=st.steps, min=10, max=500, step=10,
                             description="steps", style=style, layout=lay),
    }
    msg = W.HTML()
    fig = RaceFigure(st.surface)
    live = None  # built after the first update, so the figure is rendered once
    livefig = fig.fig
    busy = {"flag": False}

    def redraw(*_):
        if busy["flag"]:
            return
        values = {k: w.value for k, w in controls.items()}
        try:
            settings = RaceSettings(surface=surface.value, **values).validated()
            trajs = race(settings)
        except ValueError as err:  # an impossible combination: say so in words
            msg.value = viz.message(str(err), "warn")
            return
        rebuilt = fig.surface != get_surface(settings.surface).key  # a new surface clears the contour axes
        fig.update(trajs, settings.surface)
        if live is not None:
            if rebuilt:
                live.set_animated(fig.animated_artists())
            live.redraw()
        text = race_summary(trajs, settings.surface).replace("\n", "<br>")
        level = "warn" if any(t.diverged_at for t in trajs.values()) else "info"
        msg.value = viz.message(text, level)

    def on_preset(change):
        chosen = preset(change["new"])
        busy["flag"] = True  # set every control, then draw once
        surface.value = chosen.surface
        for k, w in controls.items():
            w.value = getattr(chosen, k)
        busy["flag"] = False
        redraw()

    presets.observe(on_preset, names="value")
    surface.observe(redraw, names="value")
    for w in controls.values():
        w.observe(redraw, names="value")
    redraw()
    # blit: contours, axes and labels are rendered once (again when the loss axis' limits
    # or the surface change); a slider move redraws the eight lines
    live = viz.LiveFigure(livefig, animated=fig.animated_artists())
    panel = W.VBox([presets, surface, *controls.values(), msg])
    box = W.HBox([panel, live.output])
    box.live = live  # so a notebook can read live.last_ms
    return box


# ============================================================================================
# Notes' forms against the library's
# ============================================================================================
def constant_slope_steps(beta: float = 0.9, lr: float = 0.1, steps: int = 40,
                         g=(1.0, 0.0)) -> dict[str, np.ndarray]:
    """Step lengths of heavy-ball momentum (``nnlib.optim.SGD``) and the notes' momentum on a
    plane whose gradient is the constant ``g``.

    Returns ``{"heavy-ball": (steps,), "notes": (steps,)}``; they tend to lr·|g|/(1-β) and
    lr·|g|·(1+β).
    """
    check_in_range(beta, "beta", "constant_slope_steps", 0.0, 1.0)
    check_positive(lr, "lr", "constant_slope_steps")
    check_positive(steps, "steps", "constant_slope_steps", integer=True)
    g = check_array(g, "g", "constant_slope_steps", shape=(2,), finite=True)
    out = {}
    for name, make in (("heavy-ball", lambda ps: optim.SGD(ps, lr=lr, momentum=beta)),
                       ("notes", lambda ps: NotesMomentum(ps, lr=lr, beta=beta))):
        p = Parameter(np.zeros(2))
        opt = make([p])
        lengths = []
        for _ in range(steps):
            before = p.value.copy()
            opt.zero_grad()
            p.grad += g
            opt.step()
            lengths.append(float(np.linalg.norm(p.value - before)))
        out[name] = np.array(lengths)
    return out


def compare_forms(surface="ravine", steps: int = 100, start=None, lr_sgd: float = 0.05,
                  beta: float = 0.8, lr_adaptive: float = 0.3, alpha: float = 0.9,
                  betas=(0.9, 0.999)) -> dict[str, Trajectory]:
    """Six trajectories on one surface: the notes' momentum and heavy-ball momentum, the
    notes' RMSProp (no ε) and nnlib's, Adam with and without bias correction."""
    runs = {
        "momentum (notes)": lambda ps: NotesMomentum(ps, lr=lr_sgd, beta=beta),
        "momentum (nnlib heavy-ball)": lambda ps: optim.SGD(ps, lr=lr_sgd, momentum=beta),
        "RMSProp (notes, no ε)": lambda ps: NotesRMSProp(ps, lr=lr_adaptive, beta=alpha),
        "RMSProp (nnlib, ε=1e-8)": lambda ps: optim.RMSProp(ps, lr=lr_adaptive, alpha=alpha),
        "Adam (no bias correction)": lambda ps: NotesAdam(ps, lr=lr_adaptive, betas=betas,
                                                          bias_correction=False, eps=1e-8),
        "Adam (nnlib, corrected)": lambda ps: optim.Adam(ps, lr=lr_adaptive, betas=betas),
    }
    return {name: run_optimizer(surface, make, steps, start=start, label=name)
            for name, make in runs.items()}


def path_gap(a: Trajectory, b: Trajectory) -> float:
    """Largest distance between two trajectories at the same step (over their common steps);
    NaN when either path holds a NaN."""
    k = min(len(a.path), len(b.path))
    return float(np.max(np.linalg.norm(a.path[:k] - b.path[:k], axis=1)))


MOMENTUM_FORMS = ("sgd", "heavy-ball", "notes")


def momentum_radius(a, beta: float, form: str = "heavy-ball") -> np.ndarray:
    """How fast each rule shrinks (radius < 1) or blows up (radius > 1) the error along one
    direction of a quadratic with curvature λ, as a function of ``a = η·λ``.

    On f = ½λx² the rules are linear recursions:
    SGD ``x' = (1 - a) x``; heavy-ball ``x' = (1 + β - a) x - β x_prev``;
    the notes' form ``x' = (1 - a) x - aβ x_prev``. The radius is the largest |root| of the
    recursion's characteristic polynomial.

    Shape: ``a`` scalar or array; the result has its shape.
    """
    check_in_range(beta, "beta", "momentum_radius", 0.0, 1.0)
    a = np.asarray(a, dtype=np.float64)
    if form == "sgd":
        return np.abs(1 - a)
    if form == "heavy-ball":
        c1, c0 = -(1 + beta - a), beta * np.ones_like(a)
    elif form == "notes":
        c1, c0 = -(1 - a), a * beta
    else:
        raise ValueError(f"momentum_radius: argument 'form' must be one of {MOMENTUM_FORMS}, got {form!r}")
    disc = np.sqrt((c1 * c1 - 4 * c0).astype(np.complex128))
    return np.maximum(np.abs((-c1 + disc) / 2), np.abs((-c1 - disc) / 2))


def momentum_limit(beta: float, form: str = "heavy-ball", a_max: float = 50.0, n: int = 500_001) -> float:
    """The smallest ``a = η·λ`` at which ``momentum_radius`` reaches 1, found on a fine grid
    (so it can be compared with the closed forms 2, 2(1+β) and min(1/β, 2/(1−β)))."""
    a = np.linspace(0.0, a_max, n)[1:]
    unstable = momentum_radius(a, beta, form) >= 1 - 1e-12
    return float(a[np.argmax(unstable)]) if unstable.any() else math.inf


def adam_first_steps(lr: float = 0.1, betas=(0.9, 0.999), steps: int = 30, g=(1.0, 1.0)):
    """Per-coordinate step sizes of Adam with and without bias correction under a constant
    gradient ``g``. Returns ``{"corrected": (steps,), "uncorrected": (steps,)}``."""
    check_positive(lr, "lr", "adam_first_steps")
    check_positive(steps, "steps", "adam_first_steps", integer=True)
    g = check_array(g, "g", "adam_first_steps", shape=(2,), finite=True)
    out = {}
    for name, make in (("corrected", lambda ps: optim.Adam(ps, lr=lr, betas=betas)),
                       ("uncorrected", lambda ps: NotesAdam(ps, lr=lr, betas=betas,
                                                            bias_correction=False, eps=1e-8))):
        p = Parameter(np.zeros(2))
        opt = make([p])
        sizes = []
        for _ in range(steps):
            before = p.value[0]
            opt.zero_grad()
            p.grad += g
            opt.step()
            sizes.append(abs(float(p.value[0] - before)))
        out[name] = np.array(sizes)
    return out


# ============================================================================================
# Full-batch, stochastic and mini-batch gradient descent on one regression problem
# ============================================================================================
@dataclass(frozen=True)
class RegressionProblem:
    """y ≈ w·x + b with Gaussian noise; the loss over θ = (w, b) is a 2-D bowl.

    Shape: ``x`` and ``y`` are ``(N,)``.
    """

    x: np.ndarray
    y: np.ndarray

    def loss(self, w, b) -> np.ndarray:
        """MSE, vectorised over arrays of w and b of equal shape."""
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        r = w[..., None] * self.x + b[..., None] - self.y
        return np.mean(r * r, axis=-1)

    def per_example_grads(self, theta, idx=None) -> np.ndarray:
        """Gradient of each example's squared error: shape ``(N, 2)`` (or ``(len(idx), 2)``)."""
        x, y = (self.x, self.y) if idx is None else (self.x[idx], self.y[idx])
        r = theta[0] * x + theta[1] - y
        return np.stack([2 * r * x, 2 * r], axis=-1)

    def grad(self, theta, idx=None) -> np.ndarray:
        return self.per_example_grads(theta, idx).mean(axis=0)

    def solution(self) -> np.ndarray:
        A = np.c_[self.x, np.ones_like(self.x)]
        return np.linalg.lstsq(A, self.y, rcond=None)[0]


def regression_problem(n: int = 256, seed: int = 0) -> RegressionProblem:
    """n points x ~ U(0, 3), y = 1.5x − 1 + N(0, 0.5²). Because x is not centred, w and b
    are correlated and the bowl is a tilted ellipse."""
    check_positive(n, "n", "regression_problem", integer=True)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 3.0, n)
    y = 1.5 * x - 1.0 + 0.5 * rng.standard_normal(n)
    return RegressionProblem(x, y)


MINIBATCH_START = (-1.0, 3.0)


def minibatch_path(problem: RegressionProblem, batch_size: int, epochs: int = 4, lr: float = 0.05,
                   seed: int = 0, start=MINIBATCH_START) -> Trajectory:
    """Mini-batch SGD as in the notes: each step samples ``batch_size`` examples (without
    replacement within the batch), averages their gradients, and steps with nnlib.optim.SGD.

    The budget is fixed in *examples*, not steps: ``epochs·N`` example-gradients, so
    batch size B takes ``epochs·N/B`` steps (B = N is full-batch gradient descent, B = 1 is
    the notes' SGD).

    Shape: ``path`` is ``(epochs·N/B + 1, 2)``.
    """
    n = len(problem.x)
    check_positive(batch_size, "batch_size", "minibatch_path", integer=True)
    if batch_size > n:
        raise ValueError(f"minibatch_path: argument 'batch_size' must be <= N = {n}, got {batch_size}")
    check_positive(epochs, "epochs", "minibatch_path", integer=True)
    check_positive(lr, "lr", "minibatch_path")
    rng = np.random.default_rng(seed)
    p = Parameter(np.array(start, dtype=np.float64), name="theta")
    opt = optim.SGD([p], lr=lr)
    steps = max(1, epochs * n // batch_size)
    path = [p.value.copy()]
    for _ in range(steps):
        idx = rng.choice(n, batch_size, replace=False) if batch_size < n else None
        opt.zero_grad()
        p.grad += problem.grad(p.value, idx)
        opt.step()
        path.append(p.value.copy())
    path = np.array(path)
    return Trajectory(f"B = {batch_size}", path, problem.loss(path[:, 0], path[:, 1]))


def gradient_noise(problem: RegressionProblem, batch_size: int, theta=MINIBATCH_START,
                   draws: int = 400, seed: int = 0) -> tuple[float, float]:
    """How far a mini-batch gradient lands from the full gradient, at ``theta``.

    Returns ``(measured, predicted)``: the root-mean-square of ‖ĝ_B − g‖ over ``draws``
    batches, and the sampling formula sqrt(tr Σ / B · (N − B)/(N − 1)), where Σ is the
    covariance of the per-example gradients (the factor (N−B)/(N−1) because a batch draws
    without replacement; it makes the full batch exact).
    """
    n = len(problem.x)
    check_positive(batch_size, "batch_size", "gradient_noise", integer=True)
    if batch_size > n:
        raise ValueError(f"gradient_noise: argument 'batch_size' must be <= N = {n}, got {batch_size}")
    check_positive(draws, "draws", "gradient_noise", integer=True)
    theta = np.asarray(theta, dtype=np.float64)
    G = problem.per_example_grads(theta)
    g = G.mean(axis=0)
    rng = np.random.default_rng(seed)
    idx = np.argsort(rng.random((draws, n)), axis=1)[:, :batch_size]
    g_hat = G[idx].mean(axis=1)
    measured = float(np.sqrt(np.mean(np.sum((g_hat - g) ** 2, axis=1))))
    trace = float(np.sum(G.var(axis=0, ddof=0)))
    predicted = math.sqrt(trace / batch_size * (n - batch_size) / (n - 1)) if n > 1 else 0.0
    return measured, predicted


def batch_sizes(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n included)."""
    out, b = [], 1
    while b < n:
        out.append(b)
        b *= 2
    return out + [n]


def minibatch_table(problem: RegressionProblem, epochs: int = 4, lr: float = 0.05, seed: int = 0):
    """For every batch size in ``batch_sizes(N)``: the path, gradient noise and costs.

    Returns ``{B: dict(path=Trajectory, steps=int, cost_per_step=B, noise=(measured, predicted),
    final_loss=float)}``, the cache the batch-size slider reads.
    """
    table = {}
    for B in batch_sizes(len(problem.x)):
        tr = minibatch_path(problem, B, epochs=epochs, lr=lr, seed=seed)
        table[B] = {"path": tr, "steps": len(tr.path) - 1, "cost_per_step": B,
                    "noise": gradient_noise(problem, B, seed=seed), "final_loss": tr.final_loss}
    return table


def minibatch_caption(problem: RegressionProblem, table: dict, B: int) -> str:
    row = table[B]
    best = float(problem.loss(*problem.solution()))
    return (f"B = {B}: {row['steps']} steps of {B} example-gradient{'s' if B > 1 else ''} each; "
            f"gradient noise {row['noise'][0]:.3g} (formula {row['noise'][1]:.3g}); "
            f"final loss {row['final_loss']:.4g} (least squares: {best:.4g})")


def minibatch_dashboard(problem: RegressionProblem, table: dict, initial: int = 16):
    """Batch-size slider over the cached ``minibatch_table``: the path over the loss contours
    and the measured gradient noise against B. Redraws only move artists."""
    import ipywidgets as W

    sizes = sorted(table)
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(13, 5))
    wsol, bsol = problem.solution()
    ws = np.linspace(-1.5, 3.0, 150)
    bs = np.linspace(-3.5, 3.5, 150)
    Wg, Bg = np.meshgrid(ws, bs)
    Z = problem.loss(Wg, Bg)
    ax.contour(Wg, Bg, Z - Z.min(), levels=np.geomspace(0.02, Z.max(), 12), colors="0.6", linewidths=1)
    ax.plot(wsol, bsol, "*", ms=15, color=viz.BLACK)
    (line,) = ax.plot([], [], "-", lw=1.2, color=viz.BLUE)
    ax.set_xlabel("slope w")
    ax.set_ylabel("intercept b")
    ax.grid(False)
    meas = np.array([table[b]["noise"][0] for b in sizes])
    pred = np.array([table[b]["noise"][1] for b in sizes])
    ax2.loglog(sizes[:-1], meas[:-1], "o", color=viz.BLUE, label="measured (400 batches)")
    ax2.loglog(sizes[:-1], pred[:-1], "-", color=viz.ORANGE, label="formula")
    (mark,) = ax2.plot([], [], "o", ms=14, mfc="none", mew=2.5, color=viz.VERMILLION)
    ax2.set_xlabel("batch size B (examples per step)")
    ax2.set_ylabel("‖mini-batch grad − full grad‖")
    ax2.set_title("Noise of the gradient estimate\n(full batch B = N has none)")
    ax2.legend(loc="lower left")
    fig.tight_layout()
    live = None  # built after the first update, so the figure is rendered once
    livefig = fig
    slider = W.SelectionSlider(options=sizes, value=initial, description="batch size B",
                               style={"description_width": "100px"}, layout=W.Layout(width="500px"))
    caption = W.HTML()

    def redraw(*_):
        B = slider.value
        tr = table[B]["path"]
        line.set_data(tr.path[:, 0], tr.path[:, 1])
        ax.set_title(f"{table[B]['steps']} steps of mini-batch SGD, B = {B}\n(same budget: 4 passes over the data)")
        if B < sizes[-1]:
            mark.set_data([B], [table[B]["noise"][0]])
        else:
            mark.set_data([], [])
        if live is not None:
            live.redraw(key=B)  # the figure depends on B alone
        caption.value = viz.message(minibatch_caption(problem, table, B))

    slider.observe(redraw, names="value")
    redraw()
    # blit: contours and the noise plot are rendered once; a move redraws path, ring and title
    live = viz.LiveFigure(livefig, animated=[line, mark, ax.title, ax2.get_legend()])
    box = W.VBox([slider, caption, live.output])
    box.live = live
    return box


# ============================================================================================
# Learning-rate schedules and gradient clipping
# ============================================================================================
SCHEDULES = ("constant", "staircase", "cosine")


def _scheduler(kind: str, opt, epochs: int, step_size: int, gamma: float):
    if kind == "constant":
        return None
    if kind == "staircase":
        return optim.StepLR(opt, step_size=step_size, gamma=gamma)
    if kind == "cosine":
        return optim.CosineAnnealingLR(opt, T_max=epochs)
    raise ValueError(f"lr_schedule: argument 'kind' must be one of {SCHEDULES}, got {kind!r}")


def lr_schedule(kind: str, epochs: int = 30, lr: float = 0.05, step_size: int = 10,
                gamma: float = 0.1) -> np.ndarray:
    """The learning rate used during each epoch, read from nnlib.optim's schedulers.

    Shape: ``(epochs,)``.
    """
    check_positive(epochs, "epochs", "lr_schedule", integer=True)
    opt = optim.SGD([Parameter(np.zeros(1))], lr=lr)
    sched = _scheduler(kind, opt, epochs, step_size, gamma)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.lr)
        if sched is not None:
            sched.step()
    return np.array(lrs)


def train_with_schedule(problem: RegressionProblem, kind: str, epochs: int = 30,
                        batch_size: int = 4, lr: float = 0.05, step_size: int = 10,
                        gamma: float = 0.1, seed: int = 0) -> np.ndarray:
    """Mini-batch SGD on the regression problem with a schedule stepped once per epoch.

    Returns the full-data loss at the end of every epoch, shape ``(epochs,)``. With a
    constant learning rate the noisy steps keep the loss bouncing above the least-squares
    floor; a decaying one shrinks the bounce.
    """
    n = len(problem.x)
    check_positive(epochs, "epochs", "train_with_schedule", integer=True)
    check_positive(batch_size, "batch_size", "train_with_schedule", integer=True)
    rng = np.random.default_rng(seed)
    p = Parameter(np.array(MINIBATCH_START, dtype=np.float64))
    opt = optim.SGD([p], lr=lr)
    sched = _scheduler(kind, opt, epochs, step_size, gamma)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, batch_size):
            opt.zero_grad()
            p.grad += problem.grad(p.value, order[i:i + batch_size])
            opt.step()
        losses.append(float(problem.loss(*p.value)))
        if sched is not None:
            sched.step()
    return np.array(losses)


def clipping_demo(lr: float = 0.1, max_norm: float = 5.0, steps: int = 60, start=(6.0, 3.0)):
    """Plain SGD and SGD with ``clip_grad_norm_`` on the steep quartic wall ¼x⁴ + ½y².

    Returns ``{"plain": Trajectory, "clipped": Trajectory}``. From x = 6 the first gradient is
    216 and the plain step jumps to x = −15.6, where the gradient is ~3800: it explodes.
    Clipping keeps the direction but caps the step at lr·max_norm.
    """
    check_positive(lr, "lr", "clipping_demo")
    check_positive(max_norm, "max_norm", "clipping_demo")
    return {
        "plain": run_optimizer("wall", lambda ps: optim.SGD(ps, lr=lr), steps, start, "plain SGD"),
        "clipped": run_optimizer("wall", lambda ps: optim.SGD(ps, lr=lr), steps, start,
                                 f"clipped at {max_norm:g}", max_norm=max_norm),
    }


# ============================================================================================
# Exercise checkers: a message saying right, or wrong with a hint; never the answer
# ============================================================================================
def _verdict(ok: bool, right: str, hint: str) -> str:
    return ("Right. " + right) if ok else ("Not yet. Hint: " + hint)


def _as_number(answer, owner):
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: argument 'answer' must be a number, got {answer!r}")
    return float(answer)


def check_max_lr(answer) -> str:
    """Exercise 1: the largest learning rate for which plain gradient descent converges on
    the ravine ½(x² + 20y²). Accepts answers within 2 %."""
    a = _as_number(answer, "check_max_lr")
    true = 2.0 / max(RAVINE_CURVATURES)
    return _verdict(abs(a - true) <= 0.02 * true,
                    "Beyond it the steep direction's error is multiplied by less than −1 each step.",
                    "along one axis GD multiplies the distance to the minimum by (1 − lr·curvature) "
                    "each step; find where that factor reaches −1 for the steeper axis.")


def check_momentum_gain(answer, beta: float = 0.95) -> str:
    """Exercise 2: on a constant slope, by what factor does heavy-ball momentum with
    ``beta`` eventually multiply the plain SGD step? Accepts answers within 1 %."""
    a = _as_number(answer, "check_momentum_gain")
    check_in_range(beta, "beta", "check_momentum_gain", 0.0, 1.0)
    true = 1.0 / (1.0 - beta)
    return _verdict(abs(a - true) <= 0.01 * true,
                    "The velocity is a geometric series of the same gradient.",
                    "write v_t = β v_(t−1) + g with constant g and let t grow; the notes' form "
                    "(1+β) is a different rule.")


def check_adam_ratio(answer, betas=(0.9, 0.999)) -> str:
    """Exercise 3: how many times larger is Adam's very first step without bias correction
    than with it (constant gradient, ε negligible)? Accepts answers within 1 %."""
    a = _as_number(answer, "check_adam_ratio")
    b1, b2 = betas
    check_in_range(b1, "betas[0]", "check_adam_ratio", 0.0, 1.0)
    check_in_range(b2, "betas[1]", "check_adam_ratio", 0.0, 1.0)
    true = (1 - b1) / math.sqrt(1 - b2)
    return _verdict(abs(a - true) <= 0.01 * true,
                    "That is why uncorrected Adam lurches at the start when β2 is close to 1.",
                    "after one step M = (1−β1)g and S = (1−β2)g²; the corrected step divides each by "
                    "(1−β^1). Compare the two expressions for M/√S.")


# ============================================================================================
# Static figures for the notebook
# ============================================================================================
def plot_compare_forms(runs: dict[str, Trajectory], surface="ravine"):
    """Three panels over the surface's contours: each notes' form beside the library's."""
    fig, axes = viz.figure(1, 3, figsize=(15, 4.6))
    names = list(runs)
    for ax, (a, b) in zip(axes, [names[0:2], names[2:4], names[4:6]], strict=True):
        draw_contours(ax, surface, n_levels=10)
        for name, color, style in ((a, viz.VERMILLION, "-"), (b, viz.BLUE, "--")):
            tr = runs[name]
            ax.plot(tr.path[:, 0], tr.path[:, 1], style, marker="o", ms=3, color=color, label=name)
        ax.legend(loc="lower right", fontsize=11)
        ax.set_title(a.split(" (")[0], fontsize=14)
    fig.tight_layout()
    return fig


def plot_momentum_steps(steps: dict[str, np.ndarray], beta: float, lr: float):
    fig, ax = viz.figure(figsize=(8, 4))
    t = np.arange(1, len(steps["notes"]) + 1)
    ax.plot(t, steps["heavy-ball"], color=viz.BLUE, label="heavy-ball (nnlib SGD momentum)")
    ax.plot(t, steps["notes"], color=viz.VERMILLION, ls="--", label=r"notes: $\eta(\beta G_{t-1} + G_t)$")
    ax.axhline(lr / (1 - beta), color=viz.BLUE, ls=":", lw=1.2)
    ax.axhline(lr * (1 + beta), color=viz.VERMILLION, ls=":", lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("step length (g = 1)")
    ax.set_title(f"Constant slope, β = {beta:g}, η = {lr:g}: limits η/(1−β) and η(1+β)")
    ax.legend(loc="center right")
    fig.tight_layout()
    return fig


def plot_schedules(lrs: dict[str, np.ndarray], losses: dict[str, np.ndarray], floor: float):
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(13, 4.5))
    colors = dict(zip(SCHEDULES, (viz.BLUE, viz.ORANGE, viz.GREEN), strict=True))
    for kind in lrs:
        e = np.arange(1, len(lrs[kind]) + 1)
        ax.plot(e, lrs[kind], color=colors[kind], label=kind, drawstyle="steps-post")
        ax2.semilogy(e, losses[kind] - floor, color=colors[kind], label=kind)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate η")
    ax.set_title("Schedules (nnlib.optim StepLR, CosineAnnealingLR)")
    ax.legend()
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("loss − least-squares loss")
    ax2.set_title("Mini-batch SGD (B = 4): decay calms the noise")
    ax2.legend()
    fig.tight_layout()
    return fig


def plot_clipping(runs: dict[str, Trajectory]):
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(13, 4.6))
    draw_contours(ax, "wall", n_levels=10)
    for tr, color in zip(runs.values(), (viz.VERMILLION, viz.BLUE), strict=True):
        ax.plot(tr.path[:, 0], tr.path[:, 1], "-o", ms=4, color=color, label=tr.label)
        ax2.semilogy(np.arange(1, len(tr.grad_norms) + 1), tr.grad_norms, "-o", ms=3, color=color,
                     label=tr.label + (f" (diverged at step {tr.diverged_at})" if tr.diverged_at else ""))
    ax.legend(loc="lower left", fontsize=11)
    ax2.set_xlabel("step")
    ax2.set_ylabel("gradient norm ‖g‖ (before clipping)")
    ax2.set_title("Gradient norm per step")
    ax2.legend(fontsize=11)
    fig.tight_layout()
    return fig
