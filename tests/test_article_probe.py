"""tools/article_probe.py: the truth it scores against is read from the raw text, and on a
real index the title-named article questions it asks are answered from that article."""
import sys
from pathlib import Path

from conftest import built_index

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import article_probe  # noqa: E402

LAWS = ROOT / "eval" / "corpora" / "laws-ip"
# a judicial interpretation, its numbered sequel, and one sharing its middle words
FILES = ["最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释(2009-12-28).md",
         "最高人民法院关于审理侵犯专利权纠纷案件应用法律若干问题的解释（二）(2020-12-29).md",
         "最高人民法院关于对诉前停止侵犯专利权行为适用法律问题的若干规定(2001-06-07).md",
         "最高人民法院关于诉前停止侵犯注册商标专用权行为和保全证据适用法律问题的解释(2002-01-09).md"]


def test_raw_articles_follow_the_text():
    text = (LAWS / "专利代理条例(2018-11-06).md").read_text(encoding="utf-8")
    arts = article_probe.raw_articles(text)
    assert [n for n, _ in arts[:3]] == ["一", "二", "三"]
    assert len(arts) == sum(1 for line in text.splitlines() if line.startswith("第") and "条" in line[:8])
    # an article's text runs over its paragraphs and items, not into the next heading
    n, body = next(a for a in arts if a[0] == "二十五")
    assert body.startswith("专利代理机构有下列行为之一的") and "(一)" in body and "第二十六条" not in body


def test_every_probe_question_is_answered_from_its_article(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FILES:
        (corpus / name).write_bytes((LAWS / name).read_bytes())
    settings = built_index(corpus, tmp_path)
    rows = article_probe.probe(settings, corpus, per_doc=2, progress=False)
    assert len(rows) == 2 * 2 * len(FILES)
    summary = article_probe.summarise(rows)["all"]
    assert summary["first"] == 1.0 and summary["other_document"] == 0.0, [r for r in rows if not r["first"]]
