"""Ingestion on the five real plans: cleaning rules, clause tree, outputs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from assistant.cleaning import Cleaner, Repairs, rule_ocr_markers, rule_ocr_numbers, rule_page_break_markers, rule_pinyin_notes
from assistant.ingest import ingest_corpus, read_clauses, read_documents
from assistant.settings import Settings
from assistant.textnorm import for_search

ROOT = Path(__file__).resolve().parent.parent

# Counted by hand on the raw files (see corpus/README-level notes in the tests' names).
EXPECTED_LEVELS = {
    # 8 chapters 一…八 (text cut off inside 八、(一)); sections 3+3+5+5+5+5+5+1;
    # 专栏1…11; 表1, 表2; the title/intro before 一、
    "jiaxing": {"preamble": 1, "chapter": 8, "section": 32, "box": 11, "table": 2},
    # 5 chapters; sections 2+2+2+5+4; items 5 (三、(二)) + 4+5+4+4+4 (四、)
    "haimen": {"preamble": 1, "chapter": 5, "section": 15, "item": 26},
    # 6 chapters (二 typed as 2、); （一）…（二十四） numbered across chapters
    "ningbo": {"preamble": 1, "chapter": 6, "section": 24},
    # 3 chapters; sections 2+5+3; items 3+4+5+2+2
    "yuncheng": {"preamble": 1, "chapter": 3, "section": 10, "item": 16},
    # 6 chapters; sections 6+4+3+4 (三…六); items 1…15 numbered across sections;
    # targets table (10 indicators) and the attachment's task list (30 rows)
    "shaoxing": {"preamble": 1, "chapter": 6, "section": 17, "item": 15, "table": 2, "table_row": 40, "attachment": 1},
}

NOISE = [
    "0.1元入场捕鱼", "钱柜登陆", "钱柜入口", "由会员分享", "浏览次数", "字体:", "分享:", "解读:点击查看",
    "图解:点击查看", "当前位置", "索引号", "(fā)", "(qū)", "(chuàng)", "IOO", "L5万", "22%o", "(S)", "(-)",
    "知徂", "Z禄", "?。", "二。三五",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("ingest")
    s = Settings.load(env={"ASSISTANT_INDEX_DIR": str(d / "index"), "ASSISTANT_CORPUS_DIR": str(ROOT / "corpus")})
    return ingest_corpus(s), d / "index"


def test_clause_counts_per_level_match_a_hand_count(report):
    rep, _ = report
    got = {d.meta.id: dict(Counter(c.level for c in d.clauses)) for d in rep.documents}
    assert got == EXPECTED_LEVELS
    assert not rep.errors


def test_no_noise_string_survives_in_clauses_jsonl(report):
    _, index = report
    raw = (index / "clauses.jsonl").read_text(encoding="utf-8")
    for noise in NOISE:
        assert noise not in raw, noise


def test_page_break_markers_join_split_words(report):
    rep, _ = report
    jx = next(d for d in rep.documents if d.meta.id == "jiaxing")
    assert "每万人发明专利拥有量”等10项" in jx.clean_text  # was 拥\n2、有量
    assert jx.counts["page_break_markers"] == 47
    assert "\n2、" not in jx.clean_text


def test_ocr_numbers_and_markers_fixed_in_context(report):
    rep, _ = report
    jx = next(d for d in rep.documents if d.meta.id == "jiaxing").clean_text
    assert "培育100家专利附加值高" in jx and "累计超1.5万件" in jx and "22%形成" in jx
    assert "二〇三五年远景目标" in jx
    assert "(三)鼓励重点产业专利导航" in jx and "(一)加强组织领导" in jx


def test_every_repair_applies_to_its_document(report):
    """A repair whose text is no longer in its document (the file changed), or that an
    earlier (longer) repair has already rewritten, would silently stop applying: each one
    finds its text when the repairs run in the cleaner's order."""
    from assistant.loaders import load_file

    repairs = Repairs.load(ROOT / "corpus" / "repairs.toml")
    rep, _ = report
    texts = {d.meta.id: load_file(ROOT / "corpus" / d.meta.file).text for d in rep.documents}
    for r in repairs.repairs:  # longest first, as Cleaner runs them
        assert r.find in texts[r.doc], (r.doc, r.find)
        texts[r.doc] = texts[r.doc].replace(r.find, r.replace)


def test_spam_repaired_with_the_word_it_replaced(report):
    rep, _ = report
    hm = next(d for d in rep.documents if d.meta.id == "haimen").clean_text
    assert "《关于强化知识产权保护的意见》" in hm
    assert "南通市海门区人民政府办公室" in hm


def test_yuncheng_pinyin_removed_and_mojibake_recovered_or_dropped(report):
    rep, _ = report
    yc = next(d for d in rep.documents if d.meta.id == "yuncheng")
    assert "發展" in yc.clean_text and "(fā)" not in yc.clean_text
    paths = {c.path: c for c in yc.clauses}
    assert paths["二、（一）"].heading == "推進知識產權高質量創造"  # fully recovered
    assert paths["三、（一）"].heading == "加強組織領導"
    assert paths["三、（二）"].heading == "加大資源保障"
    # what cannot be recovered is kept out rather than indexed as garbage
    for c in yc.clauses:
        assert not any(ch in c.text for ch in "ㄒㄈㄋㄎǘ┩┙┘"), c.path
    assert any("only partly recovered" in w for w in yc.warnings)


def test_simplified_question_matches_traditional_text(report):
    rep, _ = report
    yc = next(d for d in rep.documents if d.meta.id == "yuncheng")
    target = for_search("知识产权质押融资登记金额三年累计达到10亿元")
    hits = [c for c in yc.clauses if target in c.text_simplified]
    assert hits and hits[0].path == "一、（二）"
    assert "10億元" in hits[0].text  # the shown text keeps the document's own script


def test_paths_follow_the_documents_numbering(report):
    rep, _ = report
    by = {(c.doc_id, c.path): c for c in rep.clauses}
    assert by[("ningbo", "五、（十七）")].heading == "建立重大活动知识产权评议机制"
    assert by[("ningbo", "二、（一）")].text.startswith("（一）严格司法保护")
    assert ("jiaxing", "五、（三）专栏6") in by
    assert by[("shaoxing", "三、（三）6.")].heading == "强化协同保护"
    assert by[("haimen", "四、（一）4.")].heading == "推进知识产权全面创造能力"
    row = by[("shaoxing", "附件 第13项")]
    assert row.fields["责任单位"] == "市知识产权局、市司法局" and row.fields["进度安排"] == "2024年12月前"
    target = by[("shaoxing", "二、表 第7项")]
    assert target.fields == {"序号": "7", "指标名称": "知识产权调解组织(家)", "2023年底前基值": "151", "2025年底前目标值": "200"}


def test_clause_knows_parents_and_span(report):
    rep, _ = report
    docs = {d.meta.id: d for d in rep.documents}
    for c in rep.clauses:
        assert c.doc_id and c.title and c.path
        s, e = c.span
        clean = docs[c.doc_id].clean_text
        assert 0 <= s < e <= len(clean)
        if c.level != "table_row":
            assert clean[s:e].startswith(c.text[:10]), c.path
    c = next(c for c in rep.clauses if c.doc_id == "shaoxing" and c.path == "三、（三）6.")
    assert c.parent_paths == ["三、", "三、（三）"]
    assert c.parents == ["主要措施", "强化知识产权全链条保护"]


def test_outputs_written_and_readable(report):
    rep, index = report
    assert len(read_clauses(index)) == len(rep.clauses)
    docs = read_documents(index)
    assert [d["meta"]["id"] for d in docs] == ["jiaxing", "haimen", "ningbo", "yuncheng", "shaoxing"]
    first = json.loads((index / "clauses.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert {"doc_id", "title", "path", "heading", "text"} <= set(first)


def test_sixth_plan_and_bad_file_in_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "new_plan.txt").write_text(
        "某某市知识产权保护工作方案\n某某市人民政府办公室\n2025年3月1日\n一、总体要求\n加强知识产权保护。\n二、主要任务\n（一）强化行政保护\n开展专项行动。\n",
        encoding="utf-8",
    )
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    s = Settings.load(env={"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_CORPUS_DIR": str(corpus)})
    rep = ingest_corpus(s)
    new = next(d for d in rep.documents if d.meta.file == "new_plan.txt")
    assert new.meta.title == "某某市知识产权保护工作方案"
    assert new.meta.date == "2025-03-01" and new.meta.place == "某某市"
    assert "title" in new.meta.inferred
    assert [c.path for c in new.clauses] == ["前言", "一、", "二、", "二、（一）"]
    assert len(rep.documents) == 6
    assert len(rep.errors) == 1 and "broken.pdf" in str(rep.errors[0])


def test_ingest_cli_prints_table_and_json(tmp_path):
    env_index = str(tmp_path / "index")
    import os

    env = dict(os.environ, ASSISTANT_INDEX_DIR=env_index)
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "shaoxing" in out.stdout and "page_break_markers:47" in out.stdout
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    assert {d["doc_id"] for d in data["documents"]} == set(EXPECTED_LEVELS)
    yc = next(d for d in data["documents"] if d["doc_id"] == "yuncheng")
    assert yc["rules_fired"]["pinyin_notes"] > 200 and yc["rules_fired"]["mojibake_headings"] == 9


# --- single rules on small inputs (the general behaviour, beyond these five files) ---

def test_page_markers_need_a_run_of_consecutive_numbers():
    text = "一、总体要求\n2、加强知识产权保护\n正文。"
    assert rule_page_break_markers(text) == (text, 0)


def test_pinyin_notes_only_after_characters_with_tone_marks():
    assert rule_pinyin_notes("發(fā)展和區(qū)域") == ("發展和區域", 2)
    assert rule_pinyin_notes("附件(a)与(FTO)") == ("附件(a)与(FTO)", 0)


def test_ocr_number_rules_need_a_unit_or_context():
    assert rule_ocr_numbers("培育IOO家企业,超L5万件")[0] == "培育100家企业,超1.5万件"
    assert rule_ocr_numbers("PCT和FTO服务")[1] == 0


def test_ocr_marker_fixed_only_where_sequence_expects_it():
    assert rule_ocr_markers("(一)甲。(二)乙。(S)丙。")[0] == "(一)甲。(二)乙。(三)丙。"
    # (S) where (二) is expected is not a 三 look-alike: left alone
    assert rule_ocr_markers("(一)甲。(S)丙。")[1] == 0


def test_every_rule_reports_counts_per_document():
    c = Cleaner(Repairs.load(ROOT / "corpus" / "repairs.toml"))
    r = c.run("钱柜登陆,钱柜入口\n分享:\n正文", "x")
    assert set(r.counts) == set(Cleaner.RULES)
    assert r.counts["site_chrome"] == 1 and r.counts["spam"] == 1
    assert r.text == "正文"


def test_headings_run_into_their_body_are_cut_where_the_body_starts(report):
    """嘉兴 lost its line breaks: headings run straight into the body text."""
    rep, _ = report
    by = {c.path: c.heading for c in rep.clauses if c.doc_id == "jiaxing"}
    assert by["五、（四）"] == "健全知识产权投融资机制"  # …机制推进国家知识产权运营…
    assert by["一、（一）"] == "“十三五”期间知识产权事业的发展成效"  # …成效“十三五”期间,…
    assert by["五、（四）专栏7"] == "知识产权运营基金工程"
    assert by["六、（三）专栏9"] == "“云上稽查”综合执法系统工程"
    # headings that end at punctuation are left as they are
    assert by["三、"] == "完善知识产权治理体系,打造知识产权强市示范高地"
