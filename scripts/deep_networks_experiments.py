"""The measurements behind the deep-networks notebook (issue 18), seeded, printed as tables.

Parts (``--parts``, default all):

* ``depth-mlp``: deep fully connected nets (width 32, ReLU, PyTorch's default init) on 1,000
  MNIST digits: training loss after 1, 5 and 10 epochs and the per-layer gradient norms at
  initialisation, for depths 2-50, plain / batch norm / residual / both; Adam and SGD.
  Then plain nets under He-scaled initialisation (init_scale 0.5, 1, 1.5).
* ``depth-cnn``: the same question for deep plain CNNs (8 channels, 3x3, at 7x7 after a stem).
* ``resnet-lenet``: ``resnet_small()`` against LeNet-5 (modern) on the 4,000/1,000 split of
  ``load_mnist("5k")``: test accuracy per epoch, seconds per epoch.
* ``width``: "a bigger network may train faster": one-hidden-layer MLPs of growing width,
  epochs (and seconds) to a training loss of 0.1.
* ``augment``: LeNet-5 on 1,000 digits with and without random shifts and rotations, the same
  number of steps: test accuracy (clean, and on a shifted + rotated copy of the test set).
* ``bn-batch1``: a batch-normalised CNN evaluated in eval mode, and by mistake in train mode
  with batch 1,000 and batch 1; what happens to the accuracy and the running statistics.

Every random draw is seeded; BLAS runs on ``--threads`` threads (default 1, so the numbers
repeat). Times are wall-clock on whatever else the machine is doing: read them as rough.
``--save PATH`` writes the curves a notebook slider needs (loss per epoch for every depth,
variant and init scale; the final loss of every seed; the other parts' curves) to one small
``.npz``. Notebook 09 reads ``nnlib/data/deep_networks.npz``, written by::

    OPENBLAS_NUM_THREADS=1 python scripts/deep_networks_experiments.py --seeds 0 1 2 --save nnlib/data/deep_networks.npz

(2026-12-01, about 40 minutes at load average 4-9; ``nnlib/data/deep_networks.md`` lists the
keys). That run printed every number below again, to the last digit, except the times.

Results (2026-11-26, numpy 2.4.6, 1 BLAS thread, 2 cores shared with other work at load
average 7-10, so every time below is 3-5x a quiet machine's; seeds 0, 1, 2 unless noted).
"flat" = training loss still above 0.9·ln 10 at the end, "trains" = below 1.0:

* deep MLP, default init, Adam: plain trains up to depth 6, is flat from depth 20 (seeds 0, 1)
  or 24 (seed 2); first-layer gradient 1e-6 of the last layer's at depth 20, 1e-10 at 30.
  Batch norm trains up to 10, flat from 24 (its gradients *explode* towards the input:
  ratio 1e2 at depth 20, 5e4 at 50). Residual and bn+residual train at every depth to 50.
  With SGD (momentum 0.9, lr 0.05) plain is flat from depth 10, batch norm trains to 16.
  He init (init_scale 1) lets the plain MLP train to 24-30 (slow at 40-50).
* deep CNN (Adam 3e-3, 5 epochs): plain trains up to 6, flat from 14 (seeds 0, 1) or 20
  (seed 2); batch norm trains up to 20 (slow at 30); residual trains at 30.
* resnet_small (19,810 parameters) against LeNet-5 (61,706), 10 epochs: test accuracy
  0.973 / 0.964 / 0.968 against 0.963 / 0.963 / 0.959; after 3 epochs 0.948 / 0.947 / 0.931
  against 0.913 / 0.912 / 0.917; 2.0x LeNet's seconds per epoch (CPU time of one epoch on
  4,000 digits, one thread: 2.5 s against 1.2 s).
* width (seed 0): epochs to a training loss of 0.1: Adam 38 (width 16), 26 (32), 17 (64),
  12 (128), 9 (256), 7 (512); SGD 21, 17, 16, 14, 14, 14; widths 4 and 8 not within 40.
  Seeds 1 and 2 (2026-12-01): Adam 36-37, 22-23, 18, 12, 9, 7; SGD 19-20, 16-17, 15, 14, 14,
  13-14; SGD reaches it at width 8 in 34-36 epochs, Adam never at widths 4 and 8.
* augmentation, LeNet-5 on 1,000 digits, 30 epochs: clean test 0.951 / 0.948 / 0.954 with,
  0.936 / 0.939 / 0.930 without (behind after 5 epochs: 0.77-0.78 against 0.81-0.84); on a shifted and
  rotated test set 0.91-0.93 with, 0.70 without.
* batch-of-one bug (seed 0): a BN CNN scores 0.935 in eval mode, 0.891 in train mode with
  batch 1; a BN MLP 0.890 in eval, 0.346 in train mode with batch 2 (BatchNorm1d refuses
  batch 1); a train-mode "evaluation" moves the running statistics (by up to 0.13).

Usage::

    python scripts/deep_networks_experiments.py                       # everything (~20 min loaded)
    python scripts/deep_networks_experiments.py --parts depth-mlp width
    python scripts/deep_networks_experiments.py --seeds 0 1 2 --save nnlib/data/deep_networks.npz
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402
from nnlib.lenet import lenet5  # noqa: E402
from nnlib.mnist import load_mnist  # noqa: E402
from nnlib.optim import SGD, Adam  # noqa: E402
from nnlib.resnet import deep_cnn, deep_mlp, resnet_small  # noqa: E402

CHANCE = math.log(10)  # cross-entropy of a uniform guess over 10 classes
VARIANTS = {  # name -> (batch_norm, residual)
    "plain": (False, False),
    "batchnorm": (True, False),
    "residual": (False, True),
    "bn+residual": (True, True),
}
MLP_DEPTHS = (2, 4, 6, 10, 16, 20, 24, 30, 40, 50)
CNN_DEPTHS = (2, 6, 10, 14, 20, 30)
INIT_SCALES = (None, 0.5, 1.0, 1.5)  # None: PyTorch's default


# ---- measuring one network -----------------------------------------------------------------------
def weight_layers(model):
    """Linear and Conv2d layers in the order the input meets them (depth order)."""
    return [m for m in model.modules() if isinstance(m, (nnlib.Linear, nnlib.Conv2d))]


def layer_gradient_norms(model, X, y) -> np.ndarray:
    """‖dL/dW‖ of every weight layer for one batch (train mode), the model's gradients reset."""
    loss = nnlib.CrossEntropyLoss()
    model.train()
    model.zero_grad()
    loss(model(X), y)
    model.backward(loss.backward())
    norms = np.array([np.linalg.norm(m.weight.grad) for m in weight_layers(model)])
    model.zero_grad()
    return norms


def train_losses(model, X, y, optimizer, epochs, batch_size, seed=0):
    """Mean training loss of every epoch (NaN for the epochs after a divergence)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a divergence shows as NaN in the table
        history = nnlib.fit(model, nnlib.CrossEntropyLoss(), optimizer, X, y, epochs=epochs,
                            batch_size=batch_size, seed=seed, progress=False)
    losses = list(history["loss"]) if history.epochs else []
    return np.array(losses + [np.nan] * (epochs - len(losses)))


def status(final_loss: float) -> str:
    """'flat': still within 10% of chance; 'trains': below 1.0 (chance is 2.30); else 'slow'."""
    if not np.isfinite(final_loss) or final_loss > 0.9 * CHANCE:
        return "flat" if np.isfinite(final_loss) else "diverged"
    return "trains" if final_loss < 1.0 else "slow"


def mark_epochs(epochs):
    return sorted({1, min(5, epochs), epochs})


def depth_header(epochs):
    return ["variant", "depth", "‖g_1‖", "‖g_L‖", "ratio", *(f"loss@{e}" for e in mark_epochs(epochs)), "status", "s"]


def make_optimizer(name, params, lr):
    return Adam(params, lr=lr) if name == "adam" else SGD(params, lr=lr, momentum=0.9)


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(f"{str(c):>{w}}" for c, w in zip(r, widths)) for r in [header, *rows]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


# ---- part 1: depth ---------------------------------------------------------------------------------
def depth_sweep(build, depths, variants, X, y, optimizer, lr, epochs, batch_size, seed, dtype, grads=None):
    """One row per (variant, depth): gradient ratio at init, losses per epoch, status.
    Returns the rows and {(variant, depth): losses}; fills ``grads`` with the per-layer norms."""
    rows, curves = [], {}
    grads = {} if grads is None else grads
    for name in variants:
        bn, res = VARIANTS[name]
        for depth in depths:
            model = build(depth, bn, res, seed)
            g = grads[name, depth] = layer_gradient_norms(model, X[:256].astype(np.float64), y[:256])
            model.to(dtype)
            t = time.perf_counter()
            losses = train_losses(model, X, y, make_optimizer(optimizer, model.parameters(), lr),
                                  epochs, batch_size, seed)
            seconds = time.perf_counter() - t
            curves[name, depth] = losses
            marks = [losses[i - 1] for i in mark_epochs(epochs)]
            rows.append([name, depth, f"{g[0]:.1e}", f"{g[-1]:.1e}", f"{g[0] / g[-1]:.1e}",
                         *(f"{v:.3f}" for v in marks), status(losses[-1]), f"{seconds:.1f}"])
            print(f"  {name} depth {depth}: {status(losses[-1])} ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return rows, curves


def depth_table(title, build, depths, variants, data, optimizer, lr, epochs, seed, dtype):
    """Train every (variant, depth) on the first 1,000 digits, batch 50; print the table."""
    X, y = data["X_train"][:1000], data["y_train"][:1000]
    print(f"\n== {title}, 1,000 digits, {optimizer} lr {lr}, batch 50, {epochs} epochs, seed {seed}")
    grads = {}
    rows, curves = depth_sweep(build, depths, variants, X, y, optimizer, lr, epochs, 50, seed, dtype, grads)
    print(table(depth_header(epochs), rows))
    print(summarise(curves, variants, depths))
    return rows, curves, grads


def summarise(curves, variants, depths):
    """Per variant: the deepest depth that trains, the shallowest that stays flat."""
    out = []
    for name in variants:
        st = {d: status(curves[name, d][-1]) for d in depths}
        trains = [d for d in depths if st[d] == "trains"]
        flat = [d for d in depths if st[d] in ("flat", "diverged")]
        out.append(f"  {name:12s} trains up to depth {max(trains) if trains else '-'}; "
                   f"first flat/diverged at {min(flat) if flat else 'none up to ' + str(max(depths))}")
    return "\n".join(out)


def part_depth_mlp(data, seeds, saved):
    epochs = 10
    for optimizer, lr in (("adam", 1e-3), ("sgd", 0.05)):
        for seed in seeds:
            _, curves, grads = depth_table(
                "deep MLP, width 32, ReLU, default init",
                lambda d, bn, res, s: deep_mlp(d, batch_norm=bn, residual=res, rng=s),
                MLP_DEPTHS, VARIANTS, data, optimizer, lr, epochs, seed, np.float64)
            if optimizer == "adam" and seed == seeds[0]:
                saved["mlp_curves"], saved["mlp_grad_norms"] = curves, grads
            finals = saved.setdefault("mlp_final_loss", {})
            for (name, depth), losses in curves.items():
                finals.setdefault((optimizer, name, depth), []).append(losses[-1])
    rows, scaled, scaled_grads = [], {}, {}
    for scale in INIT_SCALES[1:]:
        r, c, g = depth_table(
            f"deep MLP, width 32, ReLU, He-scaled init: weights N(0, s²·2/fan_in) with s = {scale}, zero biases",
            lambda d, bn, res, s, k=scale: deep_mlp(d, batch_norm=bn, residual=res, init_scale=k, rng=s),
            MLP_DEPTHS, VARIANTS, data, "adam", 1e-3, epochs, seeds[0], np.float64)
        rows += [[f"s={scale}", *row] for row in r if row[0] in ("plain", "residual")]
        scaled.update({(name, depth, scale): v for (name, depth), v in c.items()})
        scaled_grads.update({(name, depth, scale): v for (name, depth), v in g.items()})
    print("\n== plain and residual MLPs by init scale (the rows above, side by side)")
    print(table(["init", *depth_header(epochs)], rows))
    saved["mlp_scaled_curves"], saved["mlp_scaled_grad_norms"] = scaled, scaled_grads


def part_depth_cnn(data, seeds, saved):
    for seed in seeds:
        _, curves, grads = depth_table(
            "deep CNN, 8 channels 3x3 at 7x7, default init, float32",
            lambda d, bn, res, s: deep_cnn(d, batch_norm=bn, residual=res, rng=s),
            CNN_DEPTHS, ("plain", "batchnorm", "residual"), data, "adam", 3e-3, 5, seed, np.float32)
        if seed == seeds[0]:
            saved["cnn_curves"], saved["cnn_grad_norms"] = curves, grads
        finals = saved.setdefault("cnn_final_loss", {})
        for (name, depth), losses in curves.items():
            finals.setdefault((name, depth), []).append(losses[-1])


# ---- part 2: a small ResNet against LeNet-5 ---------------------------------------------------------
def train_and_score(model, data, epochs, seed, lr=1e-3, batch_size=64, augment=None, X=None, y=None):
    """Adam, float32; returns (test accuracy after every epoch, seconds of every epoch)."""
    X = data["X_train"] if X is None else X
    y = data["y_train"] if y is None else y
    model.to(np.float32)
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    accs, secs = [], []
    for epoch in range(epochs):
        t = time.perf_counter()
        Xe = X if augment is None else augment(X, rng)
        nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, Xe, y, epochs=1, batch_size=batch_size,
                  seed=seed * 1000 + epoch, progress=False)
        secs.append(time.perf_counter() - t)
        accs.append(nnlib.evaluate(model, data["X_test"], data["y_test"]))
    return np.array(accs), np.array(secs)


def part_resnet_lenet(data, seeds, saved):
    epochs = 10
    print(f"\n== resnet_small() against lenet5('modern'): 4,000 training / 1,000 test digits, adam lr 1e-3, "
          f"batch 64, float32, {epochs} epochs")
    models = {"LeNet-5": lambda s: lenet5("modern", rng=s), "resnet_small": lambda s: resnet_small(rng=s)}
    rows = []
    for name, build in models.items():
        model = build(0)
        print(f"  {name}: {model.num_parameters():,} parameters", file=sys.stderr)
        for seed in seeds:
            accs, secs = train_and_score(build(seed), data, epochs, seed)
            saved[f"acc_{name}_{seed}"] = accs
            saved[f"sec_{name}_{seed}"] = secs
            rows.append([name, f"{build(0).num_parameters():,}", seed, *(f"{accs[i - 1]:.3f}" for i in (1, 3, 5, 10)),
                         f"{np.median(secs):.2f}", f"{secs.min():.2f}-{secs.max():.2f}"])
            print(f"  {name} seed {seed}: {accs[-1]:.3f}", file=sys.stderr, flush=True)
    print(table(["model", "params", "seed", "acc@1", "acc@3", "acc@5", "acc@10", "s/epoch (median)", "range"], rows))


# ---- part 3: a bigger network may train faster ------------------------------------------------------
def part_width(data, seeds, saved):
    X, y = data["X_train"].reshape(4000, -1), data["y_train"]
    widths, target, max_epochs = (4, 8, 16, 32, 64, 128, 256, 512), 0.1, 40
    for optimizer, lr in (("sgd", 0.02), ("adam", 1e-3)):
        print(f"\n== one hidden layer (ReLU) of growing width, 4,000 digits, {optimizer} lr {lr}, batch 64: "
              f"epochs to a training loss < {target} (at most {max_epochs})")
        rows = []
        for width in widths:
            for seed in seeds:
                model = nnlib.models.mlp([784, width, 10], rng=seed).to(np.float32)
                opt = make_optimizer(optimizer, model.parameters(), lr)
                t = time.perf_counter()
                losses = []
                for epoch in range(max_epochs):
                    losses.append(train_losses(model, X, y, opt, 1, 64, seed * 1000 + epoch)[0])
                    if losses[-1] < target:
                        break
                seconds = time.perf_counter() - t
                reached = losses[-1] < target
                saved[f"width_{optimizer}_{width}_{seed}"] = np.array(losses)
                rows.append([width, f"{model.num_parameters():,}", seed, len(losses) if reached else f">{max_epochs}",
                             f"{losses[0]:.3f}", f"{losses[min(4, len(losses) - 1)]:.3f}",
                             f"{nnlib.evaluate(model, data['X_test'].reshape(1000, -1), data['y_test']):.3f}",
                             f"{seconds:.1f}", f"{seconds / len(losses):.2f}"])
        print(table(["width", "params", "seed", "epochs to 0.1", "loss@1", "loss@5", "test acc then",
                     "s total", "s/epoch"], rows))


# ---- part 4: data augmentation -----------------------------------------------------------------------
def random_moves(X, rng, max_shift=2, max_degrees=15.0):
    """Each image rotated by its own random angle in ±max_degrees about the centre and moved by
    a random whole number of pixels in ±max_shift each way; nearest-pixel sampling, 0 outside."""
    n, c, h, w = X.shape
    theta = np.radians(rng.uniform(-max_degrees, max_degrees, n))[:, None, None]
    dy, dx = (rng.integers(-max_shift, max_shift + 1, (2, n))[..., None, None])
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    # where each output pixel comes from: undo the shift, then the rotation
    u, v = xx - dx - cx, yy - dy - cy
    src_x = np.rint(cx + np.cos(theta) * u - np.sin(theta) * v).astype(int)  # counter-clockwise, like
    src_y = np.rint(cy + np.sin(theta) * u + np.cos(theta) * v).astype(int)  # the LeNet notebook's rotation
    inside = (src_x >= 0) & (src_x < w) & (src_y >= 0) & (src_y < h)
    images = np.arange(n)[:, None, None]
    out = X[images, :, np.clip(src_y, 0, h - 1), np.clip(src_x, 0, w - 1)]  # (n, h, w, c)
    return (out * inside[..., None]).transpose(0, 3, 1, 2).astype(X.dtype)


def part_augment(data, seeds, saved):
    n_train, epochs = 1000, 30
    moved_test = random_moves(data["X_test"], np.random.default_rng(12345))
    print(f"\n== LeNet-5 on {n_train:,} digits, {epochs} epochs (same steps either way), adam lr 1e-3, batch 64; "
          "augmented = every epoch a fresh random shift (±2 px) and rotation (±15°) of each digit")
    rows = []
    for augment in (False, True):
        for seed in seeds:
            model = lenet5("modern", rng=seed)
            accs, secs = train_and_score(model, data, epochs, seed, augment=random_moves if augment else None,
                                         X=data["X_train"][:n_train], y=data["y_train"][:n_train])
            moved = nnlib.evaluate(model, moved_test, data["y_test"])
            saved[f"augment_{int(augment)}_{seed}"] = accs
            saved[f"augment_moved_{int(augment)}_{seed}"] = np.array([moved])
            rows.append(["yes" if augment else "no", seed, *(f"{accs[i - 1]:.3f}" for i in (5, 10, 20, 30)),
                         f"{accs.max():.3f}", f"{moved:.3f}", f"{secs.sum():.1f}"])
    print(table(["augmented", "seed", "test@5", "test@10", "test@20", "test@30", "best", "moved test@30", "s"],
                rows))


# ---- part 5: the batch-of-one bug --------------------------------------------------------------------
def part_bn_batch1(data, seeds, saved):
    model = deep_cnn(6, batch_norm=True, rng=seeds[0]).to(np.float32)
    accs, _ = train_and_score(model, data, 2, seeds[0])
    Xt, yt = data["X_test"], data["y_test"]
    before = {k: v.copy() for k, v in model.state_dict().items() if "running" in k}
    print("\n== a batch-normalised CNN (deep_cnn(6, batch_norm=True)) trained 2 epochs; its test accuracy when "
          "evaluated ...")
    rows = [["eval mode (running statistics), any batch size", f"{nnlib.evaluate(model, Xt, yt):.3f}"]]
    model.train()  # the bug: forgetting model.eval()
    for bs in (1000, 100, 10, 2, 1):
        pred = np.concatenate([model(Xt[i:i + bs]).argmax(1) for i in range(0, len(Xt), bs)])
        rows.append([f"train mode, batches of {bs}", f"{np.mean(pred == yt):.3f}"])
    drift = max(float(np.max(np.abs(model.state_dict()[k] - v))) for k, v in before.items())
    model.eval()
    rows.append(["eval mode again, after those train-mode passes", f"{nnlib.evaluate(model, Xt, yt):.3f}"])
    print(table(["evaluated in", "test accuracy"], rows))
    print(f"running statistics moved by up to {drift:.3g} during the train-mode 'evaluation' (they should not move)")
    one = Xt[:1]
    model.train()
    outputs = [model(np.concatenate([one, Xt[k:k + 31]]))[0] for k in (1, 100, 500)]
    model.eval()
    print("train mode: the logits of the SAME first test digit in three different batches of 32 differ by up to "
          f"{max(np.abs(o - outputs[0]).max() for o in outputs):.3f}; eval mode: by "
          f"{max(np.abs(model(np.concatenate([one, Xt[k:k + 31]]))[0] - model(one)[0]).max() for k in (1, 500)):.1e}")
    saved["bn_batch1_cnn_accuracy"] = np.array([float(r[1]) for r in rows])

    mlp = deep_mlp(4, batch_norm=True, rng=seeds[0]).to(np.float32)
    train_and_score(mlp, data, 2, seeds[0])
    print("\n== a batch-normalised MLP (deep_mlp(4, batch_norm=True)) trained 2 epochs; BatchNorm1d sees one value "
          "per feature and example, so in train mode a batch of 2 normalises every feature to -1 and +1")
    rows = [["eval mode (running statistics)", f"{nnlib.evaluate(mlp, Xt, yt):.3f}"]]
    mlp.train()
    for bs in (1000, 10, 2):
        pred = np.concatenate([mlp(Xt[i:i + bs]).argmax(1) for i in range(0, len(Xt), bs)])
        rows.append([f"train mode, batches of {bs}", f"{np.mean(pred == yt):.3f}"])
    print(table(["evaluated in", "test accuracy"], rows))
    try:
        mlp(Xt[:1])
    except ValueError as err:
        print(f"train mode, a batch of one: refused, as PyTorch does:\n  {err}")
    saved["bn_batch1_mlp_accuracy"] = np.array([float(r[1]) for r in rows])


PARTS = {"depth-mlp": part_depth_mlp, "depth-cnn": part_depth_cnn, "resnet-lenet": part_resnet_lenet,
         "width": part_width, "augment": part_augment, "bn-batch1": part_bn_batch1}


def flatten_for_npz(saved) -> dict:
    """Tuple keys -> 'mlp_curves/plain/20' style names, arrays as float32."""
    out = {}
    for key, value in saved.items():
        if isinstance(value, dict):
            for sub, arr in value.items():
                out["/".join([key, *map(str, sub)])] = np.asarray(arr, dtype=np.float32)
        else:
            out[key] = np.asarray(value, dtype=np.float32)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", type=Path, default=None, help="write the curves to this .npz")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    X_train, y_train, X_test, y_test = load_mnist("5k")
    data = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
    print(f"numpy {np.__version__}, {args.threads} BLAS thread(s), load average {os.getloadavg()[0]:.2f}, "
          f"seeds {args.seeds}")
    saved = {}
    for name in args.parts:
        t = time.perf_counter()
        PARTS[name](data, args.seeds, saved)
        print(f"[{name}: {time.perf_counter() - t:.0f} s, load average {os.getloadavg()[0]:.2f}]")
    if args.save is not None:
        arrays = flatten_for_npz(saved)
        np.savez_compressed(args.save, **arrays)
        print(f"wrote {len(arrays)} arrays to {args.save} ({args.save.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
