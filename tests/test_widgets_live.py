"""nnlib.widgets.live.Live: controls bound to a draw function, rendered fast and safely."""

import threading

import numpy as np
import pytest

from nnlib import viz
from nnlib.widgets import Live, checkbox, dropdown, int_slider, log_slider, slider
from tests.helpers import shows_the_full_render


def sine_widget(**kwargs):
    fig, ax = viz.figure(figsize=(5, 3))
    x = np.linspace(0, 6, 200)
    (line,) = ax.plot(x, np.sin(x))
    ax.set_ylim(-1.2, 1.2)
    calls = []

    def draw(freq, shift=0.0):
        if freq > 4.5:
            raise ValueError("too fast to see")
        calls.append((freq, shift))
        line.set_ydata(np.sin(freq * x + shift))
        ax.set_title(f"freq {freq:g}")
        return f"<b>{freq:g}</b>"

    live = Live(draw, fig, freq=slider(1.0, 0.5, 5.0, 0.5), shift=slider(0.0, 0.0, 3.0, 0.5), **kwargs)
    return live, line, calls


def test_moving_a_control_calls_draw_and_shows_a_new_picture():
    live, line, calls = sine_widget()
    first = live.png
    assert first.startswith(b"\x89PNG") and live.image.value == first
    live.controls["freq"].value = 2.0
    assert calls[-1] == (2.0, 0.0)
    np.testing.assert_allclose(line.get_ydata()[1], np.sin(2.0 * 6 / 199))
    assert live.png != first and live.text == "<b>2</b>" and live.message.value == "<b>2</b>"
    assert live.values == {"freq": 2.0, "shift": 0.0}


def test_after_the_first_change_only_the_changed_artists_are_drawn():
    live, _, _ = sine_widget()
    live.controls["freq"].value = 1.5
    assert live.last_full  # the first change renders the background without the line
    live.controls["freq"].value = 2.0
    assert not live.last_full  # then the line and the title are blitted onto it


def test_blitted_and_full_renders_show_the_same_picture():
    live, _, _ = sine_widget()
    live.controls["freq"].value = 1.5
    live.controls["freq"].value = 2.5
    blitted = live.png
    assert not live.last_full
    live._renderer.background = None  # force a full render of the same state
    live.refresh()
    assert live.last_full
    from io import BytesIO

    from PIL import Image

    a = np.asarray(Image.open(BytesIO(blitted)))
    b = np.asarray(Image.open(BytesIO(live.png)))
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 2


def test_new_axis_limits_render_everything_again():
    live, _, _ = sine_widget()
    live.controls["freq"].value = 1.5
    live.controls["freq"].value = 2.0
    live.fig.axes[0].set_xlim(0, 3)
    live.refresh()
    assert live.last_full


def test_set_moves_several_controls_with_one_draw():
    live, _, calls = sine_widget()
    n = len(calls)
    live.set(freq=3.0, shift=1.0)
    assert calls[n:] == [(3.0, 1.0)]
    with pytest.raises(ValueError, match="unknown controls \\['speed'\\]"):
        live.set(speed=1)


def test_new_limits_are_rendered_once_then_the_axes_stay_in_the_background():
    live, _, _ = sine_widget()
    live.controls["freq"].value = 1.5
    live.fig.axes[0].set_xlim(0, 3)
    live.controls["freq"].value = 2.0
    assert live.last_full
    animated = {type(a).__name__ for a in live._renderer.animated}
    assert "Line2D" in animated and not animated & {"XAxis", "YAxis"}  # ticks are not redrawn per frame
    live.controls["freq"].value = 2.5
    assert not live.last_full


def test_presets_set_their_controls():
    live, _, calls = sine_widget(presets={"slow": {"freq": 0.5}, "fast": {"freq": 4.0, "shift": 2.0}})
    live.preset.value = "fast"
    assert live.values == {"freq": 4.0, "shift": 2.0} and calls[-1] == (4.0, 2.0)
    live.apply_preset("slow")
    assert live.values["freq"] == 0.5
    with pytest.raises(ValueError, match="unknown preset"):
        live.apply_preset("medium")


def test_a_preset_naming_an_unknown_control_is_refused():
    with pytest.raises(ValueError, match="preset 'bad' sets unknown controls"):
        sine_widget(presets={"bad": {"colour": 1}})


def test_an_error_in_draw_becomes_a_message_not_a_traceback():
    live, _, _ = sine_widget()
    live.controls["freq"].value = 2.0
    live.controls["freq"].value = 5.0  # draw raises ValueError
    assert "too fast to see" in live.message.value and "Traceback" not in live.message.value
    assert bytes(live.image.value).startswith(b"\x89PNG")  # the figure keeps its last state
    live.controls["freq"].value = 2.5
    assert live.text == "<b>2.5</b>"  # and the next move draws again


def test_other_exceptions_are_named_in_the_message():
    def draw(x):
        raise KeyError("oops")

    live = Live(draw, None, x=slider(1, 0, 2, 1))
    assert "KeyError" in live.message.value


def test_cache_reuses_the_picture_of_values_seen_before():
    live, _, calls = sine_widget(cache=True)
    live.controls["freq"].value = 2.0
    picture, n = live.png, len(calls)
    live.controls["freq"].value = 3.0
    live.controls["freq"].value = 2.0
    assert len(calls) == n + 1  # 3.0 was drawn, 2.0 came from the store
    assert live.png == picture and live.text == "<b>2</b>"


def test_on_change_runs_before_the_redraw():
    order = []
    fig, ax = viz.figure()
    live = Live(lambda n: order.append(("draw", n)), fig, on_change=lambda v: order.append(("change", v["n"])),
                n=int_slider(1, 0, 5))
    live.controls["n"].value = 3
    assert order[-2:] == [("change", 3), ("draw", 3)]


def test_refresh_from_two_threads_is_serialised():
    live, _, _ = sine_widget()
    errors = []

    def hammer():
        try:
            for _ in range(10):
                live.refresh()
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and live.png.startswith(b"\x89PNG")


def test_controls_get_their_keyword_as_label_and_helpers_set_units():
    live, _, _ = sine_widget()
    assert live.controls["freq"].description == "freq"
    assert slider(1, 0, 2, 0.1, "rate", unit="Hz").description == "rate (Hz)"
    lr = log_slider(0.01, 1e-4, 1.0, "learning rate")
    assert lr.value == pytest.approx(0.01) and lr.min == pytest.approx(-4) and lr.max == pytest.approx(0)
    assert dropdown({"a": 1, "b": 2}).value == 1 and dropdown(["x", "y"], "y").value == "y"
    assert checkbox(True, "on").value is True


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(draw=5), TypeError, "argument 'draw'"),
    (dict(layout="right"), ValueError, "argument 'layout'"),
    (dict(x=3), TypeError, "control 'x'"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    kwargs.setdefault("draw", lambda **v: None)
    with pytest.raises(error, match=match):
        Live(fig=None, **kwargs)


def test_log_slider_refuses_a_bad_range():
    with pytest.raises(ValueError, match="log_slider"):
        log_slider(0.0, 0.0, 1.0)


def descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


def test_live_displays_as_its_widget_holding_controls_figure_and_text():
    live, _, _ = sine_widget(layout="top", presets={"fast": {"freq": 4.0}})
    from IPython.display import display

    display(live)  # no error outside a kernel either
    shown = list(descendants(live.widget))
    for part in [live.image, live.message, live.preset, *live.controls.values()]:
        assert any(part is w for w in shown)


def test_an_axes_that_is_off_is_not_painted_over_the_figure():
    fig, (ax, off) = viz.figure(1, 2, figsize=(6, 3))
    off.axis("off")
    text = off.text(0.5, 0.5, "", ha="center")
    (line,) = ax.plot([0, 1], [0, 1])

    def draw(k):
        line.set_ydata([0, k])
        text.set_text(f"k = {k}")

    live = Live(draw, fig, k=slider(1.0, 0.0, 2.0, 0.5))
    live.set(k=0.5)
    live.set(k=1.5)
    assert not live.last_full and not any(a is off.patch for a in live._renderer.animated)


def test_an_image_in_an_axes_that_is_off_is_blitted_without_its_rulers():
    # a full render leaves the axis lines, ticks and spines of an axes that is off out; a blit
    # must not draw them either
    fig, off = viz.figure(figsize=(4, 3))
    image = off.imshow(np.zeros((4, 4)), vmin=0, vmax=1)
    off.set_axis_off()

    def draw(k):
        image.set_data(np.full((4, 4), k))

    live = Live(draw, fig, k=slider(0.0, 0.0, 1.0, 0.25))
    live.set(k=0.25)
    live.set(k=0.75)
    assert not live.last_full
    rulers = {id(r) for r in (off.xaxis, off.yaxis, *off.spines.values())}
    assert not any(id(a) in rulers for a in live._renderer.animated)
    assert shows_the_full_render(live)


def test_equal_zorder_artists_keep_the_order_of_a_full_render():
    fig, ax = viz.figure()
    first = ax.scatter([0.5], [0.5], s=2000, color="C0")
    second = ax.scatter([0.5], [0.5], s=2000, color="C1")  # drawn on top: added later

    def draw(size):
        second.set_sizes([size])
        first.set_sizes([size])

    live = Live(draw, fig, size=slider(2000.0, 1000.0, 3000.0, 500.0))
    live.set(size=2500.0)
    live.set(size=3000.0)
    order = [a for a in live._renderer.animated if a is first or a is second]
    assert order == [first, second]


def test_a_stored_picture_is_not_a_full_render():
    live, _, _ = sine_widget(cache=True)
    live.set(freq=2.0)
    live.set(freq=1.0)  # seen at construction: stored
    assert not live.last_full


def test_a_draw_that_clears_its_axes_still_shows_its_artists():
    fig, ax = viz.figure(figsize=(4, 3))

    def draw(level):
        ax.clear()
        ax.axhspan(0, level, color="black")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)

    live = Live(draw, fig, level=slider(0.5, 0.1, 0.9, 0.1))
    live.set(level=0.8)
    live.set(level=0.7)
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(live.png)).convert("L"))
    assert (pixels < 50).mean() > 0.2  # the black span shows: the new axes patch is not drawn over it
