"""Evaluation suites: a corpus, the index built from it, and the gold files about it.

``python -m assistant eval`` runs every suite in ``SUITES`` and reports each gold file
separately. A suite's index lives in its own folder (``plans``: the configured
``index_dir``; any other: ``<index_dir>/suites/<name>/``) and is built there when it
is missing or stale.

Adding a suite is adding an entry here: its corpus folder, its gold files, the
extra answer metrics that apply to it (names from ``evaluation.ANSWER_METRICS``),
whether its questions take part in tuning, and which held-out pairs to report
("choose on file A only, score file B").
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .errors import AssistantError
from .settings import Settings


@dataclass(frozen=True)
class Suite:
    name: str
    gold: tuple[str, ...]  # file names under <eval_dir>/gold/; each is reported as its own split
    corpus: str = ""  # folder relative to eval_dir ("" = the configured corpus_dir)
    own_index: bool = True  # False: the configured index_dir (the product's own corpus)
    index_of: str = ""  # use the index folder of this other suite (same corpus), not one of its own
    metrics: tuple[str, ...] = ()  # extra answer metrics (evaluation.ANSWER_METRICS names)
    tune: bool = True  # its questions take part in choosing the tuned constants
    # (train split, test split): values chosen on the first file only, scored on the second
    heldout: tuple[tuple[str, str], ...] = ()

    def settings(self, base: Settings) -> Settings:
        """``base`` with this suite's corpus and index folders."""
        corpus = str(Path(base.eval_dir) / self.corpus) if self.corpus else base.corpus_dir
        index = str(Path(base.index_dir) / "suites" / (self.index_of or self.name)) if self.own_index else base.index_dir
        s = replace(base, corpus_dir=corpus, index_dir=index)
        s.sources = dict(base.sources)
        return s

    def gold_paths(self, base: Settings) -> list[Path]:
        return [Path(base.eval_dir) / "gold" / g for g in self.gold]


def split_name(path: str | Path) -> str:
    """A gold file's split name: its stem (``dev``, ``dev-extra``, ``laws-dev``)."""
    return Path(path).stem


SUITES: dict[str, Suite] = {
    "plans": Suite("plans", ("dev.jsonl", "dev-extra.jsonl"), own_index=False,
                   heldout=(("dev", "dev-extra"), ("dev-extra", "dev"))),
    # the 63 IP laws and regulations; structure (issue 8) owns its metrics and floors.
    # Not tuned on until the answerer handles laws: its figures are then held-out ones.
    "laws": Suite("laws", ("laws-dev.jsonl",), corpus="corpora/laws-ip", tune=False, metrics=("citation_path",)),
    # questions about the five plans written by the project itself from the plans' texts
    # (not from any gold question; eval/gold/README.md says how): reported apart, never tuned on
    "probe": Suite("probe", ("probe.jsonl",), own_index=False, tune=False),
    # the same about a few of the laws (eval/gold/README.md): the laws suite's corpus and index
    "probe-laws": Suite("probe-laws", ("probe-laws.jsonl",), corpus="corpora/laws-ip", index_of="laws", tune=False,
                        metrics=("citation_path",)),
}


def get_suite(name: str) -> Suite:
    try:
        return SUITES[name]
    except KeyError:
        raise AssistantError(f"unknown suite {name!r}; known suites: {', '.join(SUITES)}") from None


def suite_for_gold(path: str | Path, base: Settings) -> Suite:
    """The suite a gold file belongs to (by name), else ``plans`` with just that file."""
    p = Path(path)
    for suite in SUITES.values():
        if p.name in suite.gold and p.resolve().parent == (Path(base.eval_dir) / "gold").resolve():
            return replace(suite, gold=(p.name,), heldout=())
    return replace(SUITES["plans"], gold=(str(p.resolve()),), heldout=())
