"""The index folder's layout, and reading and writing its files safely.

Layout of ``settings.index_dir``::

    CURRENT                    name of the build in use (one line)
    builds/<id>/               one complete index: manifest.json (with the size and
                               sha1 of every file it uses), the document table, the
                               lexical index and the vector rows (see store.py); a
                               process using it holds a shared lock on .readers.lock,
                               and builds never remove a build in use
    docs/<ab>/<key>.*.json     per-document artefacts, content-addressed: the cleaned
                               text and clauses (``.ingest.json``), the chunks, sentence
                               rows and BM25 term counts (``.chunks.json``)
    embcache/<model>/          embeddings of texts by text digest, in small shard files
    clauses.jsonl,             what the last ``ingest`` parsed, for people and tools to
    documents.jsonl            read; the index never reads them

Every write goes to a temporary file that is fsynced and renamed over the target,
so a crash leaves either the old file or the new one. Every read that finds a file
unreadable raises ``IndexCorruptError``, which tells the user to run ``build``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from .errors import IndexCorruptError

CURRENT_FILE = "CURRENT"
BUILDS_DIR = "builds"
DOCS_DIR = "docs"
CACHE_DIR = "embcache"
MANIFEST = "manifest.json"
EXPORT_CLAUSES = "clauses.jsonl"
EXPORT_DOCUMENTS = "documents.jsonl"

BUILD_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{12}Z$")


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any, indent: int | None = None) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent))


def atomic_write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sha1_file(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha1_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


SAMPLED_ABOVE = 64 << 20  # files larger than this are checksummed on a sample of blocks
SAMPLE_BLOCK = 1 << 16
SAMPLE_BLOCKS = 64


def sampled_sha1(path: Path) -> str:
    """sha1 of the first and last MB and of blocks spread evenly between: reads a few MB
    of a GB-sized vector file, and still sees a damaged header, a truncation or an
    overwritten region of any size beyond a few blocks."""
    size = path.stat().st_size
    h = hashlib.sha1(str(size).encode())
    with open(path, "rb") as fh:
        offsets = [0, max(0, size - (1 << 20))]
        offsets += [int(i * size / (SAMPLE_BLOCKS + 1)) for i in range(1, SAMPLE_BLOCKS + 1)]
        for off in sorted(set(offsets)):
            fh.seek(off)
            h.update(fh.read(1 << 20 if off in (0, max(0, size - (1 << 20))) else SAMPLE_BLOCK))
    return "sample:" + h.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """What the manifest remembers of a file it uses, to tell later that it is intact:
    its size and sha1 (of a sample of blocks for a very large file)."""
    size = path.stat().st_size
    return {"size": size, "sha1": sampled_sha1(path) if size > SAMPLED_ABOVE else sha1_file(path)}


def check_file(path: Path, record: dict[str, Any], index_dir: Path | str, deep: bool) -> None:
    """Raise IndexCorruptError when ``path`` is missing, has another size, or (``deep``)
    other content than ``record`` says."""
    name = _shown(path, index_dir)
    try:
        size = path.stat().st_size
    except OSError:
        raise IndexCorruptError(str(index_dir), f"{name} is missing") from None
    if size != record.get("size"):
        raise IndexCorruptError(str(index_dir), f"{name} has {size} bytes, the index recorded {record.get('size')}")
    if deep:
        try:
            sampled = str(record.get("sha1", "")).startswith("sample:")
            digest = sampled_sha1(path) if sampled else sha1_file(path)
        except OSError as e:
            raise IndexCorruptError(str(index_dir), f"{name} cannot be read: {e.strerror or e}") from None
        if digest != record.get("sha1"):
            raise IndexCorruptError(str(index_dir), f"{name} does not hold what the index recorded (checksum differs)")


def read_json(path: Path, index_dir: Path | str, expect: type = dict) -> Any:
    """A JSON file of the index; IndexCorruptError when it cannot be read as one."""
    name = _shown(path, index_dir)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(str(index_dir), f"{name} is missing") from None
    except OSError as e:
        raise IndexCorruptError(str(index_dir), f"{name} cannot be read: {e.strerror or e}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise IndexCorruptError(str(index_dir), f"{name} is not valid JSON ({type(e).__name__})") from None
    if not isinstance(data, expect):
        raise IndexCorruptError(str(index_dir), f"{name} holds a {type(data).__name__}, not a {expect.__name__}")
    return data


def read_json_bytes(data: bytes, name: str, index_dir: Path | str, expect: type = dict) -> Any:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise IndexCorruptError(str(index_dir), f"{name} is not valid JSON ({type(e).__name__})") from None
    if not isinstance(obj, expect):
        raise IndexCorruptError(str(index_dir), f"{name} holds a {type(obj).__name__}, not a {expect.__name__}")
    return obj


def _shown(path: Path, index_dir: Path | str) -> str:
    try:
        return str(Path(path).relative_to(index_dir))
    except ValueError:
        return str(path)


def read_current(index_dir: Path | str, strict: bool = True) -> str | None:
    """The name of the build in use; None when there is none.

    ``strict``: an unreadable CURRENT (not UTF-8, not a build name, naming no build)
    raises IndexCorruptError; otherwise it counts as no build (what ``build`` wants,
    since it is about to replace it)."""
    p = Path(index_dir) / CURRENT_FILE
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        if strict:
            raise IndexCorruptError(str(index_dir), f"{CURRENT_FILE} cannot be read: {e.strerror or e}") from None
        return None
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = None
    if not name and raw.strip() == b"":
        return None
    if not name or not BUILD_ID_RE.match(name) or not (Path(index_dir) / BUILDS_DIR / name).is_dir():
        if strict:
            raise IndexCorruptError(str(index_dir), f"{CURRENT_FILE} does not name a build of this index")
        return None
    return name


READER_LOCK = ".readers.lock"


def hold_reader_lock(build_dir: Path):
    """Mark a build as in use by this process until it exits (a shared lock on a
    file of the build); ``build`` does not remove a build someone holds. Returns the
    open file, which must be kept referenced (None when the folder is read-only)."""
    import fcntl

    try:
        fh = open(build_dir / READER_LOCK, "a+")
    except OSError:
        return None
    try:
        fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def build_in_use(build_dir: Path) -> bool:
    """Whether some process holds the reader lock of a build."""
    import fcntl

    p = build_dir / READER_LOCK
    if not p.is_file():
        return False
    try:
        with open(p, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def write_current(index_dir: Path, build_id: str) -> None:
    atomic_write_text(index_dir / CURRENT_FILE, build_id + "\n")
    fsync_dir(index_dir)


__all__ = [
    "CURRENT_FILE", "BUILDS_DIR", "DOCS_DIR", "CACHE_DIR", "MANIFEST", "EXPORT_CLAUSES", "EXPORT_DOCUMENTS",
    "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_jsonl", "sha1_file", "sha1_bytes",
    "file_record", "check_file", "read_json", "read_json_bytes", "read_current", "write_current", "fsync_dir",
    "hold_reader_lock", "build_in_use", "READER_LOCK",
]
