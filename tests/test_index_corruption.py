"""Every file of a real index, corrupted for real (truncated, overwritten, not UTF-8):
the CLI says so in one ``error:`` line and exits 2 (or, where the damaged file is
not needed for the answer, answers correctly), and ``build`` repairs the index.

One real index of the five plans (USE, with an IVF vector index so that the
approximate index's file exists too) is built per module; each case works on a
copy of it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.artefacts import CHUNKS, INGEST, ArtefactStore
from assistant.builder import IndexBuilder
from assistant.cli import main
from assistant.embcache import EmbeddingCache
from assistant.indexfiles import BUILDS_DIR, CURRENT_FILE, read_current
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import IndexStore

BUILD_FILES = [
    "manifest.json", "docs.json", "clause_table.json", "chunk_doc.npy", "chunk_ord.npy", "chunk_row_ptr.npy",
    "row_chunk.npy", "row_keys.npy", "row_keys_row.npy", "bm25_data.npy", "bm25_indices.npy", "bm25_indptr.npy",
    "bm25_chunk_len.npy", "bm25_terms.json", "vectors.npy", "ann.faiss",
]
ARTEFACTS = ["ingest artefact", "chunks artefact"]
QUESTION = "嘉兴对知识产权质押融资定了什么目标？"  # answered from the jiaxing plan, whose artefacts are damaged below


def _settings(root: Path) -> Settings:
    s = Settings.load(config_file=root / "no-config.toml", env={})
    s.corpus_dir = str(root / "corpus")
    s.index_dir = str(root / "index")
    s.faiss_index = "ivf"
    return s


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    IndexBuilder(_settings(root)).build(progress=False)
    return root


def _copy(pristine: Path, dst: Path) -> tuple[Settings, Path]:
    shutil.copytree(pristine / "corpus", dst / "corpus")
    shutil.copytree(pristine / "index", dst / "index")
    settings = _settings(dst)
    cfg = dst / "assistant.toml"
    cfg.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{settings.index_dir}"\nfaiss_index = "ivf"\n',
                   encoding="utf-8")
    return settings, cfg


def _target(settings: Settings, name: str) -> Path:
    index_dir = Path(settings.index_dir)
    if name == CURRENT_FILE:
        return index_dir / CURRENT_FILE
    build = index_dir / BUILDS_DIR / read_current(index_dir)
    if name in ARTEFACTS:
        store = IndexStore.load(settings)
        entry = next(d for d in store.docs.table if d["id"] == "jiaxing")
        stage, suffix = ("ingest", INGEST) if name.startswith("ingest") else ("chunks", CHUNKS)
        return ArtefactStore(index_dir).path(entry[stage]["key"], suffix)
    return build / name


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":  # same size, the start overwritten (headers, JSON, a build name)
        n = min(len(data), 64)
        path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(n)) + data[n:])
    elif how == "not-utf8":
        path.write_bytes(b"\xff\xfe\x00" + data[3:] if len(data) > 3 else b"\xff\xfe\x00")
    elif how == "empty":
        path.write_bytes(b"")
    else:
        raise ValueError(how)


CASES = ([(CURRENT_FILE, how) for how in ("garbage", "not-utf8", "truncate")]
         + [(name, how) for name in BUILD_FILES + ARTEFACTS for how in ("truncate", "garbage")]
         + [("manifest.json", "not-utf8"), ("docs.json", "empty"), ("ingest artefact", "not-utf8")])


@pytest.mark.parametrize("name,how", CASES, ids=[f"{n}-{h}" for n, h in CASES])
def test_corrupted_file_gives_one_error_line_and_build_repairs_it(pristine, tmp_path, capsys, name, how):
    settings, cfg = _copy(pristine, tmp_path)
    target = _target(settings, name)
    _corrupt(target, how)

    # the CLI: one error line and exit 2 (or, when the damaged file is not read to answer, an answer)
    rc = main(["--config", str(cfg), "ask", "--json", QUESTION])
    out, err = capsys.readouterr()
    # only an artefact the answer does not read (the chunks of a document), damaged
    # without changing its size, goes unnoticed until the next build
    assert rc == (0 if (name, how) == ("chunks artefact", "garbage") else 2), (rc, err)
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "python -m assistant build" in lines[0] and "Traceback" not in err
    else:
        assert rc == 0 and "Traceback" not in err, err
        assert "质押融资" in out  # the answer did not need the damaged file

    # build repairs it: the index loads, every document's clauses read back, searches work
    assert main(["--config", str(cfg), "build", "--json"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    store = IndexStore.load(settings)
    assert len(list(store.clauses.values())) == store.manifest["counts"]["clauses"]
    assert len(store.chunks[0].text) > 0
    assert store.bm25_search("知识产权质押融资", 3, docs=["jiaxing"])
    vec = store.vectors.fetch(np.array([0]))[0]
    assert store.dense_search_vec(vec, 3)[0][0] == int(store.dense_owner[0])
    # and a second build has nothing left to repair
    again = IndexBuilder(settings).build(progress=False)
    assert again.up_to_date and not again.repaired


def test_app_repairs_a_damaged_index_and_starts(pristine, tmp_path):
    """The app does not refuse to start: it says what is wrong and rebuilds."""
    from assistant.ui import prepare_pipeline

    settings, _ = _copy(pristine, tmp_path)
    _corrupt(Path(settings.index_dir) / CURRENT_FILE, "not-utf8")
    _corrupt(_target_after_current_fix(settings), "truncate")
    said: list[str] = []
    pipeline = prepare_pipeline(settings, log=said.append)
    assert any("damaged" in s for s in said)
    reply = pipeline.ask(QUESTION)
    assert not reply["not_found"] and reply["citations"]


def _target_after_current_fix(settings: Settings) -> Path:
    # CURRENT is unreadable, so name the (only) build folder directly
    builds = [p for p in (Path(settings.index_dir) / BUILDS_DIR).iterdir() if not p.name.startswith(".")]
    return builds[0] / "vectors.npy"


def test_a_damaged_embedding_cache_shard_is_set_aside(pristine, tmp_path):
    """The cache is an optimisation: an unreadable shard is renamed *.bad with a
    warning and its texts are embedded again; nothing fails."""
    settings, _ = _copy(pristine, tmp_path)
    shards = list((Path(settings.index_dir) / "embcache").rglob("0*.npy"))
    assert shards
    folder = shards[0].parent
    before = len(EmbeddingCache(folder, "use").load_index())
    _corrupt(shards[0], "truncate")
    cache = EmbeddingCache(folder, "use").load_index()
    assert len(cache) < before
    assert (folder / (shards[0].name + ".bad")).exists()


def test_large_files_are_checked_by_sampled_blocks(pristine, tmp_path, monkeypatch):
    """Files above SAMPLED_ABOVE are recorded by a checksum of sampled blocks (reading a
    few MB of a GB-sized vector file): a damaged region is still found and repaired."""
    import assistant.indexfiles as indexfiles

    monkeypatch.setattr(indexfiles, "SAMPLED_ABOVE", 1 << 20)
    settings, _ = _copy(pristine, tmp_path)
    plan = sorted(Path(settings.corpus_dir).glob("0*.txt"))[0]
    with open(plan, "a", encoding="utf-8") as fh:
        fh.write("\n补充：本句只为让索引重建一次。\n")
    IndexBuilder(settings).build(progress=False)
    store = IndexStore.load(settings)
    record = store.manifest["files"]["vectors.npy"]
    assert record["sha1"].startswith("sample:")
    path = store.path / "vectors.npy"
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 200_000] = bytes(200_000)
    path.write_bytes(bytes(data))
    del store
    summary = IndexBuilder(settings).build(progress=False)
    assert not summary.up_to_date and any(p.endswith("vectors.npy") for p in summary.repaired)
