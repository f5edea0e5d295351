"""Parameter, Module and Sequential: the skeleton every layer hangs on.

A Module computes ``y = forward(x)`` and remembers what it needs; ``backward(grad_y)``
returns ``grad_x`` and *adds* dL/dθ into each parameter's ``.grad`` (as PyTorch does, so two
backward calls without ``zero_grad`` accumulate).
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np


class Parameter:
    """A learnable array and the gradient that backward accumulates into it.

    Attributes
    ----------
    value : ndarray
    grad : ndarray, same shape and dtype as ``value``, starts at zero
    name : str, e.g. ``"weight"``
    """

    def __init__(self, value, name: str = ""):
        self.value = np.asarray(value)
        if self.value.dtype.kind != "f":
            self.value = self.value.astype(np.float64)
        self.grad = np.zeros_like(self.value)
        self.name = name

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of every layer and model.

    Subclasses implement ``forward`` and ``backward``; parameters and sub-modules are found
    by walking the instance's attributes in the order they were assigned, so
    ``parameters()`` is stable across runs.
    """

    training: bool = True

    # ---- the two methods every layer writes -------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_y):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, x):
        guard = self.__dict__.get("_guard")
        if guard is not None:
            guard.check(type(self).__name__)
        return self.forward(x)

    # ---- buffers: arrays that are state but not learned (BatchNorm's running statistics) --
    def register_buffer(self, name: str, value) -> None:
        """Keep ``value`` as ``self.<name>``, saved and loaded with the parameters."""
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, np.asarray(value))

    def named_buffers(self, prefix: str = ""):
        for name in self.__dict__.get("_buffer_names", ()):
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def _buffer_owners(self, prefix: str = ""):
        """(full name, owning module, attribute) for every buffer in the tree."""
        for name in self.__dict__.get("_buffer_names", ()):
            yield prefix + name, self, name
        for name, child in self.named_children():
            yield from child._buffer_owners(prefix + name + ".")

    # ---- walking the tree --------------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        # Sequential keeps its layers in a list; name them "0", "1", ...
                        yield (str(i) if name == "layers" else f"{name}.{i}"), item

    def named_parameters(self, prefix: str = ""):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self):
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    # ---- modes and dtypes --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every parameter and its gradient to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"{type(self).__name__}.to: argument 'dtype' must be a float dtype, got {dtype}")
        for p in self.parameters():
            p.value = p.value.astype(dtype)
            p.grad = p.grad.astype(dtype)
        for _, owner, attr in self._buffer_owners():
            value = getattr(owner, attr)
            if value.dtype.kind == "f":
                setattr(owner, attr, value.astype(dtype))
        return self

    # ---- saving ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by its dotted name, as copies."""
        state = {name: p.value.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict) -> Module:
        owner = f"{type(self).__name__}.load"
        mine = {name: p.value for name, p in self.named_parameters()}
        mine.update(self.named_buffers())
        for name, current in mine.items():
            if name not in state:
                raise ValueError(f"{owner}: parameter '{name}' is missing from the file")
            arr = np.asarray(state[name])
            if arr.shape != current.shape:
                raise ValueError(
                    f"{owner}: parameter '{name}' expected shape {current.shape}, got {arr.shape}"
                )
            if arr.dtype.kind != "f" and current.dtype.kind == "f":
                raise ValueError(f"{owner}: parameter '{name}' expected floats, got dtype {arr.dtype}")
        extra = sorted(set(state) - set(mine))
        if extra:
            raise ValueError(f"{owner}: the file holds parameter '{extra[0]}', which this model does not have")
        for name, p in self.named_parameters():
            p.value = np.array(state[name], dtype=p.dtype)
            p.grad = np.zeros_like(p.value)
        for name, module, attr in self._buffer_owners():
            setattr(module, attr, np.array(state[name], dtype=getattr(module, attr).dtype))
        return self

    def save(self, path) -> None:
        """Write every parameter to one ``.npz`` (plain arrays, no pickle)."""
        np.savez(path, **self.state_dict())

    def load(self, path) -> Module:
        """Read parameters saved by :meth:`save`; never unpickles, so a file cannot run code."""
        owner = f"{type(self).__name__}.load"
        if not os.path.exists(path):
            raise FileNotFoundError(f"{owner}: no file at {os.fspath(path)!r}")
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
                raise ValueError(f"{owner}: {os.fspath(path)!r} is not a readable .npz file (no zip header)")
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {k: data[k] for k in data.files}
        except ValueError as err:  # numpy refuses object arrays without pickle
            raise ValueError(
                f"{owner}: {os.fspath(path)!r} holds object arrays, which would need pickle to load; "
                "refusing (nnlib files hold plain numeric arrays only)"
            ) from err
        except (OSError, EOFError) as err:
            raise ValueError(f"{owner}: {os.fspath(path)!r} is not a readable .npz file ({err})") from err
        return self.load_state_dict(state)

    # ---- printing ----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class ModelGuard:
    """Keeps one thread at a time inside a model that trains in the background.

    A :class:`nnlib.jobs.TrainingJob` attaches a guard to every module of the model it trains
    and holds it for each training step. While the job runs, calling the model from another
    thread raises a RuntimeError that says how to read it safely (layers cache their inputs
    for backward, so an interleaved forward pass would corrupt the step). Code that enters
    the guard (``with guard:``, as :func:`guarded` and the job's ``predict`` do) waits for the
    current step to end and then has the model to itself.
    """

    def __init__(self, what: str = "a training job"):
        self.what = what
        self.active = False  # True while a background thread is stepping
        self._lock = threading.Lock()
        self._owner = None
        self._depth = 0
        self.waiting = 0  # threads queued in __enter__; the stepping thread lets them in

    def __enter__(self):
        me = threading.get_ident()
        if self._owner == me:
            self._depth += 1
            return self
        self.waiting += 1
        self._lock.acquire()
        self.waiting -= 1
        self._owner, self._depth = me, 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()

    def held(self) -> bool:
        return self._owner == threading.get_ident()

    def check(self, who: str) -> None:
        if self.active and not self.held():
            raise RuntimeError(
                f"{who}: this model is being trained in the background by {self.what}; calling it "
                "from another thread would corrupt the training step. Read it with job.predict(X) "
                "or job.read(fn), or call job.pause() first."
            )

    def attach(self, model: Module) -> None:
        for m in model.modules():
            existing = m.__dict__.get("_guard")
            if existing is not None and existing is not self and existing.active:
                raise RuntimeError(
                    f"{type(model).__name__}: this model is already being trained by {existing.what}"
                )
        for m in model.modules():
            m._guard = self

    def detach(self, model: Module) -> None:
        for m in model.modules():
            if m.__dict__.get("_guard") is self:
                del m._guard


def guarded(model: Module):
    """A context in which ``model`` may be called safely, even while a job trains it."""
    guard = model.__dict__.get("_guard")
    return guard if guard is not None else contextlib.nullcontext()


class Sequential(Module):
    """Modules applied one after another; backward runs them in reverse.

    Shape: whatever the first module takes, whatever the last one returns.
    """

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(m).__name__}")
        self.layers = list(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_y):
        for layer in reversed(self.layers):
            grad_y = layer.backward(grad_y)
        return grad_y

    def append(self, module: Module) -> Sequential:
        self.layers.append(module)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
