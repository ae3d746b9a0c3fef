"""Several versions of one document in the index: the one in force answers, an earlier one
only when asked for by its year. Real documents in a real index (USE vectors, FAISS, BM25):
保障中小企业款项支付条例 as first issued (2020, an empty header) and as revised (2025, 国务院),
copied verbatim from the laws collection (tests/data/laws); 专利法实施细则 2010 and 2023
(eval/corpora/laws-ip)."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest import parse_document
from assistant.loaders import load_file
from assistant.models import PlanMeta
from assistant.routing import DocIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "laws"
LAWS = ROOT / "eval" / "corpora" / "laws-ip"
PAYMENT = ("保障中小企业款项支付条例(2020-07-05).md", "保障中小企业款项支付条例(2025-03-17).md")


def test_earlier_versions_are_known_as_superseded():
    files = [LAWS / "专利法实施细则(2010-01-09).md", LAWS / "专利法实施细则(2023-12-11).md",
             LAWS / "著作权法(2020-11-11).md", *(DATA / n for n in PAYMENT)]
    metas = [parse_document(load_file(f), PlanMeta(id=f.stem, file=f.name)).meta for f in files]
    assert DocIndex(metas).superseded == {"专利法实施细则(2010-01-09)", "保障中小企业款项支付条例(2020-07-05)"}


@pytest.fixture(scope="module")
def payment(tmp_path_factory):
    from conftest import pipeline_over

    return pipeline_over([DATA / n for n in PAYMENT], tmp_path_factory.mktemp("versions"))


def _docs(reply: dict) -> set[str]:
    return {c["doc_id"][:10] for c in reply["citations"]}


def test_a_question_not_naming_a_version_is_answered_from_the_one_in_force(payment):
    # the 2020 text's 第六条 says this almost word for word (its 第七条 in 2025)
    reply = payment.ask("机关、事业单位和大型企业能不能拖欠中小企业的货款？")
    assert _docs(reply) == {"2025-03-17"} and "第七条" in reply["answer"]
    assert _docs(payment.ask("保障中小企业款项支付条例第六条规定了什么？")) == {"2025-03-17"}
    # a clause number alone is looked up in the one in force too, not in both
    assert _docs(payment.ask("第六条规定了什么？")) == {"2025-03-17"}


def test_an_earlier_version_answers_when_asked_for_by_its_year(payment):
    reply = payment.ask("2020年的保障中小企业款项支付条例第六条规定了什么？")
    assert _docs(reply) == {"2020-07-05"} and "不得违约拖欠" in reply["answer"]
