"""Sliders of notebook 07: each one runs functions the notebook wrote and passes in.

The notebook defines the ideas (the parameter layout of a 1-D layer, a 2-D cross-correlation
written as loops, the output-size formula, a filter applied to a photograph, pooling written as
loops, the receptive field and the input gradient of a stack); these builders only read the
controls, call those functions and hand the results to :mod:`nnlib.figures.convolution`.
"""

from __future__ import annotations

from fractions import Fraction

import ipywidgets
import numpy as np

from ..figures import convolution as figures
from .live import Live, dropdown, int_slider

__all__ = ["weight_matrices", "window", "output_size", "parse_kernel", "kernel_editor", "pooling", "receptive_field",
           "learning", "OUTPUT_SIZE_PRESETS", "RECEPTIVE_FIELD_PRESETS"]

OUTPUT_SIZE_PRESETS = {  # for instructors: (n, kernel, stride, padding)
    "notes: 6x6 image, 3x3 kernel (valid)": dict(n=6, kernel=3, stride=1, padding=0),
    "notes: 6x6 image, 3x3 kernel, padding 1": dict(n=6, kernel=3, stride=1, padding=1),
    "notes: 6x6 image, 2x2 kernel, stride 2": dict(n=6, kernel=2, stride=2, padding=0),
    "LeNet's first layer: 28 px, 5x5, padding 2": dict(n=28, kernel=5, stride=1, padding=2),
    "stride leaves a pixel out: 8 px, 3x3, stride 2": dict(n=8, kernel=3, stride=2, padding=0),
    "does not fit: 3 px, 7x7 kernel": dict(n=3, kernel=7, stride=1, padding=0),
}
RECEPTIVE_FIELD_PRESETS = {
    "one 3x3 convolution": dict(depth=1, kernel=3, stride=1),
    "three 3x3 see as far as one 7x7": dict(depth=3, kernel=3, stride=1),
    "stride 2 in every layer: the field doubles": dict(depth=4, kernel=3, stride=2),
    "six 5x5 layers": dict(depth=6, kernel=5, stride=1),
}


def _callable(fn, name, owner):
    if not callable(fn):
        raise TypeError(f"{owner}: argument '{name}' must be a function (the notebook's), got {fn!r}")


# ---- section 1 --------------------------------------------------------------------------------------
def weight_matrices(weight_ids, count_parameters, kinds, n=5, n_max=12):
    """A slider over n and the weight matrices of the 1-D layers in ``kinds`` with their parameter counts.

    Parameters
    ----------
    weight_ids : the notebook's ``(n, kind) -> (n, n)`` array of parameter ids (-1: no connection)
    count_parameters : the notebook's ``ids -> number of distinct parameters``
    kinds : the layer kinds, e.g. ``["fully connected", "locally connected", "shared weights"]``
    """
    _callable(weight_ids, "weight_ids", "weight_matrices")
    _callable(count_parameters, "count_parameters", "weight_matrices")
    fig, update = figures.weight_matrices(kinds, n_max)

    def draw(n):
        ids = [np.asarray(weight_ids(n, kind)) for kind in kinds]
        counts = [int(count_parameters(i)) for i in ids]
        update(n, ids, [f"{kind}:\n{c} parameter{'s' * (c != 1)}" for kind, c in zip(kinds, counts)])
        return f"n = {n}: " + ", ".join(f"{kind} {c:,}" for kind, c in zip(kinds, counts))

    live = Live(draw, fig, cache=True, n=int_slider(n, 2, n_max, 1, "n (units)"))
    for m in range(2, n_max + 1):  # up to 190 cell labels per picture: render each n once, now
        live.set(n=m)
    live.set(n=n)
    return live


# ---- section 2 --------------------------------------------------------------------------------------
def window(correlate2d, examples, example=None, cell=0):
    """A menu over worked examples and a slider over output cells; the window, the products and the sum.

    Parameters
    ----------
    correlate2d : the notebook's ``(image, kernel, stride, padding) -> output``
    examples : dict name -> dict(image=, kernel=, stride=, padding=, printed=), ``printed`` the output
        as a slide prints it (NaN where it prints nothing); cells that differ are marked
    """
    _callable(correlate2d, "correlate2d", "window")
    outputs = {name: np.asarray(correlate2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"]), float)
               for name, ex in examples.items()}
    fig, update = figures.window()

    def draw(example, cell):
        ex, out = examples[example], outputs[example]
        kernel, s, p = np.asarray(ex["kernel"], float), ex["stride"], ex["padding"]
        index = min(cell, out.size - 1)
        row, col = divmod(index, out.shape[1])
        padded = np.pad(np.asarray(ex["image"], float), p)
        patch = padded[row * s:row * s + kernel.shape[0], col * s:col * s + kernel.shape[1]]
        printed = np.asarray(ex["printed"], float)
        typos = {(int(r), int(c)): printed[r, c] for r, c in zip(*np.nonzero(~np.isnan(printed) & (printed != out)))}
        step = dict(row=row, col=col, top=row * s, left=col * s, patch=patch, products=patch * kernel)
        update(example, padded, p, kernel, out, step, typos)
        text = (f"output cell {index} is ({row}, {col}); the window's corner sits at ({row * s}, {col * s}) of the "
                f"padded input; patch × kernel sums to {figures.fmt(np.sum(patch * kernel))}")
        if cell > index:
            text += f". This example has {out.size} output cells: the window stops at the last"
        return text

    return Live(draw, fig, cache=True, example=dropdown(list(examples), example, "example"),
                cell=int_slider(min(cell, 35), 0, max(o.size for o in outputs.values()) - 1, 1, "output cell"))


# ---- section 3 --------------------------------------------------------------------------------------
def _size_story(n, k, s, p, size):
    span = n + 2 * p
    if size is None:
        return (f"Does not fit: the kernel ({k}) is longer than the padded input ({n} + 2·{p} = {span}). "
                f"Use padding ≥ {-(-(k - n) // 2)} or a kernel ≤ {span}.")
    text = f"⌊(n + 2p − k) / s⌋ + 1 = ⌊({n} + 2·{p} − {k}) / {s}⌋ + 1 = {size}"
    if (span - k) % s:
        text += (f". {span} − {k} = {span - k} is not a multiple of the stride {s}: the last {(span - k) % s} "
                 f"pixel(s) are never under the window (the floor drops them)")
    if s > k:
        text += f". The stride {s} is larger than the kernel {k}: the window jumps over pixels"
    if p >= k:
        text += f". Padding {p} ≥ kernel {k}: the outermost outputs see only zeros"
    return text


def output_size(output_size, n=7, kernel=3, stride=1, padding=0, presets=None):
    """Sliders for n, k, s and p, with instructor presets: every window position along one axis.

    ``output_size`` is the notebook's ``(n, k, s, p) -> int or None`` (None: the kernel does not fit).
    """
    _callable(output_size, "output_size", "output_size")
    fig, update = figures.output_size()

    def draw(n, kernel, stride, padding):
        size = output_size(n, kernel, stride, padding)
        update(n, kernel, stride, padding, [] if size is None else [i * stride for i in range(size)])
        return _size_story(n, kernel, stride, padding, size)

    return Live(draw, fig, cache=True, presets=OUTPUT_SIZE_PRESETS if presets is None else presets,
                n=int_slider(n, 1, 32, 1, "input n", "px"), kernel=int_slider(kernel, 1, 11, 1, "kernel k", "px"),
                stride=int_slider(stride, 1, 5, 1, "stride s", "px"),
                padding=int_slider(padding, 0, 5, 1, "padding p", "px"))


# ---- section 4 --------------------------------------------------------------------------------------
def parse_kernel(text) -> np.ndarray:
    """A kernel typed as rows of numbers (one row per line; fractions like 1/9 allowed) -> (k, k) array.

    Raises ValueError with a plain message when the text is not a square kernel of odd side
    (the editor shows it instead of a figure).
    """
    values = []
    for r, line in enumerate(line for line in str(text).strip().splitlines() if line.strip()):
        values.append([])
        for v in line.replace(",", " ").split():
            try:
                values[-1].append(float(Fraction(v)))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"row {r + 1}: {v!r} is not a number (write e.g. -1, 0.25 or 1/9)") from None
    if not values:
        raise ValueError("type the kernel: one row of numbers per line")
    if any(len(row) != len(values) for row in values):
        raise ValueError(f"the kernel must be square: {len(values)} row(s) of {[len(r) for r in values]} numbers")
    if len(values) % 2 == 0:
        raise ValueError(f"the kernel's side must be odd (3, 5, ...) so that it has a centre pixel, got {len(values)}")
    return np.array(values)


def _kernel_as_text(kernel):
    return "\n".join(" ".join(str(Fraction(float(v)).limit_denominator(64)) for v in row) for row in np.asarray(kernel))


def kernel_editor(photo, filter_image, filters, preset=None):
    """A text box holding a kernel (a preset menu fills it); the photograph filtered with it, live.

    Parameters
    ----------
    photo : (H, W) grey image in [0, 1]
    filter_image : the notebook's ``(image, kernel) -> response`` (same size)
    filters : dict name -> kernel, offered as presets; ``preset`` the one shown first
    """
    _callable(filter_image, "filter_image", "kernel_editor")
    photo = np.asarray(photo, float)
    fig, update = figures.kernel_editor(photo)
    preset = preset or next(iter(filters))

    def draw(kernel):
        k = parse_kernel(kernel)
        response = np.asarray(filter_image(photo, k), float)
        update(k, response)
        clipped = np.mean((response < 0) | (response > 1)) if abs(k.sum()) >= 1e-9 else 0.0
        return (f"kernel sum = {figures.fmt(k.sum())}; response from {response.min():.3g} to {response.max():.3g}"
                + (f"; {clipped:.1%} of the pixels fall outside 0..1 and are clipped" if clipped else ""))

    box = ipywidgets.Textarea(value=_kernel_as_text(filters[preset]), description="kernel", rows=5,
                              layout=ipywidgets.Layout(width="230px"))
    live = Live(draw, fig, presets={name: {"kernel": _kernel_as_text(k)} for name, k in filters.items()}, kernel=box)
    live.apply_preset(preset)
    return live


# ---- section 5 --------------------------------------------------------------------------------------
def pooling(feature_map, pool2d, size=2, stride=2):
    """Sliders for the pooling window and stride; the notebook's ``pool2d(map, size, stride, reduce)``
    runs with ``np.max`` and ``np.mean``."""
    _callable(pool2d, "pool2d", "pooling")
    fmap = np.asarray(feature_map, float)
    fig, update = figures.pooling(fmap)

    def draw(size, stride):
        if size > min(fmap.shape):
            raise ValueError(f"a {size}x{size} window does not fit the {fmap.shape[0]}x{fmap.shape[1]} map")
        mx, avg = (np.asarray(pool2d(fmap, size, stride, reduce), float) for reduce in (np.max, np.mean))
        update(mx, avg, size, stride)
        layout = ("windows overlap" if stride < size else "windows tile the map" if stride == size
                  else "some pixels are skipped")
        return (f"{fmap.shape[0]}x{fmap.shape[1]} → {mx.shape[0]}x{mx.shape[1]} ({mx.size / fmap.size:.1%} of the "
                f"values kept); {layout}")

    return Live(draw, fig, cache=True, size=int_slider(size, 1, 8, 1, "window", "px"),
                stride=int_slider(stride, 1, 8, 1, "stride", "px"))


# ---- section 8 --------------------------------------------------------------------------------------
def receptive_field(receptive_field, input_gradient, depth=3, kernel=3, stride=1):
    """Sliders for the depth, kernel and stride of a stack of equal layers: the gradient of one output
    unit with respect to the input, and the receptive field growing layer by layer.

    Parameters
    ----------
    receptive_field : the notebook's ``layers -> width`` (layers: a list of ``(kernel, stride)``)
    input_gradient : the notebook's ``(layers, size, unit) -> d output[unit, unit] / d input``
    """
    _callable(receptive_field, "receptive_field", "receptive_field")
    _callable(input_gradient, "input_gradient", "receptive_field")
    fig, update = figures.receptive_field()

    def draw(depth, kernel, stride):
        layers = [(kernel, stride)] * depth
        fields = [int(receptive_field(layers[:k])) for k in range(1, depth + 1)]
        r, jump = fields[-1], stride ** depth  # jump: input pixels between neighbouring units of the top layer
        unit = max(1, -(-r // (4 * jump)))  # a margin of about r/4 around the field, on the top layer's grid
        g = np.asarray(input_gradient(layers, r + 2 * unit * jump, unit), float)
        rows, cols = np.nonzero(g)
        seen = (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)) if rows.size else (0, 0)
        centre = (unit * jump + (r - 1) / 2,) * 2
        update(g, fields, centre, f"{depth} layer(s) of {kernel}x{kernel}, stride {stride}")
        return (f"receptive field {r}x{r} input pixels; the gradient is non-zero on {seen[0]}x{seen[1]} pixels "
                f"({'the same' if seen == (r, r) else 'they differ'}). Per layer: {', '.join(map(str, fields))}")

    return Live(draw, fig, cache=True, presets=RECEPTIVE_FIELD_PRESETS, depth=int_slider(depth, 1, 6, 1, "layers"),
                kernel=int_slider(kernel, 1, 7, 1, "kernel", "px"), stride=int_slider(stride, 1, 2, 1, "stride", "px"))


# ---- section 11 -------------------------------------------------------------------------------------
def learning(kernels, losses, hidden):
    """A slider over the steps of the filter-learning run: the learned kernel and the loss.

    kernels: (T, k, k), the kernel before each step; losses: (T,); hidden: (k, k), the kernel to find.
    """
    kernels, losses, hidden = (np.asarray(a, float) for a in (kernels, losses, hidden))
    if kernels.ndim != 3 or len(kernels) != len(losses) or kernels.shape[1:] != hidden.shape:
        raise ValueError(f"learning: expected kernels (T, k, k), losses (T,), hidden (k, k); got {kernels.shape}, "
                         f"{losses.shape}, {hidden.shape}")
    fig, update = figures.learning(hidden, losses)

    def draw(step):
        error = float(np.abs(kernels[step] - hidden).max())
        update(kernels[step], step, losses[step], error)
        return f"step {step}: loss {losses[step]:.3g}; the largest entry error is {error:.2g}"

    return Live(draw, fig, cache=True, step=int_slider(0, 0, len(losses) - 1, 1, "gradient step"))
