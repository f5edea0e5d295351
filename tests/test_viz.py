import matplotlib as mpl
import numpy as np

import nnlib
from nnlib import viz


def test_style_is_projector_sized_and_colour_blind_safe():
    viz.use_style()
    assert mpl.rcParams["font.size"] >= 12 and mpl.rcParams["xtick.labelsize"] >= 12
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][:3] == viz.PALETTE[:3]


def test_live_figure_redraws_into_its_output():
    fig, ax = viz.figure()
    (line,) = ax.plot([0, 1], [0, 1])
    live = viz.LiveFigure(fig)
    line.set_ydata([1, 0])
    live.redraw()
    assert live.last_ms >= 0
    assert len(live.output.outputs) == 1  # replaced, not appended


def test_decision_boundary_and_history_plots():
    X, y = nnlib.datasets.moons(40)
    m = nnlib.models.mlp([2, 4, 2], rng=0)
    fig, axes = viz.figure(1, 2)
    viz.plot_decision_boundary(axes[0], m, X, y, steps=20, title="t")
    h = nnlib.training.History()
    h.append(loss=1.0, val_loss=2.0)
    viz.plot_history(axes[1], h)
    assert axes[0].get_title() == "t" and len(axes[1].lines) == 2


def test_decision_grid_covers_the_data():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    grid, xx, yy = viz.decision_grid(X, steps=5, margin=0.5)
    assert grid.shape == (25, 2) and xx.min() == -0.5 and yy.max() == 2.5


def _pixels(live_or_message):
    """The RGBA pixels of a LiveFigure's current PNG (or of a display_data message)."""
    import base64
    import io

    from PIL import Image

    msg = live_or_message if isinstance(live_or_message, dict) else live_or_message.output.outputs[0]
    png = base64.b64decode(msg["data"]["image/png"])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def _blit_demo(ylim=(-2, 2)):
    fig, ax = viz.figure(figsize=(4, 3))
    x = np.linspace(0, 1, 50)
    ax.plot(x, x**2, color=viz.BLACK)               # static
    (line,) = ax.plot(x, np.sin(3 * x), color=viz.ORANGE)
    title = ax.set_title("a = 0")
    ax.set_xlim(-0.5, 1.5)                         # keep the moving line off the spines
    ax.set_ylim(*ylim)
    return fig, ax, line, title


def test_live_figure_blit_equals_a_full_render():
    fig, ax, line, title = _blit_demo()
    live = viz.LiveFigure(fig, animated=[line, title])
    assert live.last_full and live.animated == [line, title]
    assert not line.get_animated()                  # flagged only while the background renders
    line.set_ydata(np.cos(4 * np.linspace(0, 1, 50)))
    title.set_text("a = 1")
    live.redraw()
    assert not live.last_full                       # the blitting path ran
    blitted = _pixels(live)
    # the reference: the same state rendered from scratch by fig.savefig, without blitting
    fig2, ax2, line2, title2 = _blit_demo()
    line2.set_ydata(np.cos(4 * np.linspace(0, 1, 50)))
    title2.set_text("a = 1")
    fig2.tight_layout()                             # as LiveFigure lays its figure out
    reference = _pixels(viz.png_output(fig2))
    assert np.abs(_pixels(viz.LiveFigure(fig2)) - reference).max() <= 2  # the canvas path, too
    assert blitted.shape == reference.shape
    assert np.abs(blitted - reference).max() <= 2
    # and the blit really shows the new state, not the first one
    first = _blit_demo()[0]
    assert np.abs(_pixels(viz.LiveFigure(first)) - blitted).max() > 50


def test_live_figure_full_redraw_and_limit_change_refresh_the_background():
    fig, ax, line, title = _blit_demo()
    live = viz.LiveFigure(fig, animated=[line])
    ax.lines[0].set_ydata(np.zeros(50))              # a static artist changed ...
    live.redraw()
    stale = _pixels(live)
    live.redraw(full=True)                            # ... so the caller asks for a full render
    assert live.last_full
    fresh = _pixels(live)
    assert np.abs(fresh - stale).max() > 50
    fig2, ax2, _, _ = _blit_demo()
    ax2.lines[0].set_ydata(np.zeros(50))
    fig2.tight_layout()
    assert np.abs(_pixels(viz.png_output(fig2)) - fresh).max() <= 2
    ax.set_ylim(-3, 3)                                # new limits: background re-rendered unasked
    live.redraw()
    assert live.last_full


def test_live_figure_rejects_artists_of_another_figure():
    import pytest

    fig, ax, line, title = _blit_demo()
    other, *_ = _blit_demo()
    with pytest.raises(ValueError, match="animated artists must belong to fig"):
        viz.LiveFigure(other, animated=[line])


def test_live_figure_key_reuses_the_png_of_a_state_seen_before():
    fig, ax, line, title = _blit_demo()
    live = viz.LiveFigure(fig)
    x = np.linspace(0, 1, 50)
    pictures = {}
    for a in (1, 2, 1):
        line.set_ydata(np.sin(a * 3 * x))
        live.redraw(key=a)
        pictures.setdefault(a, []).append(live.output.outputs[0])
    assert pictures[1][0] is pictures[1][1]            # served from the store, not re-rendered
    assert pictures[1][0]["data"]["image/png"] != pictures[2][0]["data"]["image/png"]


def test_nice_ceil_snaps_up_to_1_2_5_steps():
    import pytest

    assert [viz.nice_ceil(v) for v in (0.07, 0.1, 0.11, 0.3, 0.9, 1.5, 4.2, 7, 10, 123)] == pytest.approx(
        [0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 10.0, 200.0])
    with pytest.raises(ValueError, match="x"):
        viz.nice_ceil(0.0)
    with pytest.raises(ValueError, match="x"):
        viz.nice_ceil(-1.0)


def test_live_figure_prerender_fills_the_store():
    import pytest

    fig, ax, line, title = _blit_demo()
    live = viz.LiveFigure(fig)
    x = np.linspace(0, 1, 50)
    live.prerender([1, 2], lambda a: line.set_ydata(np.sin(a * 3 * x)))
    stored = live._cache[2]
    line.set_ydata(np.sin(6 * x))
    live.redraw(key=2)
    assert live.output.outputs[0] is stored
    with pytest.raises(ValueError, match="apply"):
        live.prerender([3], None)


def test_live_figure_set_animated_swaps_the_moving_artists():
    import pytest

    fig, ax, line, title = _blit_demo()
    live = viz.LiveFigure(fig, animated=[line])
    live.set_animated([title])
    assert live.animated == [title]
    live.redraw()
    assert live.last_full                              # the old background is no use any more
    title.set_text("a = 2")
    live.redraw()
    assert not live.last_full
    other, *_ = _blit_demo()
    with pytest.raises(ValueError, match="animated artists must belong to fig"):
        live.set_animated([other.axes[0].title])


def test_legibility_problems_finds_small_clipped_and_covering_texts():
    viz.use_style("projector")
    try:
        fig, ax = viz.figure(figsize=(4, 3))
        x = np.linspace(0, 1, 50)
        ax.plot(x, x, label="diagonal")
        ax.set_xlim(0, 1)
        ax.set_title("fine")
        assert viz.legibility_problems(fig) == []

        ax.text(0.5, 0.5, "tiny", fontsize=10)
        ax.text(0.9, 0.1, "runs off the right edge of the canvas", fontsize=20)
        ax.legend(loc="center")  # right over the diagonal
        kinds = {(kind, what) for kind, what, _ in viz.legibility_problems(fig)}
        assert kinds == {("small", "tiny"), ("clipped", "runs off the right edge of the canvas"),
                         ("legend", "fine")}
        # at the screen scale 12 pt is the floor
        assert ("small", "tiny") not in {(k, w) for k, w, _ in viz.legibility_problems(fig, min_pt=10)}
    finally:
        viz.use_style("screen")


def test_legibility_problems_ignores_tick_labels_outside_the_view():
    viz.use_style("projector")
    try:
        fig, ax = viz.figure(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        ax.set_xticks([-5, 0, 1, 50])  # two ticks outside the limits: never drawn
        ax.set_xlim(0, 1)
        assert viz.legibility_problems(fig) == []
    finally:
        viz.use_style("screen")
