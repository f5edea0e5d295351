"""Parameter, Module and Sequential: the skeleton every layer hangs on.

A Module computes ``y = forward(x)`` and remembers what it needs; ``backward(grad_y)``
returns ``grad_x`` and *adds* dL/dθ into each parameter's ``.grad`` (as PyTorch does, so two
backward calls without ``zero_grad`` accumulate).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from ._validation import as_float_array, check_grad


class Parameter:
    """A learnable array and the gradient that backward accumulates into it.

    Attributes
    ----------
    value : ndarray
    grad : ndarray, same shape and dtype as ``value``, starts at zero
    name : str, e.g. ``"weight"``
    """

    def __init__(self, value, name: str = ""):
        self.value = as_float_array(value, "value", "Parameter")  # shares a float array, as PyTorch does
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
    # True for a layer whose output for sample n depends on input sample n alone and that
    # draws no random numbers: a Sequential of such layers may run half a batch per thread
    # (nnlib.parallel.split_forward). Dropout and batch norm are not.
    per_sample: bool = False
    _out_shape: tuple | None = None  # what forward() returned; backward() checks grad_y against it

    # ---- the two methods every layer writes -------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_y):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def _check_grad(self, grad_y):
        """``grad_y`` checked against forward()'s output shape; the first line of a backward,
        so a wrong gradient (or a backward before any forward) changes no ``.grad``."""
        return check_grad(grad_y, self._out_shape, f"{type(self).__name__}.backward")

    def __call__(self, x):
        self._check_guard()
        return self.forward(x)

    def _check_guard(self) -> None:
        """Refuse to run while a background job trains this module (see nnlib.jobs)."""
        guard = self.__dict__.get("_guard")
        if guard is not None:
            guard.check(type(self).__name__)

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

    def _check_state(self, entries: dict, owner: str) -> None:
        """Refuse, naming the first culprit, unless ``entries`` (name -> (shape, dtype)) has
        exactly this model's names, with their shapes and float dtypes."""
        mine = {name: p.value for name, p in self.named_parameters()}
        mine.update(self.named_buffers())
        for name, current in mine.items():
            if name not in entries:
                raise ValueError(f"{owner}: parameter '{name}' is missing from the file")
            shape, dtype = entries[name]
            if tuple(shape) != current.shape:
                raise ValueError(f"{owner}: parameter '{name}' expected shape {current.shape}, got {tuple(shape)}")
            if dtype.kind not in "fiub" or (dtype.kind != "f" and current.dtype.kind == "f"):
                raise ValueError(f"{owner}: parameter '{name}' expected floats, got dtype {dtype}")
        extra = sorted(set(entries) - set(mine))
        if extra:
            raise ValueError(f"{owner}: the file holds parameter '{extra[0]}', which this model does not have")

    def load_state_dict(self, state: dict) -> Module:
        """Copy every array of ``state`` in, after checking all of them: a refused state changes nothing."""
        owner = f"{type(self).__name__}.load"
        state = {name: np.asarray(value) for name, value in state.items()}
        self._check_state({name: (a.shape, a.dtype) for name, a in state.items()}, owner)
        with guarded(self):  # a job training this model finishes its step first
            for name, p in self.named_parameters():
                p.value = np.array(state[name], dtype=p.dtype)
                p.grad = np.zeros_like(p.value)
            for name, module, attr in self._buffer_owners():
                setattr(module, attr, np.array(state[name], dtype=getattr(module, attr).dtype))
        return self

    def save(self, file) -> None:
        """Write every parameter and buffer to one ``.npz`` (plain arrays, no pickle).

        ``file`` is a path (``.npz`` is appended when missing, as numpy does, and
        :meth:`load` applies the same rule) or a binary file object. A path is written
        to a temporary file first and then renamed, so an interrupted save never leaves
        half a file in place of a good one.
        """
        from . import _npz

        _npz.save(file, self.state_dict(), f"{type(self).__name__}.save")

    def load(self, file) -> Module:
        """Read what :meth:`save` wrote into this model (same architecture); returns self.

        Names, shapes and dtypes are checked from the archive's index and the arrays'
        headers before any data is read, the data is checked against its CRC, and the
        parameters change only once everything has been read: a refused file (wrong
        model, damaged, oversized, object arrays) leaves the model as it was. Never
        unpickles, so a file cannot run code.
        """
        from . import _npz

        owner = f"{type(self).__name__}.load"
        return self.load_state_dict(_npz.load(file, lambda entries: self._check_state(entries, owner), owner))

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
        from . import parallel

        self._split = parallel.splits(self, x)
        if self._split:  # a convolutional network: half the batch per thread, all layers through
            return parallel.split_forward(self, x)
        return self.run_forward(self.layers, x)

    def backward(self, grad_y):
        if self.__dict__.get("_split"):
            from . import parallel

            return parallel.split_backward(self, grad_y)
        return self.run_backward(self.layers, grad_y)

    @staticmethod
    def run_forward(layers, x):
        """x through ``layers`` in order (a ReLU followed by a max-pool as one fused step)."""
        i = 0
        while i < len(layers):
            after = layers[i + 1] if i + 1 < len(layers) else None
            fuses = getattr(after, "fuses_with", None)
            if fuses is not None and fuses(layers[i], x):
                # two layers computed as one step, same numbers (ReLU then max-pool: the
                # ReLU runs on the pooled map, see MaxPool2d.forward_fused)
                x = after.forward_fused(layers[i], x)
                i += 2
            else:
                x = layers[i](x)
                i += 1
        return x

    @staticmethod
    def run_backward(layers, grad_y):
        for layer in reversed(layers):
            grad_y = layer.backward(grad_y)
        return grad_y

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: argument 'module' must be a Module, got {type(module).__name__}")
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
