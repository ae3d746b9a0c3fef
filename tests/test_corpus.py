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


# Headers of real documents of laws-all that eval/corpora does not hold, as written (title,
# header lines, the first body line), each with what a reader of the header knows.
HEADERS = {
    # two amendments on one line
    "广东省实施《中华人民共和国消防法》办法": (
        "1999年11月27日 广东省第九届人民代表大会常务委员会第十三次会议通过\n\n"
        "2010年7月23日 广东省第十一届人民代表大会常务委员会第二十次会议第一次修订  "
        "2022年3月29日广东省第十三届人民代表大会常务委员会第四十一次会议第二次修订）\n\n"
        "## 第一章 总 则\n\n第一条 为了实施《中华人民共和国消防法》，结合本省实际，制定本办法。"),
    # a date right after an event word, on the line of another
    "青岛市劳动保障监察条例": (
        "2011年8月30日 青岛市第十四届人民代表大会常务委员会第三十次会议通过\n\n"
        "2011年9月29日 山东省第十一届人民代表大会常务委员会第二十六次会议批准2011年9月29日青岛市人民代表大会常务委员会公告公布\n\n"
        "2011年11月1日 施行\n\n## 第一章 总则"),
    # a judicial interpretation passed twice: the second time revised it
    "最高人民法院关于审理船舶碰撞纠纷案件若干问题的规定": (
        "2008年4月28日 最高人民法院审判委员会第1446次会议通过\n\n"
        "2020年12月23日 最高人民法院审判委员会第1823次会议通过\n\n"
        "为正确审理船舶碰撞纠纷案件，依照《中华人民共和国民法典》等法律，制定本规定。"),
    # passed by (经) a ministry's meeting (部务会议)
    "企业职工带薪年休假实施办法": (
        "2008年7月17日 经人力资源和社会保障部第6次部务会议通过\n\n"
        "第一条 为了实施 《职工带薪年休假条例》 （以下简称条例），制定本实施办法。"),
    # an amendment line closed by 。, a 部长办公会议
    "公安机关办理行政案件程序规定": (
        "２０１２年１２月３日 公安部部长办公会议通过\n\n２０１２年１２月１９日 中华人民共和国公安部令第１２５号发布，\n\n"
        "２０１３年１月１日 施行\n\n２０１４年６月２９日 中华人民共和国公安部令第１３２号《公安部关于修改部分部门规章的决定》第一次修正\n\n"
        "２０１８年１１月２５日 公安部令第１４９号《公安部关于修改〈公安机关办理行政案件程序规定〉的决定》第二次修正。"),
    # an amendment glued to the adopting line (…通过根据2020年…修正)
    "浙江省工伤保险条例": (
        "2017年9月30日 浙江省第十二届人民代表大会常务委员会第四十四次会议通过根据2020年9月24日浙江省第十三届"
        "人民代表大会常务委员会第二十四次会议《关于修改〈浙江省社会救助条例〉等六件地方性法规的决定》修正\n\n## 第一章 总则"),
    # an autonomous county's regulation revised and approved again after a ；
    "彭水苗族土家族自治县旅游条例": (
        "2015年7月7日 彭水苗族土家族自治县第十六届人民代表大会第七次会议通过\n\n"
        "2015年7月30日 重庆市第四届人民代表大会常务委员会第十九次会议批准；2019年2月23日彭水苗族土家族自治县"
        "第十七届人民代表大会第四次会议修改，2019年3月28日重庆市第五届人民代表大会常务委员会第九次会议批准）\n\n## 第一章 总则"),
    # only a revision line: the body that revised it made this version
    "重庆市邮政条例": "2012年11月29日 重庆市第三届人民代表大会常务委员会第三十八次会议修订）\n\n## 第一章 总则",
    # a city congress naming itself by its level only (市十二届人大常委会)
    "杭州市科学技术普及条例": (
        "2014年10月28日 市十二届人大常委会第二十二次会议通过\n\n2015年3月27日 省十二届人大常委会第十八次会议批准\n\n"
        "2015年4月16日 杭州市第十二届人民代表大会常务委员会公告第42号公布\n\n2015年5月1日 施行\n\n## 第一章　总则"),
    # passed 由 (by) the court's committee
    "最高人民法院关于上海金融法院案件管辖的规定": (
        "2018年7月31日 由最高人民法院审判委员会第1746次会议通过\n\n2021年3月1日 最高人民法院审判委员会第1833次会议通过\n\n"
        "2021年4月22日 施行\n\n第一条 上海金融法院管辖上海市辖区内应由中级人民法院受理的下列第一审金融民商事案件："),
    # a ministry since merged (交通部), promulgating what the State Council approved
    "海上交通事故调查处理条例": "1990年1月11日 国务院批准　\n\n1990年3月3日 交通部令第14号发布　\n\n## 第一章 总则",
    # a body sentence that starts with a date is not a header line
    "关于职工全年月平均工作时间和工资折算问题的通知": (
        "劳社部发[2008]3号\n\n各省、自治区、直辖市劳动和社会保障厅（局）：\n\n"
        "　　根据《全国年节及纪念日放假办法》（国务院令第513号）的规定，全体公民的节日假期由原来的10天增设为11天。\n\n"
        "2000年3月17日劳动保障部发布的《关于职工全年月平均工作时间和工资折算问题的通知》（劳社部发[2000]8号）同时废止。"),
}


@pytest.mark.parametrize("title,date,dates,issuer,level", [
    ("广东省实施《中华人民共和国消防法》办法", "2022-03-29",
     {"adopted": "1999-11-27", "amended": ["2010-07-23", "2022-03-29"]}, "广东省人民代表大会常务委员会", "province"),
    ("青岛市劳动保障监察条例", "2011-09-29",
     {"adopted": "2011-08-30", "approved": "2011-09-29", "promulgated": "2011-09-29", "effective": "2011-11-01"},
     "青岛市人民代表大会常务委员会", "city"),
    ("最高人民法院关于审理船舶碰撞纠纷案件若干问题的规定", "2020-12-23",
     {"adopted": "2008-04-28", "amended": ["2020-12-23"]}, "最高人民法院", "national"),
    ("企业职工带薪年休假实施办法", "2008-07-17", {"adopted": "2008-07-17"}, "人力资源和社会保障部", "national"),
    ("公安机关办理行政案件程序规定", "2018-11-25",
     {"adopted": "2012-12-03", "promulgated": "2012-12-19", "effective": "2013-01-01",
      "amended": ["2014-06-29", "2018-11-25"]}, "公安部", "national"),
    ("关于职工全年月平均工作时间和工资折算问题的通知", "", {}, "", ""),
    ("浙江省工伤保险条例", "2020-09-24", {"adopted": "2017-09-30", "amended": ["2020-09-24"]},
     "浙江省人民代表大会常务委员会", "province"),
    ("彭水苗族土家族自治县旅游条例", "2019-03-28",
     {"adopted": "2015-07-07", "approved": "2019-03-28", "amended": ["2019-02-23"]},
     "彭水苗族土家族自治县人民代表大会", "district"),
    ("重庆市邮政条例", "2012-11-29", {"amended": ["2012-11-29"]}, "重庆市人民代表大会常务委员会", "province"),
    ("杭州市科学技术普及条例", "2015-04-16",
     {"adopted": "2014-10-28", "approved": "2015-03-27", "promulgated": "2015-04-16", "effective": "2015-05-01"},
     "杭州市人大常委会", "city"),
    ("最高人民法院关于上海金融法院案件管辖的规定", "2021-03-01",
     {"adopted": "2018-07-31", "amended": ["2021-03-01"], "effective": "2021-04-22"}, "最高人民法院", "national"),
    ("海上交通事故调查处理条例", "1990-03-03", {"approved": "1990-01-11", "promulgated": "1990-03-03"}, "交通部", "national"),
])
def test_header_dates_and_issuer_of_documents_nobody_tuned_for(title, date, dates, issuer, level):
    m = infer_meta(PlanMeta(id="x", file="x.md"), f"{title}\n\n{HEADERS[title]}", title)
    assert (m.date, m.dates, m.issuer, m.place_level) == (date, dates, issuer, level)


def test_a_document_is_placed_where_its_issuer_is_not_where_its_title_points():
    # 嘉兴市南湖保护条例 (tests/data/laws, verbatim): made by 嘉兴市's people's congress about
    # a lake whose name is also a district's (南湖区); the regulation is the city's
    loaded = load_file(ROOT / "tests" / "data" / "laws" / "嘉兴市南湖保护条例.md")
    m = parse_document(loaded, PlanMeta(id="doc", file="nanhu.md")).meta
    assert m.issuer == "嘉兴市人民代表大会常务委员会"
    assert (m.place, m.place_level, m.place_code, m.province) == ("嘉兴市", "city", "330400", "浙江省")
    # the issuer's place wins over the title's; the title's writing of the same place is kept
    m = infer_meta(PlanMeta(id="w", file="w.md"), "温州市民间融资管理条例\n\n"
                   "2013年11月22日 浙江省第十二届人民代表大会常务委员会第六次会议通过\n\n第一条 为了规范民间融资", "")
    assert (m.place, m.place_level) == ("浙江省", "province")
    m = infer_meta(PlanMeta(id="y", file="y.txt"), "南通市海门区知识产权保护规定\n海门区人民政府\n2023年4月3日")
    assert (m.place, m.place_code) == ("南通市海门区", "320684")


def test_joint_issuers_listed_with_their_meetings_dates_stay_one_issuer():
    # 2004年11月2日 最高人民法院审判委员会第1331次会议、2004年11月11日最高人民检察院…通过: one
    # adoption by both, done when the last of them adopted it
    m = meta_of("最高人民法院、最高人民检察院关于办理侵犯知识产权刑事案件具体应用法律若干问题的解释(2004-12-08).md")
    assert m.issuer == "最高人民法院、最高人民检察院" and m.dates["adopted"] == "2004-11-11"


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
