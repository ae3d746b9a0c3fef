"""Citation checking on real clauses of the five plans (pure functions, no server)."""
from __future__ import annotations


import pytest

from assistant import textnorm
from assistant.citations import (
    NumberedClause,
    _normalise_with_map,
    best_sentence,
    check_llm_answer,
    split_sentences,
)
from llm_server import corpus_clauses


@pytest.fixture(scope="module", params=["auto", "raw"])
def clauses(project_root, request):
    # "auto": parsed clauses from index/clauses.jsonl when ingested; "raw": lines of the raw files
    cs = corpus_clauses(project_root, source=request.param)
    assert len(cs) >= 3, "need real clauses from at least three plans"
    return cs


@pytest.fixture(scope="module")
def numbered(clauses):
    return [NumberedClause.from_clause(i + 1, c) for i, c in enumerate(clauses[:3])]


def long_sentences(text: str) -> list[str]:
    return [s for s in split_sentences(text) if len(s) >= 15]


def assert_contract(checked):
    """The invariant the UI relies on: each quote is an exact substring of its clause."""
    for c in checked.citations:
        d = c.to_contract()
        assert set(d) == {"n", "doc_id", "title", "place", "path", "heading", "quote", "clause_text"}
        assert d["quote"] and d["quote"] in d["clause_text"]
    assert [c.n for c in checked.citations] == list(range(1, len(checked.citations) + 1))


# -- sentences ---------------------------------------------------------------


def test_split_sentences_keeps_punctuation_and_is_substrings(clauses):
    for c in clauses:
        sents = split_sentences(c.text)
        assert sents
        for s in sents:
            assert s in c.text and s == s.strip()
        # nothing but whitespace is lost
        assert "".join("".join(sents).split()) == "".join(c.text.split())
    assert split_sentences("甲。乙；丙！\n丁？戊") == ["甲。", "乙；", "丙！", "丁？", "戊"]


def test_best_sentence_finds_the_sentence_a_statement_restates(clauses):
    for c in clauses:
        sents = long_sentences(c.text)
        target = sents[-1]
        # the statement carries only the middle of the sentence, with other framing
        statement = "规划提到" + target[3:-3]
        assert best_sentence(c.text, statement) == target


def test_normalised_map_agrees_with_for_compare(project_root):
    # every line of every raw plan: the mapped normalisation must be for_compare itself,
    # or verified quotes could be cut from the wrong place
    for p in sorted((project_root / "corpus").glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            nd = _normalise_with_map(line)
            assert nd.norm == textnorm.for_compare(line)
            assert len(nd.origin) == len(nd.norm)


# -- quotes -------------------------------------------------------------------


def test_exact_quote_is_accepted(numbered):
    s = long_sentences(numbered[1].text)[0]
    checked = check_llm_answer(f"根据规划，「{s}」[2]", numbered)
    assert checked.usable and not checked.not_found
    assert_contract(checked)
    (cit,) = checked.citations
    assert cit.source_n == 2 and cit.n == 1 and cit.doc_id == numbered[1].doc_id
    assert cit.quote_status == "exact"
    assert textnorm.for_compare(s) in textnorm.for_compare(cit.quote)
    assert checked.text == f"根据规划，「{s}」[1]"
    assert not checked.dropped_quotes and not checked.repaired_quotes


def test_quote_in_other_script_is_replaced_by_the_clauses_own_words(clauses):
    trad = next((c for c in clauses if textnorm.to_simplified(c.text) != c.text), None)
    if trad is None:
        pytest.skip("no traditional-script clause in the corpus sample")
    nc = [NumberedClause.from_clause(1, trad)]
    original = next(s for s in long_sentences(trad.text) if textnorm.to_simplified(s) != s)
    simplified = textnorm.to_simplified(textnorm.strip_pinyin_notes(original))
    checked = check_llm_answer(f"方案要求「{simplified}」[1]", nc)
    assert_contract(checked)
    (cit,) = checked.citations
    assert cit.quote_status == "exact"
    assert textnorm.for_compare(cit.quote) == textnorm.for_compare(original)
    assert cit.quote in checked.text  # the answer now shows the verbatim quote


def test_near_exact_quote_is_repaired(numbered):
    s = max(long_sentences(numbered[0].text), key=len)
    assert len(s) >= 40
    # the model changed one character in the middle of a long quotation
    mid = len(s) // 2
    altered = s[:mid] + ("甲" if s[mid] != "甲" else "乙") + s[mid + 1:]
    checked = check_llm_answer(f"规划写道「{altered}」[1]", numbered)
    assert_contract(checked)
    (cit,) = checked.citations
    assert cit.quote_status == "repaired"
    assert len(checked.repaired_quotes) == 1 and checked.repaired_quotes[0].original == altered
    assert textnorm.for_compare(s) in textnorm.for_compare(cit.quote)
    assert altered not in checked.text and cit.quote in checked.text


def test_quote_not_in_clause_is_unquoted_and_unsupported_citation_dropped(numbered, clauses):
    other = long_sentences(clauses[3].text)[0]  # real plan text, but in no clause given
    checked = check_llm_answer(f"规划要求「{other}」[1]", numbered)
    assert checked.dropped_quotes and checked.dropped_quotes[0].original == other
    assert checked.dropped_citations == [1]
    assert not checked.usable and checked.citations == []
    assert "「" not in checked.text and "[1]" not in checked.text
    assert other in checked.text  # the words stay, no longer presented as a quotation


def test_false_quote_with_supported_statement_keeps_citation_with_best_sentence(numbered, clauses):
    sents = long_sentences(numbered[0].text)
    statement = sents[-1].rstrip("。；")
    fake = long_sentences(clauses[3].text)[0]
    checked = check_llm_answer(f"{statement}，并且「{fake}」[1]", numbered)
    assert_contract(checked)
    (cit,) = checked.citations
    assert cit.quote_status == "best_sentence" and cit.quote == sents[-1]
    assert checked.dropped_quotes


def test_quote_under_the_wrong_number_is_reattributed(numbered):
    s2 = long_sentences(numbered[2].text)[0]
    checked = check_llm_answer(f"规划提出「{s2}」[1]。", numbered)
    assert_contract(checked)
    # clause 1 does not back the statement; clause 3, which says it, is cited instead
    assert [(c.n, c.source_n, c.quote_status) for c in checked.citations] == [(1, 3, "exact")]
    assert checked.dropped_citations == [1]
    assert [q.found_in for q in checked.reattributed_quotes] == [3]
    assert checked.text == f"规划提出「{s2}」[1]。"


def test_quote_after_the_last_marker_is_checked_too(numbered, clauses):
    s0 = long_sentences(numbered[0].text)[0]
    s1 = long_sentences(numbered[1].text)[0]
    fake = long_sentences(clauses[3].text)[0]
    checked = check_llm_answer(f"「{s0}」[1]。另有「{s1}」，以及「{fake}」。", numbered)
    assert f"「{s1}」" in checked.text  # verbatim from a given clause: stays a quotation
    assert f"「{fake}」" not in checked.text and fake in checked.text
    assert [q.original for q in checked.dropped_quotes] == [fake]


def test_quote_after_its_marker(numbered):
    s0 = long_sentences(numbered[0].text)[0]
    s1 = long_sentences(numbered[1].text)[0]
    checked = check_llm_answer(f"- [2]「{s1}」\n- [1]：「{s0}」", numbered)
    assert_contract(checked)
    assert [(c.source_n, c.quote_status) for c in checked.citations] == [(2, "exact"), (1, "exact")]
    assert not checked.dropped_quotes


def test_short_quoted_terms_are_not_treated_as_quotations(numbered):
    s = long_sentences(numbered[0].text)[0]
    term = "".join(ch for ch in s if not textnorm._is_punct_or_space(ch))[:3]
    checked = check_llm_answer(f"文中提到“{term}”，「{s}」[1]", numbered)
    assert_contract(checked)
    assert checked.citations[0].quote_status == "exact"
    assert not checked.dropped_quotes and f"“{term}”" in checked.text


# -- markers --------------------------------------------------------------------


def test_marker_for_a_clause_not_given_is_dropped(numbered):
    s0 = long_sentences(numbered[0].text)[0]
    s1 = long_sentences(numbered[1].text)[0]
    checked = check_llm_answer(f"「{s0}」[1][7]。另外「{s1}」[7]", numbered)
    assert checked.dropped_markers == [7]
    assert "[7]" not in checked.text
    assert_contract(checked)
    assert [c.source_n for c in checked.citations] == [1]


def test_renumbering_follows_first_use(numbered):
    s0 = long_sentences(numbered[0].text)[0]
    s2 = long_sentences(numbered[2].text)[0]
    checked = check_llm_answer(f"「{s2}」[3]\n「{s0}」[1]\n再次「{s2}」[3]", numbered)
    assert_contract(checked)
    assert [(c.n, c.source_n) for c in checked.citations] == [(1, 3), (2, 1)]
    assert checked.text.count("[1]") == 2 and checked.text.count("[2]") == 1 and "[3]" not in checked.text


@pytest.mark.parametrize("group", ["[1, 2]", "[1][2]", "【1】【2】", "［1］［2］", "[1-2]", "[1，2]"])
def test_marker_group_formats(numbered, group):
    s0 = long_sentences(numbered[0].text)[0]
    s1 = long_sentences(numbered[1].text)[0]
    checked = check_llm_answer(f"「{s0}」，「{s1}」{group}", numbered)
    assert_contract(checked)
    assert [c.source_n for c in checked.citations] == [1, 2]
    assert all(c.quote_status == "exact" for c in checked.citations)
    assert checked.text.endswith("[1][2]")


def test_not_found_marker(numbered):
    checked = check_llm_answer("NOT_FOUND\n所提供的规划没有明确规定这一点。", numbered)
    assert checked.not_found and not checked.usable
    assert "NOT_FOUND" not in checked.text and checked.text.startswith("所提供的规划")


def test_not_found_with_related_citation(numbered):
    s = long_sentences(numbered[1].text)[0]
    checked = check_llm_answer(f"NOT_FOUND\n规划未具体规定；相关内容为「{s}」[2]", numbered)
    assert checked.not_found and checked.usable
    assert_contract(checked)


def test_english_statement_without_quote_keeps_citation(numbered):
    q_sentence = long_sentences(numbered[0].text)[-1]
    checked = check_llm_answer("The plan sets this target [1].", numbered, query=q_sentence[2:-2])
    assert_contract(checked)
    (cit,) = checked.citations
    assert cit.quote_status == "best_sentence" and cit.quote == q_sentence


def test_uncited_statements_are_reported(numbered):
    s = long_sentences(numbered[0].text)[0]
    checked = check_llm_answer(f"「{s}」[1]\n此外还将设立一个专门的基金支持企业。", numbered)
    assert checked.uncited == ["此外还将设立一个专门的基金支持企业。"]
