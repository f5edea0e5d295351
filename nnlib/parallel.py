"""Two halves of every batch on one or two threads, with numpy's BLAS held to one thread.

numpy runs each of its loops and BLAS calls on one core and releases the GIL while it does,
so two Python threads, each working through its own half of a batch, keep two cores busy.
PyTorch does the same with its own thread pool. Three rules keep the results independent of
the machine's thread counts (tested):

- **The same split, whatever the threads.** A batch of N is always images [0, ceil(N/2)) and
  the rest (:func:`halves`); with one thread the two halves run one after the other. Weight
  gradients are added half 0 + half 1, in that order.
- **One BLAS thread while nnlib computes.** OpenBLAS threads a product it finds big enough,
  and a threaded float32 product can differ from an unthreaded one in its last bits (the
  tiles at the edges run other kernels). While a kernel of nnlib runs, :class:`one_blas_thread`
  sets OpenBLAS to one thread, and it gives the user's setting back when the last nnlib
  computation ends (a counter, so two models training at once do not undo each other). Our
  own two threads then call BLAS side by side, each on its core.
- **Where the BLAS cannot be held** (threadpoolctl missing, or a BLAS other than OpenBLAS,
  such as Apple's Accelerate), every product is cut into pieces too small for any BLAS to
  thread (:func:`matmul_chunked`): slower, same guarantee.

Measured (2-core AMD EPYC, numpy 2.4 + OpenBLAS 0.3.31, CPU microseconds per half of a
LeNet-5 batch, 32 images, best of 7): C3's weight gradient 1,100 as 41 cut products, 305 as
one batched product per image once BLAS is held; C3's forward 300 as 82 cut tiles, 210 as one
batched product per image; getting or setting OpenBLAS's thread count costs about 1 us.

What the GIL still costs (round 4, ``benchmarks/process_pair.py``): a LeNet-5 step on two
threads switches threads about 50 times (each switch a sleep and a wake-up, tens of us on
a virtual machine), and the same two halves computed by two processes train 1.11-1.18x as
fast, to the same bits. nnlib stays on threads: a helper process would run a fresh import
of nnlib, blind to a class a student has patched in the notebook.
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

__all__ = ["get_num_threads", "halves", "matmul", "one_blas_thread", "run_halves", "set_num_threads",
           "split_backward", "split_forward", "splits"]


# ---- how many threads run the halves ---------------------------------------------------------
def _cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


_state = {"threads": min(2, _cores()), "executor": None}
_executor_lock = threading.Lock()
_in_worker = threading.local()


def set_num_threads(n: int) -> None:
    """Run the two halves of each batch on ``n`` threads (1 or 2). Results do not change.

    The default is 2 where the process may use 2 cores or more, else 1; the environment
    variable ``NNLIB_NUM_THREADS`` (1 or 2) sets it at import.
    """
    if isinstance(n, bool) or n not in (1, 2):
        raise ValueError(f"set_num_threads: argument 'n' must be 1 or 2, got {n!r}")
    _state["threads"] = n


def get_num_threads() -> int:
    """How many threads run the halves (default: 2 on a machine with 2 or more cores)."""
    return _state["threads"]


if os.environ.get("NNLIB_NUM_THREADS"):
    if os.environ["NNLIB_NUM_THREADS"].strip() not in ("1", "2"):
        raise ValueError("nnlib: environment variable NNLIB_NUM_THREADS must be 1 or 2, "
                         f"got {os.environ['NNLIB_NUM_THREADS']!r}")
    set_num_threads(int(os.environ["NNLIB_NUM_THREADS"]))


def _executor() -> ThreadPoolExecutor:
    # One worker shared by every model: two models training in two threads both hand it
    # their second half; each waits only for its own, so they queue but never deadlock.
    with _executor_lock:
        if _state["executor"] is None:
            _state["executor"] = ThreadPoolExecutor(1, thread_name_prefix="nnlib-half",
                                                    initializer=_mark_worker)
        return _state["executor"]


def _mark_worker():
    _in_worker.active = True


def halves(n: int) -> list[slice]:
    """The split of a batch of n images: [0, ceil(n/2)) and the rest (one slice if n == 1)."""
    mid = (n + 1) // 2
    return [slice(0, mid), slice(mid, n)] if n > 1 else [slice(0, n)]


def run_halves(fn, n: int) -> list:
    """``[fn(half) for half in halves(n)]``, the second half offered to the worker thread.

    Whichever thread gets to the second half first computes it: the caller takes it back
    if the worker has not started it by the time the first half is done (on a busy machine
    the worker may wait for a core), so two threads are never slower than one. Who
    computes a half does not change its numbers. BLAS is held to one thread throughout.
    """
    if getattr(_in_worker, "whole", False):  # inside a half of a split network: no second split
        with one_blas_thread():
            return [fn(slice(0, n))]
    parts = halves(n)
    with one_blas_thread():
        if len(parts) == 1 or _state["threads"] == 1 or getattr(_in_worker, "active", False):
            return [fn(s) for s in parts]
        claim = threading.Lock()  # held by whoever computes the second half

        def second():
            if claim.acquire(blocking=False):
                return fn(parts[1])
            return None

        future = _executor().submit(second)
        try:
            first = fn(parts[0])
        except BaseException:
            if not claim.acquire(blocking=False):
                wait([future])  # the worker is writing into our buffers: let it finish first
            raise
        if claim.acquire(blocking=False):  # the worker has not started it: do it here
            future.cancel()
            return [first, fn(parts[1])]
        return [first, future.result()]


# ---- a whole network, half a batch per thread ----------------------------------------------
# Splitting layer by layer hands the second half to the worker (and waits for it) ~8 times a
# LeNet step, ~45 us each, and leaves the dense layers, the small pools and the Python
# between layers on one thread. A Sequential of per-sample layers with a convolution in it
# instead runs each half through ALL its layers: one hand-over for forward, one for backward.
# Half 0 runs on the layers themselves, half 1 on their twins: shallow copies that share
# the parameters' values but own their caches, scratch buffers and gradients; backward adds
# the twins' gradients after the layers' own, half 0 + half 1 as everywhere. Measured
# (LeNet-5 training, 2 threads, 5 alternating fresh processes each): median 10,475 ->
# 11,424 img/s; on 1 thread it costs about 0.15 ms per step (twins, concatenation, sums).
def splits(seq, x) -> bool:
    """Whether ``seq(x)`` runs as two halves (see :func:`split_forward`)."""
    from .conv import Conv2d

    return (isinstance(x, np.ndarray) and x.ndim >= 2 and x.shape[0] >= 2
            and not getattr(_in_worker, "whole", False)
            and all(getattr(m, "per_sample", False) for m in seq.layers)
            # the loop references are Python: two threads would only pass the GIL around
            and not any(getattr(m, "implementation", "fast") == "reference" for m in seq.layers)
            and any(isinstance(m, Conv2d) for m in seq.layers))


def _kinds():
    """(Parameter, Workspace): imported on first use (module and kernels import this module)."""
    if _KINDS is None:
        from .kernels import Workspace
        from .module import Parameter

        globals()["_KINDS"] = (Parameter, Workspace)
    return _KINDS


_KINDS = None


class _Twin:
    """A layer's stand-in for the second half: its attributes, its own buffers and gradients."""

    def __init__(self, layer):
        self.module = object.__new__(type(layer))
        self.params = {}  # attribute name -> the twin's Parameter (value shared, own grad)
        self.scratch = {}  # attribute name -> the twin's own Workspace

    def refresh(self, layer):
        """Copy the layer's current attributes (settings, mode, parameter values)."""
        Parameter, Workspace = _kinds()
        theirs, mine = layer.__dict__, self.module.__dict__
        mine.clear()
        mine.update(theirs)
        mine.pop("_guard", None)  # the guard's owner is the thread that runs half 0
        for stale in [name for name in self.params if type(theirs.get(name)) is not Parameter]:
            del self.params[stale]  # a parameter the layer no longer has (bias set to None)
        for name, value in theirs.items():
            if type(value) is Parameter:
                p = self.params.get(name)
                if p is None or p.grad.shape != value.value.shape or p.grad.dtype != value.value.dtype:
                    p = self.params[name] = Parameter.__new__(Parameter)
                    p.name, p.grad = value.name, np.zeros_like(value.value)
                p.value = value.value
                mine[name] = p
            elif type(value) is Workspace:
                scratch = self.scratch.get(name)
                if scratch is None:
                    scratch = self.scratch[name] = Workspace()
                mine[name] = scratch


class _Twins:
    """Held by a Sequential; not a list, so the module tree never sees the twins."""

    def __init__(self, layers):
        self.layers = layers
        self.twins = [_Twin(m) for m in layers]


def _twins(seq) -> list:
    held = seq.__dict__.get("_twins")
    if held is None or len(held.layers) != len(seq.layers) or any(
            a is not b for a, b in zip(held.layers, seq.layers)):
        held = seq.__dict__["_twins"] = _Twins(list(seq.layers))
    return held.twins


def _run_half(run, layer_lists, arrays):
    def half(s):
        _in_worker.whole = True  # the layers' kernels take this half whole
        try:
            return run(layer_lists[s.start > 0], arrays[s])
        finally:
            _in_worker.whole = False
    return half


def split_forward(seq, x):
    """``seq(x)``, half 0 through the layers and half 1 through their twins, on two threads."""
    twins = _twins(seq)
    for twin, layer in zip(twins, seq.layers):
        twin.refresh(layer)
    lists = (seq.layers, [t.module for t in twins])
    outs = run_halves(_run_half(seq.run_forward, lists, x), x.shape[0])
    out = np.concatenate(outs) if len(outs) > 1 else outs[0]
    seq._out_shape = out.shape
    return out


def split_backward(seq, grad_y):
    """Backward of :func:`split_forward`: each half through its own layers, then every
    parameter's gradient gets its twin's added (half 0 + half 1)."""
    grad_y = seq._check_grad(grad_y)
    twins = _twins(seq)
    for twin in twins:
        for p in twin.params.values():
            p.grad.fill(0)
    lists = (seq.layers, [t.module for t in twins])
    parts = run_halves(_run_half(seq.run_backward, lists, grad_y), grad_y.shape[0])
    for twin, layer in zip(twins, seq.layers):
        for name, p in twin.params.items():
            mine = getattr(layer, name)
            mine.grad += p.grad.astype(mine.grad.dtype, copy=False)
    if parts[0] is None:  # the first layer computes no input gradient
        return None
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


# ---- numpy's BLAS held to one thread while nnlib computes ------------------------------------
def _openblas_thread_setters() -> list:
    """(get, set) of the thread count of every OpenBLAS numpy has loaded; [] if none is found.

    threadpoolctl finds the libraries (on Linux, macOS and Windows); we call their C
    functions ourselves, so whichever Python thread trains may set them.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    try:
        libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
    except Exception:  # a threadpoolctl too old for select(): no pinning, the cut products
        return []
    setters = []
    for lib in libs:
        try:
            dll = ctypes.CDLL(lib.filepath)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", "", "_64"):
                get = getattr(dll, f"{prefix}openblas_get_num_threads{suffix}", None)
                set_ = getattr(dll, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    set_.restype, set_.argtypes = None, [ctypes.c_int]
                    setters.append((get, set_))
                    break
            else:
                continue
            break
    return setters


_blas = {"setters": None, "enabled": os.environ.get("NNLIB_PIN_BLAS", "1") != "0", "depth": 0, "saved": []}
_blas_lock = threading.Lock()
_held = threading.local()  # .depth: how deep this thread is inside one_blas_thread


def _setters() -> list:
    if _blas["setters"] is None:
        _blas["setters"] = _openblas_thread_setters()
    return _blas["setters"]


def blas_pinned() -> bool:
    """Whether nnlib holds numpy's BLAS to one thread while it computes (else: cut products)."""
    return _blas["enabled"] and bool(_setters())


class one_blas_thread:
    """Context: numpy's OpenBLAS on one thread inside, the user's setting back after the
    last one exits. Nested and concurrent uses share one counter (a thread already inside
    only counts its own depth: no lock). A no-op where no OpenBLAS can be held (see
    :func:`blas_pinned`)."""

    __slots__ = ()

    def __enter__(self):
        depth = getattr(_held, "depth", 0)
        _held.depth = depth + 1
        if depth or not blas_pinned():
            return self
        with _blas_lock:
            if _blas["depth"] == 0:
                _blas["saved"] = [get() for get, _ in _blas["setters"]]
                for (_, set_), n in zip(_blas["setters"], _blas["saved"]):
                    if n != 1:
                        set_(1)
            _blas["depth"] += 1
        return self

    def __exit__(self, *exc):
        _held.depth -= 1
        if _held.depth or not blas_pinned():
            return
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for (_, set_), n in zip(_blas["setters"], _blas["saved"]):
                    if n != 1:
                        set_(n)


# ---- matrix products -------------------------------------------------------------------------
_SINGLE_THREAD_MNK = 2**18  # OpenBLAS 0.3.21 (numpy 1.24) threads from GEMM_MULTITHREAD_THRESHOLD·65536 = 2**18


def _tile(m: int, k: int, n: int) -> tuple[int, int]:
    """Rows and columns of an output tile whose product (rows·k·cols) stays below the threshold."""
    rows = max(1, m) if m * k * 64 < _SINGLE_THREAD_MNK else max(1, _SINGLE_THREAD_MNK // (k * 64))
    return rows, max(1, (_SINGLE_THREAD_MNK - 1) // (rows * k))


_K_BLOCK = 1024  # a longer sum is cut into blocks of K: tiles of 1 x 100 would crawl


def matmul_chunked(a, b, out) -> None:
    """``out = a @ b`` for a (M, K) and b (K, N), tile by tile of out; each element is one
    product over the whole of K, as in a single call, if K <= 1024; else the sum of the
    products over blocks of 1,024 of K, added in order. Used where BLAS cannot be held to
    one thread: no tile is big enough for it to thread."""
    (m, k), n = a.shape, b.shape[1]
    if k == 0:  # an empty sum (a Linear layer's weight gradient on an empty batch)
        out[...] = 0
        return
    if k > _K_BLOCK:
        matmul_chunked(a[:, :_K_BLOCK], b[:_K_BLOCK], out)
        part = np.empty_like(out)
        for i in range(_K_BLOCK, k, _K_BLOCK):
            matmul_chunked(a[:, i : i + _K_BLOCK], b[i : i + _K_BLOCK], part)
            out += part
        return
    rows, cols = _tile(m, k, n)
    for i in range(0, m, rows):
        for j in range(0, n, cols):
            np.matmul(a[i : i + rows], b[:, j : j + cols], out=out[i : i + rows, j : j + cols])


def matmul_into(a, b, out) -> None:
    """``out = a @ b`` (2-D), with a result that does not depend on BLAS threads."""
    if blas_pinned():
        with one_blas_thread():
            np.matmul(a, b, out=out)  # an empty K gives zeros, as an empty sum should
    else:
        matmul_chunked(a, b, out)


def matmul(a, b) -> np.ndarray:
    """``a @ b`` for 2-D a (M, K) and b (K, N) whose result does not depend on BLAS threads.

    A float32 product big enough for OpenBLAS to thread (a Linear layer's (64, 400) @
    (400, 120)) differs in its last bits between OPENBLAS_NUM_THREADS=1 and 2; computed on
    one BLAS thread (or, where BLAS cannot be held, cut into tiles too small to thread), it
    does not.
    """
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    matmul_into(a, b, out)
    return out


def per_image_fits(m: int, k: int, r: int) -> bool:
    """Whether an (m, k) @ (k, r) product per image may be one BLAS call: always while BLAS
    is held to one thread, else only below OpenBLAS's threading threshold."""
    return blas_pinned() or m * k * r < _SINGLE_THREAD_MNK


def _by_image(mat, n):
    """(rows, n·R) -> an (n, rows, R) view: one matrix per image."""
    return mat.reshape(mat.shape[0], n, -1).transpose(1, 0, 2)


def matmul_images(a, b, out, n) -> None:
    """``out = a @ b`` with b's columns n images of R columns each (a batch's patches)."""
    if n == 0:
        return
    if per_image_fits(a.shape[0], a.shape[1], b.shape[1] // n):
        # one product per image, all handed to numpy at once (the loop runs in C): OpenBLAS
        # runs these short products faster than one long one (C1's forward, 32 images:
        # 129 us against 320; C3's: 210 against 286)
        np.matmul(a, _by_image(b, n), out=_by_image(out, n))
    else:  # an image too big for one unthreaded product
        matmul_chunked(a, b, out)


def matmul_nt_images(a, b, n) -> np.ndarray:
    """``a @ b.T`` for a (M, n·R), b (K, n·R): per-image products, added image by image.

    Each image's product is computed as ``(b_i @ a_iᵀ)ᵀ``: with M the short side (a layer's
    output channels), OpenBLAS runs the (K, M) product at almost twice the speed; and n
    short products beat one with a sum over n·R (C1's weight gradient: 117 us against 300).
    """
    if n and per_image_fits(a.shape[0], b.shape[0], a.shape[1] // n):
        per_image = np.matmul(_by_image(b, n), _by_image(a, n).transpose(0, 2, 1))  # (n, K, M)
        return np.ascontiguousarray(np.add.reduce(per_image, axis=0).T)
    m, k, length = a.shape[0], b.shape[0], a.shape[1]
    step = max(1, (_SINGLE_THREAD_MNK - 1) // (m * k))
    out = np.zeros((m, k), dtype=np.result_type(a, b))
    for i in range(0, length, step):  # a sum over the columns, slice by slice in a fixed order
        out += a[:, i : i + step] @ b[:, i : i + step].T
    return out
