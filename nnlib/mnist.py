"""MNIST handwritten digits: 5,000 that ship with nnlib, or the official 70,000 downloaded once.

* ``load_mnist("5k")`` reads the 5,000-digit subset (500 per class) stored in the package as
  ``nnlib/data/mnist_5k.npz`` (uint8, already split 4,000 / 1,000; ``nnlib/data/README.md``
  says where it comes from and how it was made). No network, no cache, nothing written.
  None of these digits is in the official test set (the tests check it image by image).
* ``load_mnist("full")`` fetches the official IDX files, checks their MD5 sums
  (:data:`MNIST_MD5`) and keeps them under ``data_home``; a damaged file is fetched again.
  It says on stderr what it downloads from where, gives up on a mirror that does not answer
  within ``timeout`` seconds, and, when ``data_home`` cannot be written, still returns the
  data (downloaded to a temporary folder) with a warning.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import numbers
import os
import struct
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["MNIST_MD5", "MNIST_MIRRORS", "load_mnist", "read_idx", "default_data_home"]

#: MD5 sums of the official files (a download that does not match is refused).
#: Tests swap in the sums of the small files they serve.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Tried in order. The first is the mirror torchvision uses, the second TensorFlow's.
#: ``NNLIB_MNIST_URL`` (one base URL, or several separated by commas) replaces the list.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_SUBSETS = ("5k", "full")
_PACKAGE_5K = ("data", "mnist_5k.npz")  # inside the nnlib package
_5K_SHAPES = {"train_images": (4000, 28, 28), "train_labels": (4000,),
              "test_images": (1000, 28, 28), "test_labels": (1000,)}
_DEFAULT_TIMEOUT = 30.0
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ---- IDX files -----------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """Read one file in the IDX format of the MNIST distribution, gzip-compressed or raw.

    The format: two zero bytes, a type code (0x08 = unsigned byte, ...), the number of
    dimensions d, then d big-endian uint32 sizes, then the values, big-endian, row-major.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray of the stored shape and type (uint8 for MNIST), in native byte order.

    Raises
    ------
    FileNotFoundError
        when there is no such file.
    ValueError
        on a bad magic number, an unknown type code, a damaged gzip stream, or a file whose
        length does not match its header (truncated or with trailing bytes).

    Shape
    -----
    - images file: ``(N, 28, 28)``; labels file: ``(N,)``
    """
    owner = "read_idx"
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: no file at {str(path)!r}")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip's magic number
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{owner}: {str(path)!r} is a damaged gzip file ({err})") from err
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{owner}: {str(path)!r} is not an IDX file: expected a magic number 00 00 <type> <ndim> "
            f"with type in {[hex(k) for k in _IDX_DTYPES]}, got {data[:4].hex(' ') or 'an empty file'}"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{owner}: {str(path)!r} is truncated inside its header ({len(data)} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise ValueError(
            f"{owner}: {str(path)!r} is {what}: shape {shape} needs {expected} bytes of data, "
            f"found {found}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


# ---- where files live ------------------------------------------------------------------------
def default_data_home() -> Path:
    """``$NNLIB_DATA`` when set, else the user's cache folder (``pooch.os_cache("nnlib")``)."""
    env = os.environ.get("NNLIB_DATA")
    if env:
        return Path(env).expanduser()
    import pooch  # imported here: only the "full" download needs it

    return Path(pooch.os_cache("nnlib"))


def _data_home(data_home, owner: str) -> Path:
    """The folder to use, checked for type and for a file standing where a folder should be."""
    if data_home is None:
        home = default_data_home()
        what = "NNLIB_DATA" if os.environ.get("NNLIB_DATA") else "the cache folder"
    elif isinstance(data_home, (str, os.PathLike)):
        home, what = Path(os.fspath(data_home)).expanduser(), "argument 'data_home'"
    else:
        raise TypeError(f"{owner}: argument 'data_home' must be a folder path (str or path-like) or "
                        f"None, got {type(data_home).__name__} {data_home!r}")
    for folder in (home, *home.parents):  # the nearest part of the path that exists
        with contextlib.suppress(OSError):
            if folder.exists():
                if not folder.is_dir():
                    raise ValueError(f"{owner}: {what} must be a folder, but {str(folder)!r} is a file")
                break
    return home


def _cannot_write(home: Path) -> str | None:
    """None when files can be created in ``home`` (made when missing), else the reason why not."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as err:
        return err.strerror or str(err)
    return None


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def _md5(path: Path) -> str | None:
    """The file's MD5, or None when it is absent or cannot be read."""
    try:
        return hashlib.md5(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _to_images(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, 784) or (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (pixels.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0))


# ---- the 5k subset, shipped as package data --------------------------------------------------
def _mnist_5k_file():
    """nnlib/data/mnist_5k.npz, wherever the package is installed (a folder or a zip)."""
    return resources.files("nnlib").joinpath(_PACKAGE_5K[0]).joinpath(_PACKAGE_5K[1])


def _load_5k(owner: str):
    source = _mnist_5k_file()
    damaged = f"{owner}: nnlib's package file {'/'.join(_PACKAGE_5K)} is damaged"
    try:
        with source.open("rb") as f, np.load(f, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _5K_SHAPES}
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{owner}: the '5k' subset ({'/'.join(_PACKAGE_5K)}) is missing from "
                                "this nnlib install; reinstall nnlib") from err
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"{damaged} ({type(err).__name__}: {err}); reinstall nnlib") from err
    for name, shape in _5K_SHAPES.items():
        arr = arrays[name]
        if arr.shape != shape or arr.dtype != np.uint8 or (name.endswith("labels") and arr.max() > 9):
            raise ValueError(f"{damaged}: '{name}' holds {arr.dtype} {arr.shape}, expected uint8 "
                             f"{shape}{' in 0-9' if name.endswith('labels') else ''}; reinstall nnlib")
    return (_to_images(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
            _to_images(arrays["test_images"]), arrays["test_labels"].astype(np.int64))


# ---- the official 60k/10k files ------------------------------------------------------------------
def _mirrors(base_url, owner: str = "load_mnist") -> list[str]:
    if base_url is None:
        base_url = os.environ.get("NNLIB_MNIST_URL") or list(MNIST_MIRRORS)
    if isinstance(base_url, str):
        base_url = base_url.split(",")
    elif not isinstance(base_url, (list, tuple)) or not all(isinstance(u, str) for u in base_url):
        raise TypeError(f"{owner}: argument 'base_url' must be a URL (str), a list of URLs or None, "
                        f"got {type(base_url).__name__} {base_url!r}")
    urls = [u.strip() for u in base_url if u.strip()]
    if not urls:
        raise ValueError(f"{owner}: argument 'base_url' holds no URL")
    return [u if u.endswith("/") else u + "/" for u in urls]


def _check_timeout(timeout, owner: str) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"{owner}: argument 'timeout' must be a number of seconds, "
                        f"got {type(timeout).__name__} {timeout!r}")
    if not (np.isfinite(timeout) and timeout > 0):
        raise ValueError(f"{owner}: argument 'timeout' must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _download(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Fetch ``url`` into ``dest``: a temporary file beside it, MD5-checked, then renamed."""
    import pooch

    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    os.close(fd)
    try:
        pooch.HTTPDownloader(progressbar=False, timeout=timeout)(url, tmp, None)
        got = _md5(Path(tmp))
        if got != md5:
            raise ValueError(f"the file's MD5 is {got}, expected {md5}")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a shared cache must be readable
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fetch(name: str, folders: list[Path], mirrors: list[str], timeout: float, progress: bool,
           owner: str) -> Path:
    """A valid copy of ``name``: from the first folder holding one, else downloaded into the last."""
    import requests  # pooch's HTTP client

    md5 = MNIST_MD5[name]
    for folder in folders:
        if _md5(folder / name) == md5:
            return folder / name
    errors = []
    for i, base in enumerate(mirrors):
        _say(progress, f"{owner}: downloading {name} from {base} (giving up after {timeout:g} s without an answer)")
        start = time.perf_counter()
        try:
            _download(base + name, folders[-1] / name, md5, timeout)
            return folders[-1] / name
        except Exception as err:  # noqa: BLE001 - network, HTTP and hash errors: next mirror
            why = f"{type(err).__name__}: {err}"
            if isinstance(err, requests.Timeout):
                why = f"no answer within {timeout:g} s ({type(err).__name__})"
            errors.append(f"{base + name}: {why}")
            more = "; trying the next mirror" if i + 1 < len(mirrors) else ""
            _say(progress, f"{owner}:   failed after {time.perf_counter() - start:.1f} s: {why}{more}")
    raise ConnectionError(
        f"{owner}: could not download {name} with MD5 {md5} from any mirror:\n  "
        + "\n  ".join(errors)
        + "\nWithout internet access use load_mnist('5k'): 5,000 real MNIST digits that ship "
        "with nnlib and need no download."
    )


def _load_full(data_home, mirrors: list[str], timeout: float, progress: bool, owner: str):
    home = _data_home(data_home, owner)
    problem = _cannot_write(home)
    with contextlib.ExitStack() as stack:
        folders = [home]
        if problem is not None:  # read what the folder holds, download the rest into a temporary one
            folders.append(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nnlib-mnist-"))))
        paths = {name: _fetch(name, folders, mirrors, timeout, progress, owner) for name in MNIST_MD5}
        if any(path.parent != home for path in paths.values()):
            warnings.warn(
                f"{owner}: cannot write to the data folder {str(home)!r} ({problem}), so the download "
                "is not kept and the next call downloads it again; pass data_home= (or set "
                "NNLIB_DATA) to a folder you can write to", UserWarning, stacklevel=3)
        arrays = {}
        for split in ("train", "t10k"):
            images = read_idx(paths[f"{split}-images-idx3-ubyte.gz"])
            labels = read_idx(paths[f"{split}-labels-idx1-ubyte.gz"])
            if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
                raise ValueError(
                    f"{owner}: {split} files hold images {images.shape} and labels {labels.shape}; "
                    "expected (N, 28, 28) and (N,)"
                )
            arrays[split] = (_to_images(images), labels.astype(np.int64))
    return (*arrays["train"], *arrays["t10k"])


def load_mnist(subset: str = "5k", data_home=None, *, base_url=None, timeout: float = _DEFAULT_TIMEOUT,
               progress: bool = True):
    """MNIST digits as float32 images in [0, 1] and int64 labels.

    Parameters
    ----------
    subset : {"5k", "full"}, default "5k"
        "5k": 5,000 real digits (500 per class) that ship with nnlib as package data, no
        network needed, split 4,000 train / 1,000 test, stratified by class with a fixed
        seed; nothing is written anywhere. "full": the official 60,000 / 10,000 split,
        downloaded once (about 11 MB) into ``data_home``.
    data_home : str, path or None
        Folder for the "full" download ("5k" does not use it). None: ``$NNLIB_DATA`` if set,
        else the user's cache folder (``pooch.os_cache("nnlib")``). Created when missing.
        When it cannot be written, the files already in it are used and the rest are
        downloaded to a temporary folder, not kept, with a warning.
    base_url : str, list of str or None
        Where to download the "full" files from (tried in order). None:
        ``$NNLIB_MNIST_URL`` if set (commas separate several), else :data:`MNIST_MIRRORS`.
    timeout : float, default 30
        Seconds to wait for a mirror to connect or to send the next bytes before trying
        the next mirror ("full" only).
    progress : bool, default True
        Say on stderr which file is downloaded from where, and why a mirror failed.

    Returns
    -------
    X_train, y_train, X_test, y_test

    Raises
    ------
    ValueError
        for an unknown subset, a data_home (or NNLIB_DATA) that is a file, a base_url with
        no URL, a timeout that is not positive, or damaged package data.
    TypeError
        for a data_home, base_url or timeout of the wrong type.
    ConnectionError
        when "full" cannot be downloaded (offline): the message points to "5k".

    Warns
    -----
    UserWarning
        when "full" had to download into a temporary folder because data_home cannot be written.

    Shape
    -----
    - X_train: ``(N_train, 1, 28, 28)`` float32, y_train: ``(N_train,)`` int64
    - X_test: ``(N_test, 1, 28, 28)`` float32, y_test: ``(N_test,)`` int64
    - "5k": N_train = 4,000, N_test = 1,000; "full": 60,000 and 10,000

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_mnist("5k")
    >>> X_train.shape, X_test.shape, X_train.dtype
    ((4000, 1, 28, 28), (1000, 1, 28, 28), dtype('float32'))
    """
    owner = "load_mnist"
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(f"{owner}: argument 'subset' must be one of {list(_SUBSETS)}, got {subset!r}")
    # every argument is checked whatever the subset: a mistake should not wait for "full"
    if data_home is not None:
        _data_home(data_home, owner)
    mirrors = _mirrors(base_url, owner) if base_url is not None or subset == "full" else None
    timeout = _check_timeout(timeout, owner)
    if subset == "5k":
        return _load_5k(owner)
    return _load_full(data_home, mirrors, timeout, bool(progress), owner)
