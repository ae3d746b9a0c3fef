"""Clause lookup: the clauses a question names by number (第十四条, （十七）, 专栏5).

Clause numbers are looked up, not embedded: a vector for “第十四条” says nothing about
which clause carries that number. ``find_clauses(refs, tables)`` returns, for every
clause a reference names in the given documents, the clause and its sub-clauses (an
article with its items and later paragraphs: the article is what the question names).
It reads only each document's clause table (ordinals and paths).

A document numbered in the reference's own style (a law's 第X条) is matched exactly;
one that has no clause of that style (a plan whose （十七） is what “第十七条” means
there) on the loose equivalents of ``query.ClauseRef``, and then the clause alone
(“第3条” of a plan is its item 3., not chapter 三、 with everything under it).
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from .numerals import cn_to_int
from .query import ClauseRef, match_steps, path_steps

# what a sub-clause's path continues its parent's path with: a bracket, a 第…款/条, a
# space before 第X条, an item number, a box or table, a circled number
_CHILD_STEP_START = tuple("（(第 0123456789专表①②③④⑤⑥⑦⑧⑨⑩一二三四五六七八九十")


def is_sub_path(path: str, parent: str) -> bool:
    """Is ``path`` the path of a clause under the clause whose path is ``parent``?
    (第十八条（一） and 第十八条第二款 are under 第十八条; 第十八条之一 is not.)"""
    return len(path) > len(parent) and path.startswith(parent) and path[len(parent)] in _CHILD_STEP_START


# a piece of packed paragraphs: 第四款至第六款 (clauses.ClauseParser splits a long clause so)
_RANGE_RE = re.compile(r"第([零〇一二两三四五六七八九十百千]+|\d+)(款|段)至第([零〇一二两三四五六七八九十百千]+|\d+)\2")


def path_alternatives(path: str) -> list[tuple[tuple[str, int], ...]]:
    """The steps of ``path``, and for a piece holding a range of paragraphs
    (第十四条第四款至第六款) those of each paragraph it holds (第十四条第五款 …)."""
    m = _RANGE_RE.search(path)
    if not m:
        return [path_steps(path)]
    first, last = (int(g) if g.isdigit() else cn_to_int(g) for g in (m.group(1), m.group(3)))
    if first is None or last is None or not 0 < first <= last:
        return [path_steps(path)]
    return [path_steps(f"{path[:m.start()]}第{n}{m.group(2)}{path[m.end():]}") for n in range(first, last + 1)]


def find_clauses(refs: Sequence[ClauseRef], tables: Iterable[tuple[str, Sequence[int], Sequence[str]]]
                 ) -> list[list[str]]:
    """For each clause the references name, in documents given as (doc id, clause
    ordinals, clause paths) in reading order: its id (``doc#ordinal``) followed, when
    it was named in its document's own numbering, by its sub-clauses' ids. A reference
    deeper than the document's clauses (a paragraph of an article kept whole) names
    the clause that holds it."""
    groups: list[list[str]] = []
    if not refs:
        return groups
    for doc, ords, paths in tables:
        steps = [path_alternatives(p) for p in paths]
        styles = {s for alts in steps for st in alts for s, _ in st}
        exact_at: dict[int, bool] = {}
        for ref in refs:
            # 第十四条第二款 where the article's paragraphs are one clause: the article
            want = ref.steps
            while want:
                loose = want[-1][0] not in styles
                found = [i for i, alts in enumerate(steps)
                         if any(match_steps(want, st, ref.anchored, loose) for st in alts)]
                if found:
                    break
                want = want[:-1]
            for i in found if want else []:
                exact_at[i] = exact_at.get(i, False) or not loose
        covered: set[int] = set()
        for i in sorted(exact_at):
            if i in covered:
                continue
            group = [i]
            j = i + 1
            while exact_at[i] and j < len(paths) and is_sub_path(paths[j], paths[i]):
                group.append(j)
                j += 1
            covered.update(group)
            groups.append([f"{doc}#{ords[k]}" for k in group])
    return groups
