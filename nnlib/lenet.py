"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) in two flavours, and a layer-by-layer summary.

* ``"modern"``: what most courses and PyTorch tutorials call LeNet-5 today: ReLU and
  max-pooling, every C3 map connected to every S2 map.
* ``"classic"``: closer to the 1998 paper: tanh and average pooling, and C3 connected to S2
  through the paper's Table I (:data:`C3_CONNECTIONS`), which breaks the symmetry between the
  16 maps and saves weights. (The paper's scaled tanh 1.7159·tanh(2x/3), trainable pooling
  coefficients and RBF output layer are left out; the shapes are the paper's.)

The 28x28 MNIST digits are zero-padded by 2 in C1, which plays the role of the paper's
32x32 input; C5 (16 maps of 5x5 -> 120) is written as Flatten + Linear(400, 120), the same map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .conv import AvgPool2d, Conv2d, MaxPool2d
from .init import as_rng
from .layers import Flatten, Linear, ReLU, Tanh
from .module import Module, Sequential

__all__ = ["C3_CONNECTIONS", "VARIANTS", "WEIGHTS_DIR", "layer_table", "lenet5", "summary"]

VARIANTS = ("modern", "classic")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# Table I of the paper, drawn as printed: one row per S2 map (input), one column per C3 map
# (output); X = connected. Columns 0-5 read 3 neighbouring maps, 6-11 four neighbouring
# maps, 12-14 four maps with a gap, 15 all six: 6·3 + 6·4 + 3·4 + 6 = 60 connections.
_TABLE_I = (
    "X...XXX..XXXX.XX",
    "XX...XXX..XXXX.X",
    "XXX...XXX..X.XXX",
    ".XXX..XXXX..X.XX",
    "..XXX..XXXX.XX.X",
    "...XXX..XXXX.XXX",
)

#: LeNet-5's C3 connection table as a boolean array ``(16, 6)``, indexed [C3 map, S2 map]
#: (the layout of ``Conv2d(..., connections=...)``: out, in), i.e. Table I transposed.
C3_CONNECTIONS = np.array([[c == "X" for c in row] for row in _TABLE_I]).T
C3_CONNECTIONS.setflags(write=False)


def lenet5(variant: str = "modern", pretrained: bool = False, *, rng=None) -> Sequential:
    """LeNet-5 for 28x28 grey images and 10 classes; returns logits.

    Parameters
    ----------
    variant : {"modern", "classic"}
        "modern": Conv(1,6,5,padding=2)-ReLU-MaxPool(2)-Conv(6,16,5)-ReLU-MaxPool(2)-
        Flatten-Linear(400,120)-ReLU-Linear(120,84)-ReLU-Linear(84,10).
        "classic": the same shapes with Tanh and AvgPool, and C3 wired by the 1998 table.
    pretrained : bool
        Load the weights shipped in ``nnlib/weights/lenet5_<variant>.npz`` (made by
        ``scripts/train_pretrained.py`` on the 4,000 training digits of ``load_mnist("5k")``).
    rng : Generator, int or None
        Seed for the initial weights (PyTorch's default initialisation in every layer).

    Returns
    -------
    Sequential of 12 layers, float64 (``.to(np.float32)`` for speed). For training alone,
    ``model[0].input_grad = False`` also skips the gradient with respect to the images,
    which nothing in training uses (PyTorch skips it too); keep it True for saliency maps
    and adversarial examples, which need it.

    Shape
    -----
    - Input: ``(N, 1, 28, 28)``
    - Output: ``(N, 10)`` logits

    Examples
    --------
    >>> model = lenet5("modern", rng=0)
    >>> model(np.zeros((2, 1, 28, 28))).shape, model.num_parameters()
    ((2, 10), 61706)
    """
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(f"lenet5: argument 'variant' must be one of {list(VARIANTS)}, got {variant!r}")
    if not isinstance(pretrained, (bool, np.bool_)):
        raise ValueError(f"lenet5: argument 'pretrained' must be True or False, got {pretrained!r}")
    rng = as_rng(rng)
    if variant == "modern":
        act, pool, table = ReLU, MaxPool2d, None
    else:
        act, pool, table = Tanh, AvgPool2d, C3_CONNECTIONS
    model = Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng),  # C1: 6@28x28
        act(),
        pool(2),  # S2: 6@14x14
        Conv2d(6, 16, 5, connections=table, rng=rng),  # C3: 16@10x10
        act(),
        pool(2),  # S4: 16@5x5
        Flatten(),
        Linear(400, 120, rng=rng),  # C5
        act(),
        Linear(120, 84, rng=rng),  # F6
        act(),
        Linear(84, 10, rng=rng),  # output
    )
    if pretrained:
        path = WEIGHTS_DIR / f"lenet5_{variant}.npz"
        if not path.is_file():
            raise FileNotFoundError(
                f"lenet5: no pretrained weights for variant {variant!r} at {str(path)!r}; "
                "re-create them with: python scripts/train_pretrained.py"
            )
        model.load(path)
    return model


def _trainable(module: Module) -> int:
    if isinstance(module, Conv2d):
        return module.num_trainable()
    return sum(p.size for p in module.parameters())


def layer_table(model: Module, input_shape=(1, 1, 28, 28)) -> list[dict]:
    """One row per layer: what comes out of it and how many parameters it trains.

    Runs one forward pass on zeros (in eval mode, restored afterwards).

    Parameters
    ----------
    model : Sequential (or any Module, reported as one row)
    input_shape : tuple, default ``(1, 1, 28, 28)``

    Returns
    -------
    list of dict with keys ``"index"`` (int), ``"layer"`` (class name), ``"config"``
    (its one-line repr), ``"output_shape"`` (tuple) and ``"params"`` (trainable
    parameters; a connection table's absent weights are not counted).

    Shape
    -----
    - input_shape: the shape of one input batch, e.g. ``(N, 1, 28, 28)``
    """
    owner = "layer_table"
    if not isinstance(model, Module):
        raise TypeError(f"{owner}: argument 'model' must be an nnlib Module, got {type(model).__name__}")
    if not (isinstance(input_shape, (tuple, list)) and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in input_shape)):
        raise ValueError(f"{owner}: argument 'input_shape' must be a tuple of positive ints, got {input_shape!r}")
    layers = list(model) if isinstance(model, Sequential) else [model]
    params = model.parameters()
    dtype = params[0].dtype if params else np.float64
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    rows = []
    try:
        x = np.zeros(tuple(input_shape), dtype=dtype)
        for i, layer in enumerate(layers):
            x = layer(x)
            rows.append({
                "index": i,
                "layer": type(layer).__name__,
                "config": repr(layer).split("\n")[0],
                "output_shape": tuple(int(s) for s in x.shape),
                "params": _trainable(layer),
            })
    finally:
        for m, mode in modes:
            m.training = mode
    return rows


def summary(model: Module, input_shape=(1, 1, 28, 28)) -> str:
    """A printable table: each layer, the shape it outputs and its trainable parameters.

    Parameters
    ----------
    model : Sequential (or any Module)
    input_shape : tuple, default ``(1, 1, 28, 28)``

    Returns
    -------
    str (print it)

    Shape
    -----
    - input_shape: the shape of one input batch, e.g. ``(N, 1, 28, 28)``

    Examples
    --------
    >>> print(summary(lenet5("modern", rng=0)).splitlines()[-1])
    Total trainable parameters: 61,706
    """
    rows = layer_table(model, input_shape)
    lines = [(" #", "Layer", "Output shape", "Params"), ("", "input", str(tuple(input_shape)), "")]
    for r in rows:
        config = r["config"]
        lines.append((str(r["index"]), config, str(r["output_shape"]), f"{r['params']:,}"))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    fmt = lambda line: (f"{line[0]:>{widths[0]}}  {line[1]:<{widths[1]}}  "  # noqa: E731
                        f"{line[2]:<{widths[2]}}  {line[3]:>{widths[3]}}").rstrip()
    rule = "-" * len(fmt(tuple("-" * w for w in widths)))
    total = sum(r["params"] for r in rows)
    out = [fmt(lines[0]), rule, *(fmt(line) for line in lines[1:]), rule,
           f"Total trainable parameters: {total:,}"]
    return "\n".join(out)
