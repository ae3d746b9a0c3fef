"""The knowledge base a user manages (issue 11): files checked by content and size,
and ``python -m assistant add / list / remove`` end to end on a private copy of the
real corpus and index (the incremental build embeds only the new document)."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant.knowledge import KnowledgeBaseError, drop_plan_entry, safe_name, sniff_kind
from assistant.settings import PROJECT_ROOT, Settings

NEW_PLAN = """示例市知识产权质押融资工作方案

一、工作目标
（一）融资规模。到2025年，示例市知识产权质押融资金额累计达到88亿元，服务企业不少于1200家。
二、支持措施
（一）贴息补助。对示例市企业知识产权质押贷款给予贷款利息百分之六十的贴息，单户每年最高50万元。
"""
NEW_Q = "示例市知识产权质押贷款贴息比例是多少？"


def docx_bytes(text: str) -> bytes:
    import docx

    d = docx.Document()
    for line in text.splitlines():
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_files_are_judged_by_content():
    assert sniff_kind(b"%PDF-1.7\n...") == "pdf"
    assert sniff_kind(docx_bytes(NEW_PLAN)) == "docx"
    assert sniff_kind("<html><body><p>正文</p></body></html>".encode()) == "html"
    assert sniff_kind(NEW_PLAN.encode("utf-8")) == "text"
    assert sniff_kind(NEW_PLAN.encode("gb18030")) == "text"
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("a.txt", "x")
    for bad in (other_zip.getvalue(), b"\x7fELF\x02\x01\x01\x00" + bytes(64)):
        with pytest.raises(KnowledgeBaseError):
            sniff_kind(bad)


def test_names_stay_inside_the_corpus_folder():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\x.txt") == "x.txt"
    assert safe_name(".hidden.txt") == "hidden.txt"
    assert safe_name("示例 方案;rm -rf.txt") == "示例_方案_rm_-rf.txt"


def test_a_plans_toml_entry_is_dropped_and_the_rest_kept(tmp_path):
    plans = tmp_path / "plans.toml"
    shutil.copy(PROJECT_ROOT / "corpus" / "plans.toml", plans)
    before = plans.read_text(encoding="utf-8")
    assert drop_plan_entry(plans, "ningbo")
    after = plans.read_text(encoding="utf-8")
    assert 'id = "ningbo"' not in after and 'id = "jiaxing"' in after and 'id = "shaoxing"' in after
    assert after.startswith(before[:before.index("[[plan]]")])  # the header comment stays
    assert not drop_plan_entry(plans, "no-such-id")


def test_corrected_metadata_is_written_into_the_entry_and_the_rest_kept(tmp_path):
    import tomllib

    from assistant.knowledge import KnowledgeBaseError, clean_meta_value, set_plan_entry

    plans = tmp_path / "plans.toml"
    plans.write_text('# header comment\n\n[[plan]]\nid = "a"\nfile = "a.txt"\ntitle = "甲"\n'
                     'aliases = ["甲市", "Jia"]  # kept\n\n[[plan]]\nid = "b"\nfile = "b.txt"\n', encoding="utf-8")
    set_plan_entry(plans, "a", "a.txt", {"place": "甲市", "title": '乙"\\方案'})
    set_plan_entry(plans, "new-1", "new.docx", {"doc_type": "scheme"})
    text = plans.read_text(encoding="utf-8")
    entries = {e["id"]: e for e in tomllib.loads(text)["plan"]}
    assert text.startswith("# header comment")
    assert entries["a"] == {"id": "a", "file": "a.txt", "title": '乙"\\方案', "place": "甲市", "aliases": ["甲市", "Jia"]}
    assert entries["b"] == {"id": "b", "file": "b.txt"}
    assert entries["new-1"] == {"id": "new-1", "file": "new.docx", "doc_type": "scheme"}
    assert clean_meta_value("title", " 两行\n标题 ") == "两行 标题"
    with pytest.raises(KnowledgeBaseError, match="unknown document type"):
        clean_meta_value("doc_type", "poem")
    with pytest.raises(KnowledgeBaseError, match="over 40"):
        clean_meta_value("place", "市" * 41)


@pytest.fixture
def private_index(index_settings, tmp_path) -> dict[str, str]:
    """A copy of the real corpus and of the session's index (its embedding cache
    included), as the environment of the CLI."""
    shutil.copytree(index_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(index_settings.index_dir, tmp_path / "index")
    return {"PATH": "/usr/bin:/bin", "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
            "ASSISTANT_CORPUS_DIR": str(tmp_path / "corpus"), "ASSISTANT_CONFIG": str(tmp_path / "none.toml"),
            "ASSISTANT_MAX_FILE_MB": "1"}


def cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_add_list_ask_remove(private_index, tmp_path):
    env = private_index
    src = tmp_path / "示例市质押融资方案.docx"
    src.write_bytes(docx_bytes(NEW_PLAN))
    proc = cli(env, "add", str(src), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["title"] == "示例市知识产权质押融资工作方案" and doc["clauses"] >= 4 and doc["file"] == src.name
    listed = json.loads(cli(env, "list", "--json").stdout)
    assert len(listed) == 6 and doc["doc_id"] in [d["doc_id"] for d in listed]

    reply = json.loads(cli(env, "ask", NEW_Q, "--json").stdout)
    assert reply["citations"] and reply["citations"][0]["doc_id"] == doc["doc_id"], reply["answer"]
    assert "六十" in reply["answer"]

    proc = cli(env, "remove", "示例市知识产权质押融资")  # a unique part of its title
    assert proc.returncode == 0, proc.stderr
    assert doc["doc_id"] in proc.stdout
    listed = json.loads(cli(env, "list", "--json").stdout)
    assert len(listed) == 5 and doc["doc_id"] not in [d["doc_id"] for d in listed]
    reply = json.loads(cli(env, "ask", NEW_Q, "--json").stdout)
    assert all(c["doc_id"] != doc["doc_id"] for c in reply["citations"])


@pytest.mark.slow
def test_cli_refuses_bad_files_with_one_error_line(private_index, tmp_path):
    env = private_index
    fake = tmp_path / "plan.pdf"
    fake.write_text(NEW_PLAN, encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text(NEW_PLAN * 4000, encoding="utf-8")  # over the 1 MB limit of this environment
    for path, words in ((fake, "content is text"), (big, "over the 1 MB limit"),
                        (tmp_path / "missing.txt", "no such file")):
        proc = cli(env, "add", str(path))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error:") and words in proc.stderr and "Traceback" not in proc.stderr
    proc = cli(env, "remove", "没有这份文件")
    assert proc.returncode == 2 and "no document" in proc.stderr
    assert len(json.loads(cli(env, "list", "--json").stdout)) == 5


def test_documents_listed_from_the_build_are_those_read_from_the_corpus(index_settings, tmp_path):
    """Start-up cost (issue 10): while the corpus shows the files the current build was
    made from, the knowledge base lists the documents from the summaries the build
    recorded; they are the rows read from the corpus and its artefacts, which a
    changed file (here one touched) brings back."""
    import os

    from assistant.builder import indexed_summaries
    from assistant.index import IndexBuilder
    from assistant.knowledge import KnowledgeBase

    shutil.copytree(index_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(index_settings.index_dir, tmp_path / "index")
    settings = Settings.load(config_file=tmp_path / "none.toml", env={})
    settings.corpus_dir, settings.index_dir = str(tmp_path / "corpus"), str(tmp_path / "index")
    assert indexed_summaries(settings) is None  # the copy's file times are not those recorded
    assert IndexBuilder(settings).build(progress=False).up_to_date  # records them
    assert indexed_summaries(settings) is not None
    from_build = KnowledgeBase(settings).documents()

    os.utime(sorted(Path(settings.corpus_dir).glob("0*.txt"))[0])
    assert indexed_summaries(settings) is None
    from_corpus = KnowledgeBase(settings).documents()
    assert len(from_build) == 5 and from_build == from_corpus
    assert all(d["clauses"] > 10 and d["quality"] for d in from_build)
