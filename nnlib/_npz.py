"""Saving and loading ``.npz`` archives for :meth:`Module.save` / :meth:`Module.load`.

An ``.npz`` is a zip archive of ``.npy`` members; each member starts with a small header
(shape, dtype, order) before its data. Loading reads in three passes so that nothing is
lost and nothing large is read on trust:

1. the zip index and every member's header, no data (a 2 GB array costs nothing here);
2. the caller checks names, shapes and dtypes against its model;
3. only then the data, each member checked against its CRC, into new arrays.

Any failure of the archive itself (truncated, bytes flipped, not a zip) becomes one
ValueError saying the file is damaged.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy

# what a damaged archive can raise from zipfile, zlib and numpy's header parser
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
           SyntaxError, KeyError, OverflowError, UnicodeDecodeError)


class _Damaged(Exception):
    pass


def _path(file, owner: str) -> str:
    try:
        path = os.fspath(file)
    except TypeError:
        raise TypeError(
            f"{owner}: argument 'file' must be a path or a binary file object, got {type(file).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return path if path.endswith(".npz") else path + ".npz"  # numpy's rule for np.savez


def save(file, state: dict, owner: str) -> None:
    if hasattr(file, "write"):
        np.savez(file, **state)
        return
    path = _path(file, owner)
    if os.path.isdir(path):
        raise ValueError(f"{owner}: {path!r} is a directory; expected a file name such as 'model.npz'")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{owner}: the folder {folder!r} does not exist (saving to {path!r})")
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **state)
        os.replace(tmp, path)  # atomic: the old file stays whole until the new one is
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _open(file, owner: str):
    """(file object, description, whether we opened it)."""
    if hasattr(file, "read"):
        if not (hasattr(file, "seekable") and file.seekable()):
            file = io.BytesIO(file.read())  # zip archives are read from the end
        return file, "the file object", False
    path = _path(file, owner)
    plain = os.fspath(file) if not isinstance(file, bytes) else os.fsdecode(file)
    if not os.path.exists(path) and os.path.exists(plain):
        path = plain  # a file saved under another suffix by other means
    if os.path.isdir(path):
        raise ValueError(f"{owner}: {path!r} is a directory; expected an .npz file written by save()")
    if not os.path.exists(path):
        also = f" (nor at {plain!r})" if plain != path else ""
        raise FileNotFoundError(f"{owner}: no file at {path!r}{also}")
    return open(path, "rb"), repr(path), True


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    """(shape, fortran_order, dtype, data offset) of one .npy member, reading its header only."""
    with zf.open(info) as member:
        version = npy.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(member)
        else:
            raise _Damaged(f"member {info.filename!r} has an unknown .npy format version {version}")
        return shape, fortran, dtype, member.tell()


def _declared_entries(fh) -> int | None:
    """The member count in the archive's end record (zipfile does not compare it with the
    members it finds, so a damaged directory can silently hide members)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - 22 - 0xFFFF))  # the end record: 22 bytes and a comment of <= 64 KiB
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 12:
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: a zip64 archive keeps it elsewhere


def _index(zf: zipfile.ZipFile, fh, owner: str, where: str) -> dict:
    headers = {}
    declared = _declared_entries(fh)
    if declared is not None and declared != len(zf.infolist()):
        raise _Damaged(f"its directory lists {len(zf.infolist())} of the {declared} members it declares")
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise _Damaged(f"member {info.filename!r} is not a .npy array")
        name = info.filename[:-4]
        if name in headers:
            raise _Damaged(f"it holds {name!r} twice")
        shape, fortran, dtype, offset = _header(zf, info)
        if dtype.hasobject:
            raise ValueError(
                f"{owner}: {where} holds object arrays ({name!r}), which would need pickle to load; "
                "refusing (nnlib files hold plain numeric arrays only)"
            )
        if info.file_size != offset + int(np.prod(shape, dtype=object)) * dtype.itemsize:
            raise _Damaged(f"member {info.filename!r} is not as long as its header says")
        headers[name] = (info, shape, fortran, dtype, offset)
    return headers


def _read(zf: zipfile.ZipFile, info, shape, fortran, dtype, offset) -> np.ndarray:
    data = zf.read(info)  # checks the CRC: a flipped bit in the data is caught here
    count = int(np.prod(shape, dtype=object))
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def load(file, check, owner: str) -> dict:
    """The arrays of an ``.npz`` as a dict, after ``check({name: (shape, dtype)})`` approved
    the headers. Raises ValueError (damaged, object arrays, or whatever ``check`` refuses)."""
    fh, where, close = _open(file, owner)
    try:
        try:
            with zipfile.ZipFile(fh) as zf:
                headers = _index(zf, fh, owner, where)
                check({name: (h[1], h[3]) for name, h in headers.items()})
                return {name: _read(zf, *h) for name, h in headers.items()}
        except (_Damaged, *_DAMAGE) as err:
            if isinstance(err, ValueError) and str(err).startswith(owner):
                raise  # our own verdict (object arrays, a wrong shape), not damage
            raise ValueError(
                f"{owner}: {where} is not a readable .npz file: it is damaged (truncated or corrupted) "
                f"or was not written by save() ({type(err).__name__}: {err}); nothing was loaded"
            ) from err
    finally:
        if close:
            fh.close()
