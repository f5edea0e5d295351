"""Ready-made networks: ``mlp`` here, LeNet-5 in :mod:`nnlib.lenet` (re-exported)."""

from __future__ import annotations

from ._validation import check_positive, check_rng
from .layers import ACTIVATION_LAYERS, Identity, Linear, Sigmoid
from .module import Sequential

#: activation name -> layer class: :data:`nnlib.layers.ACTIVATION_LAYERS` and scikit-learn's names
ACTIVATIONS = {**ACTIVATION_LAYERS, "logistic": Sigmoid, "linear": Identity}


def mlp(sizes, activation: str = "relu", output_activation: str | None = None, rng=None) -> Sequential:
    """A multi-layer perceptron: Linear layers of the given sizes with ``activation`` between
    them (none after the last, so the output is a logit or a regression value).

    Parameters
    ----------
    sizes : sequence of int, e.g. ``[2, 8, 1]``: 2 inputs, one hidden layer of 8, 1 output
    activation : one of 'relu', 'sigmoid' ('logistic'), 'tanh', 'leaky_relu', 'elu', 'identity'
    output_activation : optional activation after the last layer (e.g. 'sigmoid' for BCELoss)
    rng : seed or Generator for the initial weights

    Shape
    -----
    Input ``(N, sizes[0])``, output ``(N, sizes[-1])``.
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"mlp: argument 'sizes' must be a sequence of layer sizes such as [2, 8, 1], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: argument 'sizes' needs at least 2 entries (inputs, outputs), got {sizes}")
    for i, s in enumerate(sizes):
        check_positive(s, f"sizes[{i}]", "mlp", integer=True)
    for name, act in (("activation", activation), ("output_activation", output_activation)):
        if act is not None and not (isinstance(act, str) and act in ACTIVATIONS):
            raise ValueError(f"mlp: argument '{name}' must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    rng = check_rng(rng, "rng", "mlp")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, rng=rng))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if output_activation is not None:
        layers.append(ACTIVATIONS[output_activation]())
    return Sequential(*layers)


# LeNet-5 lives beside the convolution code; it is re-exported here, where students look.
from .lenet import C3_CONNECTIONS, layer_table, lenet5, summary  # noqa: E402, F401
