"""tools/metadata_audit.py: the metadata audit scores what the pipeline infers against
what the collection's own layout says (folder → province or national body, file name →
title). Real documents (tests/data/laws, verbatim from laws-all) laid out in the
collection's folders in a temporary directory; nothing from ../shared."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "laws"
sys.path.insert(0, str(ROOT / "tools"))

import metadata_audit  # noqa: E402


def _layout(tmp_path: Path) -> Path:
    zj = tmp_path / "DLC" / "浙江地方法规" / "地方性法规" / "浙江"
    zj.mkdir(parents=True)
    for name in ("嘉兴市南湖保护条例.md", "嘉兴市文明行为促进条例(2019-10-09).md", "宁波市专利管理条例(2012-04-09).md"):
        shutil.copy(DATA / name, zj / name)
    (zj / "_index.md").write_text("---\nbookCollapseSection: true\n---", encoding="utf-8")
    return tmp_path


def test_audit_scores_place_by_the_body_that_made_the_document(tmp_path):
    rows = {Path(r["name"]).name: r for r in metadata_audit.audit(str(_layout(tmp_path)), progress=False)}
    assert set(rows) == {"嘉兴市南湖保护条例.md", "嘉兴市文明行为促进条例(2019-10-09).md", "宁波市专利管理条例(2012-04-09).md"}
    nanhu = rows["嘉兴市南湖保护条例.md"]
    # made by 嘉兴市's congress: the city's, not the district its lake names (南湖区)
    assert nanhu["meta"]["place_code"] == "330400"
    for r in rows.values():
        assert r["errors"] == {f: "" for f in metadata_audit.FIELDS}, r
    s = metadata_audit.summarise(list(rows.values()))
    assert s["any_error"] == 0 and s["fields"]["place"]["error_rate"] == 0.0


def test_audit_reports_a_wrong_place_and_a_wrong_title():
    gaz = metadata_audit.Gazetteer.default()
    from assistant.models import PlanMeta

    name = "./DLC/浙江地方法规/地方性法规/浙江/嘉兴市南湖保护条例.md"
    header = "# 嘉兴市南湖保护条例\n\n2016年12月29日 嘉兴市第七届人民代表大会常务委员会第四十四次会议通过\n\n"
    raw = header + "<!-- INFO END -->\n"
    district = PlanMeta(id="x", file="x.md", title="嘉兴市南湖保护条例", doc_type="regulation",
                        issuer="嘉兴市人民代表大会常务委员会", place="南湖区", place_level="district",
                        place_code="330402", date="2016-12-29")
    e = metadata_audit.score(name, district, header, raw, gaz)
    assert e["place"].startswith("wrong") and "嘉兴市" in e["place"] and not e["issuer"] and not e["date"]
    other = PlanMeta(**{**district.__dict__, "title": "南湖条例", "place": "广东省", "place_code": "440000"})
    e = metadata_audit.score(name, other, header, raw, gaz)
    assert e["title"].startswith("wrong") and "not in 浙江" in e["place"]
