"""Corpus discovery (every file loaded or reported) and metadata inference on real documents."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.corpus import discover, infer_meta, infer_title, load_plans
from assistant.ingest import ingest_corpus, parse_document
from assistant.loaders import load_file
from assistant.models import PlanMeta
from assistant.places import Gazetteer
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LAWS = ROOT / "eval" / "corpora" / "laws-ip"


# --------------------------------------------------------------------------- discovery
@pytest.fixture
def messy_corpus(tmp_path):
    """The five plans plus a law in Markdown, in a sub-folder, and everything a careless
    user leaves in a corpus folder."""
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "laws").mkdir()
    shutil.copy(LAWS / "广东省版权条例(2022-09-29).md", corpus / "laws" / "广东省版权条例(2022-09-29).md")
    (corpus / ".DS_Store").write_bytes(b"\x00\x01")
    (corpus / ".drafts").mkdir()
    (corpus / ".drafts" / "x.txt").write_text("草稿", encoding="utf-8")
    (corpus / "targets.xlsx").write_bytes(b"PK\x03\x04 not really")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "same-plan.txt").symlink_to(corpus / "002_3f18ccc5e76827c3.txt")
    with open(corpus / "plans.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[plan]]\nid = "outside"\nfile = "../../etc/hostname"\n'
                 '\n[[plan]]\nid = "gone"\nfile = "deleted.txt"\n')
    return corpus


def test_every_file_is_loaded_or_refused_with_its_reason(messy_corpus):
    c = discover(messy_corpus)
    files = [m.file for m in c.documents]
    assert "laws/广东省版权条例(2022-09-29).md" in files and "same-plan.txt" in files
    assert len(files) == 7  # five plans, the law, the link inside the folder
    reasons = {r.file: r.reason for r in c.refused}
    assert set(reasons) == {".DS_Store", ".drafts/", "targets.xlsx", "passwd.txt", "../../etc/hostname", "deleted.txt"}
    assert "hidden" in reasons[".DS_Store"] and "hidden" in reasons[".drafts/"]
    assert "unknown file type .xlsx" in reasons["targets.xlsx"]
    assert "outside the corpus folder" in reasons["passwd.txt"] and "/etc/passwd" in reasons["passwd.txt"]
    assert "outside the corpus folder" in reasons["../../etc/hostname"]
    assert "not in the corpus folder" in reasons["deleted.txt"]
    # plans.toml data files are the corpus's own, not documents, and not refused
    assert not any(r.file in ("plans.toml", "repairs.toml", "userdict.txt") for r in c.refused)


def test_ingest_reports_refused_files_and_reads_nothing_outside(messy_corpus, tmp_path):
    s = Settings.load(config_file=tmp_path / "none.toml", env={})
    s.corpus_dir, s.index_dir = str(messy_corpus), str(tmp_path / "index")
    rep = ingest_corpus(s)
    assert len(rep.documents) == 7 and len(rep.refused) == 6
    text = "\n".join(d.clean_text for d in rep.documents)
    assert "root:x:0:0" not in text  # /etc/passwd was not read
    env = dict(os.environ, ASSISTANT_CORPUS_DIR=str(messy_corpus), ASSISTANT_INDEX_DIR=str(tmp_path / "index2"))
    out = subprocess.run([sys.executable, "-m", "assistant", "ingest"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "refused: passwd.txt: symbolic link to /etc/passwd" in out.stdout
    assert "refused: targets.xlsx: unknown file type .xlsx" in out.stdout
    assert "6 refused" in out.stdout


# --------------------------------------------------------------------------- metadata
def meta_of(name: str) -> PlanMeta:
    loaded = load_file(LAWS / name)
    return parse_document(loaded, PlanMeta(id="doc", file=name)).meta


@pytest.mark.parametrize("name,title,doc_type,place,level,province,issuer", [
    ("著作权法(2020-11-11).md", "中华人民共和国著作权法", "law", "全国", "national", "", "全国人民代表大会常务委员会"),
    ("专利代理条例(2018-11-06).md", "专利代理条例", "regulation", "全国", "national", "", "国务院"),
    ("广东省版权条例(2022-09-29).md", "广东省版权条例", "regulation", "广东省", "province", "广东省",
     "广东省人民代表大会常务委员会"),
    ("洛阳市专利促进与保护条例(2013-01-15).md", "洛阳市专利促进与保护条例", "regulation", "洛阳市", "city", "河南省",
     "洛阳市人民代表大会常务委员会"),
    ("最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10).md",
     "最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定", "interpretation", "全国", "national", "", "最高人民法院"),
    ("最高人民法院关于北京、上海、广州知识产权法院案件管辖的规定(2020-12-29).md",
     "最高人民法院关于北京、上海、广州知识产权法院案件管辖的规定", "interpretation", "全国", "national", "", "最高人民法院"),
    ("最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复.md",
     "最高人民法院关于涉网络知识产权侵权纠纷几个法律适用问题的批复", "interpretation", "全国", "national", "", "最高人民法院"),
    ("淄博市专利管理若干规定(2014-12-01).md", "淄博市专利管理若干规定", "provisions", "淄博市", "city", "山东省",
     "淄博市人民代表大会常务委员会"),
])
def test_metadata_inferred_from_real_laws(name, title, doc_type, place, level, province, issuer):
    m = meta_of(name)
    assert (m.title, m.doc_type, m.place, m.place_level, m.province, m.issuer) == \
        (title, doc_type, place, level, province, issuer)
    assert m.missing == [] and {"title", "doc_type", "place", "issuer", "date"} <= set(m.inferred)


def test_dates_by_what_happened_on_them():
    m = meta_of("著作权法(2020-11-11).md")
    # the header's dates; the effective date from the text itself (第六十七条 本法自1991年6月1日起施行)
    assert m.dates == {"adopted": "1990-09-07", "amended": ["2001-10-27", "2010-02-26", "2020-11-11"],
                       "effective": "1991-06-01"}
    assert m.date == "2020-11-11"
    m = meta_of("专利代理条例(2018-11-06).md")
    assert m.dates == {"promulgated": "2018-11-06", "amended": ["2018-09-06"], "effective": "2019-03-01"}
    assert m.date == "2018-11-06"
    m = meta_of("最高人民法院关于审理侵犯商业秘密民事案件适用法律若干问题的规定(2020-09-10).md")
    assert m.dates == {"adopted": "2020-08-24", "effective": "2020-09-12"}


def test_what_cannot_be_inferred_is_missing_not_inferred():
    # this file has a title line and nothing else in its header
    m = meta_of("上海市专利保护条例.md")
    assert m.title == "上海市专利保护条例" and m.place == "上海市" and m.place_level == "province"
    assert m.missing == ["issuer"] and "issuer" not in m.inferred and m.issuer == ""
    # a text with nothing to go on
    m = infer_meta(PlanMeta(id="x", file="notes.txt"), "一些没有标题的文字。\n没有日期，也没有发文机关。")
    assert set(m.missing) == {"title", "doc_type", "place", "issuer", "date"} and m.inferred == []


def test_title_from_an_issuing_notice_and_places_at_every_level():
    text = "关于印发《宁波市知识产权保护办法》的通知\n各区县（市）人民政府：\n现将《宁波市知识产权保护办法》印发给你们。"
    assert infer_title(text) == "宁波市知识产权保护办法"
    m = infer_meta(PlanMeta(id="x", file="x.txt"), text)
    assert (m.place, m.place_level, m.province, m.doc_type) == ("宁波市", "city", "浙江省", "measures")
    m = infer_meta(PlanMeta(id="y", file="y.txt"), "南通市海门区知识产权保护规定\n南通市海门区人民政府\n2023年4月3日")
    assert (m.place, m.place_level, m.province, m.issuer) == ("南通市海门区", "district", "江苏省", "南通市海门区人民政府")
    m = infer_meta(PlanMeta(id="z", file="z.txt"), "浦东新区知识产权保护条例\n第一条 为了…")
    assert (m.place, m.place_level, m.province) == ("浦东新区", "district", "上海市")


def test_plans_toml_wins_and_the_rest_is_filled_in():
    plans = {p.id: p for p in load_plans(ROOT / "corpus")}
    from assistant.loaders import load_file as lf

    for pid, level, province in [("jiaxing", "city", "浙江省"), ("haimen", "district", "江苏省"),
                                 ("yuncheng", "city", "山西省")]:
        meta = plans[pid]
        before = (meta.title, meta.place, meta.issuer, meta.date)
        got = parse_document(lf(ROOT / "corpus" / meta.file), PlanMeta(**meta.to_dict())).meta
        assert (got.title, got.place, got.issuer, got.date) == before
        assert got.place_level == level and got.province == province and got.listed
    assert plans["shaoxing"].doc_type == ""  # not in plans.toml: filled at ingest (scheme)


def test_gazetteer_knows_places_and_not_places():
    g = Gazetteer.default()
    assert [m.text for m in g.find("宁波和鄞州区的企业")] == ["宁波", "鄞州区"]
    assert g.find("外国人、无国籍人的作品在境外、海外、国外出版") == []
    haimen = g.lookup("海门区")[0]  # renamed from 海门市 in 2020: found by its short name
    assert g.parent(haimen).name == "南通市" and g.province_of(haimen).name == "江苏省"
    assert {p.name for p in g.lookup("鼓楼区")} == {"鼓楼区"} and len(g.lookup("鼓楼区")) >= 4
