"""The one mechanism behind every slider: controls bound to a draw function.

A notebook's widget is three things: a figure, a ``draw`` function that moves the figure's
artists for given control values, and the controls. :class:`Live` binds them::

    fig, ax = viz.figure()
    (line,) = ax.plot(x, np.sin(x))

    def draw(freq):
        line.set_ydata(np.sin(freq * x))
        ax.set_title(f"sin({freq:g} x)")
        return f"{freq:g} periods per 2π"          # optional text shown under the figure

    Live(draw, fig, freq=slider(1.0, 0.5, 5.0, 0.5))   # the cell's value: the widget

``Live`` owns everything else: observing the controls, the layout, presets, turning an
exception into a plain message, and rendering fast. Rendering is where the time goes, so
it renders as little as it can:

- **Blitting, found out by itself.** After ``draw`` ran, the artists it changed are marked
  stale by matplotlib. The first time an artist changes, the whole figure is rendered with
  it left out, together with everything drawn above it in its axes (points over a shaded
  area, spines, ticks), and that picture is kept as a background; from then on a redraw
  pastes the background and draws only those artists on top, in a full render's order.
  New axis limits, an artist added or removed, or a change to anything else renders
  everything again.
- **A frozen layout.** ``draw`` runs once before the first render, so titles and labels
  already hold text when the layout is computed; the layout is then fixed, so text that
  changes later never makes the axes jump (and the background stays valid).
- **Stored pictures.** With ``cache=True`` (for a ``draw`` that depends on the controls
  only) the PNG of every combination of control values is kept, and a value seen before
  costs no render at all.

``last_ms`` is how long the last redraw took (draw + render + PNG), for the browser suite
and for instructors; ``png`` is the last picture.
"""

from __future__ import annotations

import io
import threading
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import AxesImage
from matplotlib.spines import Spine

__all__ = ["Live", "checkbox", "dropdown", "int_slider", "log_slider", "slider"]

_CACHE_SIZE = 256  # stored PNGs per widget: a few MB at most
_RULERS = (Axis, Spine)  # they change only with the limits (a full render): never blitted for that


# ---- controls: ipywidgets with the settings every notebook wants --------------------------
def _description(label, unit):
    label = label or ""
    return f"{label} ({unit})" if unit else label


_STYLE = {"description_width": "initial"}


def slider(value, min, max, step, label=None, unit=None, continuous=True, fmt=None):  # noqa: A002
    """A float slider; ``label`` defaults to the keyword it is passed under in :class:`Live`."""
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=_description(label, unit),
                               continuous_update=continuous, readout_format=fmt or ".3g", style=_STYLE)


def int_slider(value, min, max, step=1, label=None, unit=None, continuous=True):  # noqa: A002
    """An integer slider."""
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=_description(label, unit),
                             continuous_update=continuous, style=_STYLE)


def log_slider(value, min, max, label=None, unit=None, steps_per_decade=4, continuous=True):  # noqa: A002
    """A logarithmic slider from ``min`` to ``max`` (both > 0), e.g. for learning rates."""
    if not 0 < min <= value <= max:
        raise ValueError(f"log_slider: expected 0 < min <= value <= max, got {min}, {value}, {max}")
    return widgets.FloatLogSlider(value=value, base=10, min=float(np.log10(min)), max=float(np.log10(max)),
                                  step=1 / steps_per_decade, description=_description(label, unit),
                                  continuous_update=continuous, readout_format=".2g", style=_STYLE)


def dropdown(options, value=None, label=None):
    """A dropdown over ``options`` (a list, or a dict of label -> value)."""
    options = list(options.items()) if isinstance(options, dict) else list(options)
    first = options[0][1] if isinstance(options[0], tuple) else options[0]
    return widgets.Dropdown(options=options, value=first if value is None else value,
                            description=label or "", style=_STYLE)


def checkbox(value=False, label=None):
    """An on/off switch."""
    return widgets.Checkbox(value=value, description=label or "", indent=False)


# ---- the renderer -------------------------------------------------------------------------
def _candidates(fig):
    """The artists a draw function may change: each axes' direct children and figure texts."""
    found = []
    for ax in fig.axes:
        found.extend(ax.get_children())
    found.extend(fig.texts)
    found.extend(fig.legends)
    for attr in ("_suptitle", "_supxlabel", "_supylabel"):
        if getattr(fig, attr, None) is not None:
            found.append(getattr(fig, attr))
    return found


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image  # matplotlib depends on Pillow

    buf = io.BytesIO()
    # light compression: encoding time matters more than bytes for a slider
    Image.fromarray(rgba, "RGBA").save(buf, format="png", compress_level=1)
    return buf.getvalue()


class _Renderer:
    """Renders a figure to PNG, blitting the artists that changed since the last render."""

    def __init__(self, fig):
        self.fig = fig
        self.canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        self.animated: list = []
        self.background = None
        self.key = None
        self.members = None
        self.artists = []  # the last full render's artists, alive so that their ids stay theirs
        self.last_full = True

    def _view_key(self):
        return tuple(self.fig.bbox.size), tuple(tuple(ax.viewLim.bounds) for ax in self.fig.axes)

    def render(self) -> bytes:
        artists = _candidates(self.fig)
        members = {id(a) for a in artists}  # compared while self.artists keeps the old ones alive
        # on the first render everything is new (stale): render it all as background
        changed = [a for a in artists if a.stale] if self.members is not None else []
        animated = {id(a) for a in self.animated}  # alive in self.animated: their ids are theirs
        blit = (self.background is not None and members == self.members and self._view_key() == self.key
                and all(id(a) in animated for a in changed))
        if not blit:
            # what changed now joins the animated artists, and so does everything drawn above
            # it in its axes (a shaded area that moves must not cover the points, spines and
            # ticks over it); an axes' background patch stays in the background, under all
            keep = [a for a in self.animated if id(a) in members]
            kept = {id(a) for a in keep}
            patches = {id(ax.patch) for ax in self.fig.axes}
            for a in changed:
                # an axis or a spine changes with the limits, which this full render draws anyway;
                # made animated it would be redrawn (ticks, labels) on every later frame
                if id(a) not in patches and id(a) not in kept and not isinstance(a, _RULERS):
                    keep.append(a)
                    kept.add(id(a))
            lowest = {}
            for a in keep:
                if a.axes is not None:
                    lowest[id(a.axes)] = min(lowest.get(id(a.axes), np.inf), a.get_zorder())
            # (not the rulers of an axes that is off: a full render leaves them out, a blit would not)
            keep += [a for a in artists if a.axes is not None and id(a.axes) in lowest
                     and a.get_zorder() >= lowest[id(a.axes)] and id(a) not in patches and id(a) not in kept
                     and (a.axes.axison or not isinstance(a, _RULERS))]
            # drawn in the order a full render uses: axes by axes, by z-order, then as added
            position = {id(a): i for i, a in enumerate(artists)}
            self.animated = sorted(keep, key=lambda a: (self._axes_order(a), a.get_zorder(), position[id(a)]))
            # matplotlib < 3.8 draws an animated image all the same: hidden, it stays out of the
            # background (else a later frame shows the old picture where the new one is smaller)
            hidden = [a for a in self.animated if isinstance(a, AxesImage) and a.get_visible()]
            for a in self.animated:
                a.set_animated(True)
            for a in hidden:
                a.set_visible(False)
            try:
                self.canvas.draw()  # skips animated artists
            finally:
                for a in self.animated:
                    a.set_animated(False)
                for a in hidden:
                    a.set_visible(True)
            # what a full render leaves undrawn (empty texts, the patch of an axes that is off)
            # stays marked stale; it is in the background as it is, so it is not "changed"
            animated = {id(a) for a in self.animated}
            for a in artists:
                if id(a) not in animated:
                    a.stale = False
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.key, self.members, self.artists = self._view_key(), members, artists
        else:
            self.canvas.restore_region(self.background)
        for a in self.animated:
            if a.get_visible():
                self.fig.draw_artist(a)
            else:
                a.stale = False
        self.last_full = not blit
        return _png(np.asarray(self.canvas.buffer_rgba()))

    def _axes_order(self, artist):
        ax = getattr(artist, "axes", None)
        return self.fig.axes.index(ax) if ax in self.fig.axes else len(self.fig.axes)


# ---- the binding ----------------------------------------------------------------------------
class Live:
    """A figure redrawn by a ``draw`` function whenever one of its controls moves.

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` with one keyword per control. It updates the figure's artists
        (``set_data``, ``set_text``, ...) and may return a string (HTML) to show under the
        figure. A ``ValueError`` it raises is shown as a plain message instead of a traceback
        (the figure keeps its last state).
    fig : matplotlib Figure, optional
        The figure ``draw`` updates (from :func:`nnlib.viz.figure`). Without one, only the
        text is shown.
    presets : dict, optional
        ``{name: {control: value, ...}}``: a dropdown that sets several controls at once, for
        instructors (one redraw, not one per control).
    cache : bool, default False
        Keep the picture of every combination of control values (only when ``draw``
        depends on nothing but the controls).
    layout : ``"left"`` or ``"top"``
        Where the controls go, next to or above the figure.
    on_change : callable, optional
        ``on_change(values)``, called when a control or preset moves, before the redraw and
        outside the redraw lock (the training panel rebuilds its job there).
    **controls : ipywidgets value widgets
        One per keyword of ``draw``, e.g. ``w1=slider(0.5, -2, 2, 0.1)``. A control without a
        description gets its keyword as the label.

    Attributes
    ----------
    controls : dict of name -> widget
    values : dict of name -> current value
    png : bytes, the last picture;  last_ms : float, the last redraw in milliseconds
    text : str, what the last draw returned (or the message of its error)
    widget : the ipywidgets box the notebook shows (a ``Live`` displays as it)
    """

    def __init__(self, draw, fig=None, *, presets=None, cache=False, layout="left", on_change=None, **controls):
        if not callable(draw):
            raise TypeError(f"Live: argument 'draw' must be callable, got {draw!r}")
        if layout not in ("left", "top"):
            raise ValueError(f"Live: argument 'layout' must be 'left' or 'top', got {layout!r}")
        for name, control in controls.items():
            if not isinstance(control, widgets.ValueWidget):
                raise TypeError(f"Live: control '{name}' must be an ipywidgets value widget, got {control!r}")
            if not control.description:
                control.description = name
        self._draw, self.fig, self.cache, self._on_change_hook = draw, fig, cache, on_change
        self.controls = dict(controls)
        self._lock = threading.RLock()  # a training thread and a slider may both redraw
        self._pngs: dict = {}
        self._quiet = False
        self._stored = False
        self.png, self.text, self.last_ms = b"", "", float("nan")
        self.timings: list[float] = []
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.message = widgets.HTML()
        self.preset = None
        if presets:
            self._presets = {name: dict(values) for name, values in presets.items()}
            for name, values in self._presets.items():
                unknown = set(values) - set(self.controls)
                if unknown:
                    raise ValueError(f"Live: preset '{name}' sets unknown controls {sorted(unknown)}")
            self.preset = widgets.Dropdown(options=list(self._presets), description="preset", style=_STYLE)
            self.preset.observe(lambda change: self.apply_preset(change["new"]), names="value")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self._renderer = None
        first = self._call_draw()  # titles hold text before the layout is computed...
        if fig is not None:
            _freeze_layout(fig)  # ...then it is fixed
            self._renderer = _Renderer(fig)
        self.refresh(text=first)
        side = ([self.preset] if self.preset else []) + list(self.controls.values())
        panel = widgets.VBox(side)
        body = widgets.VBox([self.image, self.message]) if fig is not None else self.message
        self.widget = (widgets.HBox([panel, body]) if layout == "left" else widgets.VBox([panel, body]))

    # ---- reading and setting -------------------------------------------------------------
    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def set(self, **values) -> None:
        """Move several controls at once, with one redraw (what a preset does)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"Live.set: unknown controls {sorted(unknown)}; this widget has {list(self.controls)}")
        self._quiet = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._quiet = False
        if self._on_change_hook is not None:
            self._on_change_hook(self.values)
        self.refresh()

    def apply_preset(self, name: str) -> None:
        if self.preset is None or name not in self._presets:
            raise ValueError(f"Live.apply_preset: unknown preset {name!r}")
        if self.preset.value != name:
            self.preset.value = name  # observing it calls back here
            return
        self.set(**self._presets[name])

    # ---- drawing -------------------------------------------------------------------------
    def _on_change(self, _change) -> None:
        if not self._quiet:
            if self._on_change_hook is not None:
                self._on_change_hook(self.values)
            self.refresh()

    def _call_draw(self) -> str:
        try:
            out = self._draw(**self.values)
        except Exception as err:  # noqa: BLE001 - a control must never end in a traceback
            kind = "" if isinstance(err, ValueError) else f"{type(err).__name__}: "
            return f'<span style="color:#D55E00">{kind}{_escape(str(err))}</span>'
        return "" if out is None else str(out)

    def refresh(self, text: str | None = None) -> None:
        """Call ``draw`` with the current values and show the result (thread-safe).

        ``text``: what ``draw`` returned when the caller has just called it itself.
        """
        with self._lock:
            t0 = time.perf_counter()
            key = tuple(self.values.items()) if self.cache else None
            self._stored = key is not None and key in self._pngs
            if self._stored:
                self.png, self.text = self._pngs[key]
            else:
                self.text = self._call_draw() if text is None else text
                if self._renderer is not None:
                    self.png = self._renderer.render()
                if key is not None and len(self._pngs) < _CACHE_SIZE:
                    self._pngs[key] = (self.png, self.text)
            if self._renderer is not None:
                self.image.value = self.png
            self.message.value = self.text
            self.last_ms = 1000 * (time.perf_counter() - t0)
            self.timings.append(self.last_ms)

    @property
    def last_full(self) -> bool:
        """Whether the last redraw rendered the whole figure (False: blitted or a stored picture)."""
        return not self._stored and (self._renderer is None or self._renderer.last_full)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _freeze_layout(fig) -> None:
    """Lay the figure out once (with its current text) and keep that layout."""
    engine = fig.get_layout_engine()
    if engine is None:
        import warnings

        with warnings.catch_warnings():  # some gridspec layouts cannot be tightened
            warnings.simplefilter("ignore", UserWarning)
            fig.tight_layout()
    else:
        fig.canvas.draw() if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig).draw()
        fig.set_layout_engine("none")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
