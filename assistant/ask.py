"""The ``ask`` pipeline: question → retrieval → answer with clause citations.

``AskPipeline(settings).ask(question, history, places, answerer)`` returns the
``ask`` JSON contract::

    {"id", "question", "answer" (markdown with [n] markers), "not_found",
     "citations": [{"n", "doc_id", "title", "place", "path", "heading", "quote", "clause_text"}],
     "retrieved": [{"doc_id", "path", "text", "score"}],   # top 10, rank order
     "timings_ms": {"retrieve", "answer"},
     "answerer": "extractive" | "llm", "notes": [...]}

Every ``quote`` is an exact substring of its ``clause_text``. The extractive
answerer is the default; ``answerer="llm"`` drafts with the configured endpoint,
checks the draft's citations and falls back to the extractive answer (with a
note) when the endpoint fails or no citation survives.
"""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .answering import ASK_CROSS_RE, ExtractiveAnswerer, ExtractiveAnswer, friendly_reply, has_words
from .errors import AssistantError, BadQuestionError, IndexMismatchError, IndexMissingError, LLMUnavailableError
from .models import Hit
from .nonquestions import screen
from .settings import Settings
from .textnorm import for_search

RETRIEVED_SHOWN = 10
# Cross-document questions: one search grouped by document; the best documents'
# best clauses join the candidates (so a plan whose wording differs from the others'
# is not crowded out), and the answer says how many more documents match.
PER_PLAN_HITS = 3
MAX_DOCS_NAMED = 5
# a document "matches" when its best clause scores at least this share of the best document's
DOC_MATCH_SHARE = 0.5
# A follow-up this short (CJK characters, after dropping 那/呢/…) is elliptic: it
# names a new place or aspect and leaves the rest of the question to the last turn.
ELLIPTIC_MAX_CHARS = 8
ELLIPSIS_FILLER_RE = re.compile(r"^(那么|那|还有|另外|再问一下|再问|请问)|(呢|吗|怎么样|如何|情况|方面)?[?？。!！\s]*$")


@dataclass
class Retrieved:
    """What retrieval gives the answerer: the query searched (a follow-up read with the
    last turn), the hits shown, the hits answered from (with each document's best for a
    question about several), the query analysis and the documents the search kept to."""

    query: str
    hits: list[Hit]
    answer_hits: list[Hit]
    info: Any
    places: list[str]
    more_docs: int = 0  # further documents that match a cross-document question, not answered from


def _names_several(info: Any) -> bool:
    """Whether a question is about several places or several documents named by title
    (「嘉兴和绍兴分别…」), not about one place that happens to have many documents."""
    return len(info.place_groups) >= 2 or len(info.documents) >= 2


class AskPipeline:
    def __init__(self, settings: Settings | None = None, retriever: Any = None):
        self.settings = settings or Settings.load()
        self.retriever = retriever
        self.extractive: ExtractiveAnswerer | None = None
        self._ready = False
        # one warm-up at a time: a server warms up in the background while its first
        # questions may already call warm_up (they wait for it instead of doing it twice)
        self._warming = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether ``warm_up`` has finished (a question now waits on nothing)."""
        return self._ready

    # -- setup ---------------------------------------------------------------------
    def warm_up(self) -> "AskPipeline":
        """Load the index (building it first when missing or stale), the clauses and the answerer."""
        if self._ready:
            return self
        with self._warming:
            if not self._ready:
                self._warm_up()
        return self

    def _warm_up(self) -> None:
        from .retrieval import HybridRetriever

        if self.retriever is None:
            try:
                from .index import IndexStore

                store = IndexStore.load(self.settings)
            except (IndexMissingError, IndexMismatchError) as e:
                print(f"{e}\nbuilding the index first", file=sys.stderr)
                from .index import IndexBuilder

                IndexBuilder(self.settings).build()
                store = IndexStore.load(self.settings)
            self.retriever = HybridRetriever(self.settings, store=store)
        self.retriever.warm_up()
        store = self.retriever.store
        self.clauses_by_id = store.clauses  # read per document on first use
        self.extractive = ExtractiveAnswerer(self.clauses_by_id, self.retriever.plans,
                                             similarity=store.similarities, term_stats=store.term_stats(),
                                             doc_term_stats=store.term_stats,
                                             bridge=self.retriever.bridge)
        self.extractive.warm_up()
        if self.settings.answerer == "llm":
            self.warm_up_llm()
        self._ready = True

    def warm_up_llm(self) -> bool:
        """Build the LLM answerer now, when one is configured (a server whose users may
        ask with the LLM calls this at start-up, so no question pays for it, and no
        question waits on the imports it does). False when no LLM is configured."""
        from .llm import answerer_for

        try:
            answerer_for(self.settings)
        except LLMUnavailableError:
            return False
        return True

    # -- the query the retriever sees ------------------------------------------------------
    def question_places(self, question: str) -> tuple[list[str], str | None]:
        """(ids of the plans whose place the question names, a place it names that no
        plan is about): a question that names a place decides its place itself, and
        neither an earlier turn's place nor a filter may answer it from another place."""
        from .query import find_places

        named = find_places(question, self.retriever.plans)
        outside = None if named or self.extractive is None else self.extractive.unknown_place(question)
        return named, outside

    def _retrieval_query(self, question: str, history: list[dict[str, str]],
                         named: tuple[list[str], str | None] = ([], None)) -> tuple[str, list[str] | None]:
        """(query, places) for retrieval. An elliptic follow-up (「那绍兴呢？」) is read
        with the last question: its topic, the new place (``named``: see ``question_places``)."""
        if not history:
            return question, None
        plans = self.retriever.plans
        core = ELLIPSIS_FILLER_RE.sub("", for_search(question))
        new_places, outside = named
        rest = core
        for p in plans:
            for name in [p.place, *p.aliases]:
                if name:
                    rest = rest.replace(for_search(name), "")
        cjk = sum(1 for ch in rest if "\u3400" <= ch <= "\u9fff" or ch.isalnum())
        if cjk <= ELLIPTIC_MAX_CHARS or new_places and cjk <= 2 * ELLIPTIC_MAX_CHARS and len(rest) < 12:
            # the last question as it was searched (itself read with the one before, if elliptic)
            last_q = self._retrieval_query(history[-1]["q"], history[:-1],
                                           self.question_places(history[-1]["q"]))[0]
            if new_places or outside:
                # the last question minus its own place names, so the new place decides
                for p in plans:
                    for name in [p.place, *p.aliases]:
                        if name and name not in question:
                            last_q = last_q.replace(name, "")
                return f"{last_q} {question}", new_places
            return f"{last_q} {question}", None
        return question, new_places or None

    @staticmethod
    def _per_document_hits(hits: list[Hit], groups: list[tuple[str, float, Sequence[Hit]]]) -> tuple[list[Hit], int]:
        """For a question about several documents: the search's ``groups`` (its ranking
        grouped by document, best first); the best ``MAX_DOCS_NAMED`` documents' own best
        clauses are added to the hits. Also returns how many further documents match (see
        ``DOC_MATCH_SHARE``)."""
        seen = {h.clause_id for h in hits}
        extra: list[Hit] = []
        for _, _, doc_hits in groups[:MAX_DOCS_NAMED]:
            for h in doc_hits:
                if h.clause_id not in seen:
                    seen.add(h.clause_id)
                    extra.append(h)
        named = {doc for doc, _, _ in groups[:MAX_DOCS_NAMED]}
        kept = [h for h in hits if h.doc_id in named or len(named) < MAX_DOCS_NAMED]
        top = groups[0][1] if groups else 0.0
        more = sum(1 for _, best, _ in groups[MAX_DOCS_NAMED:] if top > 0 and best >= DOC_MATCH_SHARE * top)
        return kept + extra, more

    def _preferred_first(self, groups: list[tuple[str, float, Sequence[Hit]]], info: Any
                         ) -> list[tuple[str, float, Sequence[Hit]]]:
        """The documents of a question about several, with those of the family that states
        what it asks (support, targets: policy documents; ``term_weights``) first, each
        family's in the search's order: laws beside the plans do not take the document slots
        of a question about the plans' targets."""
        family = self.extractive.preferred_family(info) if self.extractive is not None and info else ""
        if not family:
            return groups
        return sorted(groups, key=lambda g: self.extractive.family_of(g[0]) != family)

    def _one_place_of_several(self, info: Any) -> bool:
        """A question about one place that has several documents (a city's plan and its
        local regulations), asking for no clause by number."""
        return (len(info.places) >= 2 and not info.clause_refs and self.extractive is not None
                and len(self.extractive.places_of(info.places)) == 1)

    def _home_document(self, hits: list[Hit], groups: list[tuple[str, float, Sequence[Hit]]], info: Any) -> str:
        """The document a question about one place with several documents is answered
        from: that of the best clause; for a question whose intent a family of documents
        states (what support exists, what a government intends to do: the policy
        documents, ``lexicons/doc_families.toml``), the best of that family's documents
        when it matches the question as a document an answer about several would name
        (among the ``MAX_DOCS_NAMED`` best, its best clause at least ``DOC_MATCH_SHARE`` of
        the best document's): a regulation's article on the question's everyday words
        (港口, 专利) does not answer what the city means to do, while a regulation about the
        question's subject, where the plan barely matches, still does."""
        family = self.extractive.preferred_family(info) if self.extractive is not None else ""
        top = groups[0][1] if groups else 0.0
        if family and top > 0:
            for doc, best, _ in groups[:MAX_DOCS_NAMED]:
                if self.extractive.family_of(doc) == family and best >= DOC_MATCH_SHARE * top:
                    return doc
        return hits[0].doc_id

    def _home_document_hits(self, query: str, hits: list[Hit], home: str, k: int, info: Any) -> list[Hit]:
        """The answer to a question about one place with several documents draws on its
        ``home`` document (``_home_document``; ``ExtractiveAnswerer._home_document``), its
        clauses ranked by a search within that document, as if it were the place's only one: in
        the search over all the place's documents, scores are normalised against the best
        of every document, so another document's clause on the same everyday words
        reorders the home document's own. The other documents' hits follow."""
        own, _ = self.retriever.search_with_info(query, k=k, places=[home], info=info)
        seen = {h.clause_id for h in own}
        return own + [h for h in hits if h.clause_id not in seen and h.doc_id != home]

    def retrieve(self, question: str, turns: list[dict[str, str]], places: Sequence[str] | None = None,
                 notes: list[str] | None = None, top_k: int | None = None) -> "Retrieved":
        """The clauses retrieved for a question (``turns``: earlier turns, oldest first;
        ``places``: an explicit filter of document ids; ``notes`` gets what the user
        should be told about the places searched; ``top_k``: the user's number of
        clauses to answer from, instead of the configured one)."""
        self.warm_up()
        named, outside = self.question_places(question)
        query, carried_places = self._retrieval_query(question, turns, (named, outside))
        search_places = self._search_places(named, outside, places, carried_places, notes if notes is not None else [])
        # a question naming a place no plan covers gets no earlier turn's place
        k = max(1, int(top_k)) if top_k else max(RETRIEVED_SHOWN, self.settings.top_k)
        # one search: its hits, and its ranking grouped by document for a question about several
        hits, info, groups = self.retriever.search_with_groups(query, k=k, per_doc=PER_PLAN_HITS,
                                                               places=search_places,
                                                               history=None if outside else turns or None)
        answer_hits, more_docs = hits, 0
        if not search_places and not (info and info.places) and ASK_CROSS_RE.search(for_search(question)):
            answer_hits, more_docs = self._per_document_hits(hits, self._preferred_first(groups, info))
        elif info is not None and not search_places and _names_several(info):
            answer_hits, _ = self._per_document_hits(hits, self._preferred_first(groups, info))  # "嘉兴和绍兴分别…"
        elif info is not None and not search_places and self._one_place_of_several(info) and hits:
            answer_hits = self._home_document_hits(query, hits, self._home_document(hits, groups, info), k, info)
        used_places = [] if outside else search_places or (info.places if info else [])
        return Retrieved(query, hits, answer_hits, info, list(used_places or []), more_docs)

    # -- asking ------------------------------------------------------------------------------
    def ask(self, question: str, history: Any = None, places: Sequence[str] | None = None,
            answerer: str | None = None, qid: str | None = None, top_k: int | None = None) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        for item in self.ask_stream(question, history=history, places=places, answerer=answerer, qid=qid,
                                    top_k=top_k):
            if isinstance(item, dict):
                result = item
        assert result is not None
        return result

    def ask_stream(self, question: str, history: Any = None, places: Sequence[str] | None = None,
                   answerer: str | None = None, qid: str | None = None,
                   top_k: int | None = None) -> Iterator[str | dict[str, Any]]:
        """Yield the answer as it grows (strings), then the final contract dict
        (``top_k``: how many retrieved clauses the answer may draw on; default the setting).

        What is not a question (empty, no words, code, only instructions to the assistant)
        is answered at once, without loading the index."""
        notes: list[str] = []
        question = question if isinstance(question, str) else ("" if question is None else str(question))
        limit = int(self.settings.max_question_chars)
        if len(question) > limit:
            question = question[:limit]
            notes.append(f"问题过长，只按前 {limit} 个字回答。")
        kind = (answerer or self.settings.answerer or "extractive").strip().lower()
        if kind not in ("extractive", "llm"):
            raise BadQuestionError(f"unknown answerer {kind!r}: use 'extractive' or 'llm'")
        question = check_text(question)
        turns = parse_history(history, "the history")
        base = {"id": qid or "", "question": question}

        screened = screen(question)
        if not question.strip() or not has_words(question) or screened.reply:
            reply = screened.reply or friendly_reply("empty" if not question.strip() else "nowords")
            yield reply
            yield {**base, "answer": reply, "not_found": True, "citations": [], "retrieved": [],
                   "timings_ms": {"retrieve": 0.0, "answer": 0.0}, "answerer": "extractive", "notes": notes}
            return
        if screened.instructions:  # searched and answered without them; the LLM never sees them
            notes.append("问题中对助手的指令已略去：" + " / ".join(screened.instructions))
            question = screened.text

        self.warm_up()
        t0 = time.perf_counter()
        r = self.retrieve(question, turns, places, notes, top_k=top_k)
        query, hits, info = r.query, r.hits, r.info
        t_retrieve = (time.perf_counter() - t0) * 1000
        retrieved = [{"doc_id": h.doc_id, "path": h.path, "text": h.text, "score": round(h.score, 6)}
                     for h in hits[:RETRIEVED_SHOWN]]

        t1 = time.perf_counter()
        used = "extractive"
        answer: ExtractiveAnswer | None = None
        if kind == "llm":
            llm_result = None
            for item in self._ask_llm(question, query, hits, turns, notes):
                if isinstance(item, str):
                    yield item
                else:
                    llm_result = item
            if llm_result is not None:
                answer, used = llm_result, "llm"
        if answer is None:
            assert self.extractive is not None
            answer = self.extractive.answer(question, r.answer_hits, info=info, places=r.places)
            if r.more_docs and not answer.not_found:
                answer.answer += (f"\n\n另有{r.more_docs}份文件也有相关条款，未一一列出；"
                                  "在问题中写明文件名称或地区，可以只查这些文件。")
            for piece in _pieces(answer.answer):
                yield piece
        t_answer = (time.perf_counter() - t1) * 1000
        yield {**base, "answer": answer.answer, "not_found": answer.not_found, "citations": answer.citations,
               "more_documents": r.more_docs,
               "retrieved": retrieved, "timings_ms": {"retrieve": round(t_retrieve, 1), "answer": round(t_answer, 1)},
               "answerer": used, "notes": notes + answer.notes}

    def _search_places(self, named: list[str], outside: str | None, places: Sequence[str] | None,
                       carried: list[str] | None, notes: list[str]) -> list[str] | None:
        """The documents to search: the user's filter, unless the question names a place
        outside it (then the question's places, and a note says so); with no filter, the
        places an elliptic follow-up carries over."""
        if outside:
            if places:
                notes.append(f"问题提到的「{outside}」不在所选的规划范围内，也没有关于它的规划。")
            return None
        if places and named and not set(named) <= set(places):
            by_id = {p.id: p for p in self.retriever.plans}
            names = "、".join(by_id[d].place or by_id[d].title for d in named if d in by_id)
            notes.append(f"问题提到的{names}不在所选的规划范围内，已按问题检索{names}的规划。")
            return named
        return list(places) if places else carried

    def _ask_llm(self, question: str, query: str, hits: list[Hit], turns: list[dict[str, str]],
                 notes: list[str]) -> Iterator[str | ExtractiveAnswer]:
        """Draft with the LLM, yielding the text as it streams in, then the checked answer.

        Yields no answer (after adding a note) when the extractive answer must be shown:
        the endpoint failed, or no citation of the draft survived the check."""
        from .llm import answerer_for

        try:
            llm = answerer_for(self.settings)
            if turns:
                # the condensed question retrieves better than an elliptic follow-up
                condensed = llm.condense(question, turns)
                if condensed and condensed.strip() != question.strip():
                    hits = self.retriever.search(condensed, k=RETRIEVED_SHOWN, mode="hybrid+qu", history=turns)
            draft = None
            text = ""
            for item in _stream_call(lambda on_token: llm.answer(question, hits, self.clauses_by_id,
                                                                  history=turns or None, on_token=on_token)):
                if isinstance(item, str):
                    text += item
                    yield text
                else:
                    draft = item
            assert draft is not None
            checked = draft.check()
        except LLMUnavailableError as e:
            notes.append(f"大模型（LLM）暂时不可用，以下为摘录式回答（{e}）。")
            return
        if checked.not_found:
            # the model says the plans do not cover it; its related citations (if any) stand
            yield ExtractiveAnswer(checked.text.strip() or "现有规划文件未明确规定这一问题。",
                                   checked.contract_citations(), True)
            return
        if not checked.usable:
            notes.append("大模型（LLM）的回答没有可核实的出处，以下为摘录式回答。")
            return
        yield ExtractiveAnswer(checked.text, checked.contract_citations(), False)


_DONE = object()


class AnswerStopped(Exception):
    """Raised inside an LLM call whose answer nobody reads any more (the user pressed
    stop): it ends the call, and the endpoint's stream is closed on its way out."""


def _stream_call(call: Callable[[Callable[[str], None]], Any]) -> Iterator[Any]:
    """Run ``call(on_token)`` in a thread; yield each token as it arrives, then the result.

    LangChain delivers tokens through a callback, and a generator cannot yield from
    inside one, so the call runs beside us and hands tokens over a queue. Its
    exception, if any, is raised here. When this generator is closed before the end
    (the answer was stopped), the call's next token raises ``AnswerStopped`` in the
    call, which closes its HTTP stream: the endpoint stops generating for nobody."""
    import queue
    import threading

    q: queue.Queue = queue.Queue()
    box: dict[str, Any] = {}
    stopped = threading.Event()

    def on_token(token: str) -> None:
        if stopped.is_set():
            raise AnswerStopped()
        q.put(token)

    def run() -> None:
        try:
            box["result"] = call(on_token)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e
        finally:
            q.put(_DONE)

    threading.Thread(target=run, name="llm-answer", daemon=True).start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                break
            yield item
    finally:
        stopped.set()
    if "error" in box:
        raise box["error"]
    yield box["result"]


def _pieces(text: str, n: int = 4) -> list[str]:
    """The answer as ``n`` growing prefixes, for a UI that shows it being written."""
    if not text:
        return [text]
    step = max(1, len(text) // n)
    out = [text[:i] for i in range(step, len(text), step)]
    return out + [text]


# ---------------------------------------------------------------------------
# CLI: python -m assistant ask "问题" [--history FILE] [--json] [--answerer]
#      python -m assistant ask --jsonl IN.jsonl [--out OUT]
# ---------------------------------------------------------------------------
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str = "the question") -> str:
    """``text`` unchanged if it is text this program can process, else BadQuestionError.

    A lone surrogate is what undecodable bytes become: Python turns a command-line
    argument that is not UTF-8 into U+DC80–U+DCFF, and JSON may carry "\\ud800"."""
    m = _SURROGATE_RE.search(text)
    if m is None:
        return text
    cp = ord(m.group())
    what_char = (f"the byte 0x{cp - 0xDC00:02X}, which is not UTF-8" if 0xDC80 <= cp <= 0xDCFF
                 else f"a lone surrogate (U+{cp:04X})")
    raise BadQuestionError(f"{what} is not valid text: it contains {what_char} at character {m.start() + 1}; "
                           "give it as UTF-8 text")


def printable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so that it can be shown
    and serialised (UTF-8 cannot encode a surrogate)."""
    return _SURROGATE_RE.sub("\ufffd", text)


def parse_history(data: Any, where: str) -> list[dict[str, str]]:
    """Earlier turns as [{"q", "a"}], or BadQuestionError saying what is wrong with them."""
    from .llm import normalise_history

    if data is None:
        return []
    if not isinstance(data, (list, tuple)):
        raise BadQuestionError(f'{where} must be a JSON list of {{"q": ..., "a": ...}} turns, '
                               f"not {type(data).__name__}")
    try:
        pairs = normalise_history(data)
    except ValueError as e:
        raise BadQuestionError(f"{where}: {e}") from None
    for i, (q, a) in enumerate(pairs, start=1):
        check_text(q, f"{where} turn {i}")
        check_text(a, f"{where} turn {i}")
    return [{"q": q, "a": a} for q, a in pairs]


def _load_history(path: str | None) -> list[dict[str, str]] | None:
    if not path:
        return None
    p = Path(path)
    if p.is_dir():
        raise BadQuestionError(f"history file {path} is a directory, not a JSON file")
    try:
        data = json.loads(p.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise BadQuestionError(f"history file {path} not found") from None
    except UnicodeDecodeError as e:
        raise BadQuestionError(f"history file {path} is not UTF-8 text (invalid byte at offset {e.start})") from None
    except json.JSONDecodeError as e:
        raise BadQuestionError(f"history file {path} is not JSON: {e}") from None
    except OSError as e:
        raise BadQuestionError(f"history file {path} cannot be read: {e.strerror or e}") from None
    return parse_history(data, f"history file {path}")


def _check_out_path(path: str | None) -> None:
    """Refuse an --out that cannot be written, before the slow warm-up."""
    if not path:
        return
    p = Path(path)
    if p.is_dir():
        raise BadQuestionError(f"--out {path} is a directory; give the name of the file to write")
    if not p.parent.is_dir():
        raise BadQuestionError(f"--out {path}: folder {p.parent} does not exist")
    if p.exists() and not os.access(p, os.W_OK) or not p.exists() and not os.access(p.parent, os.W_OK):
        raise BadQuestionError(f"--out {path} is not writable")


def format_human(reply: dict[str, Any]) -> str:
    lines = [reply["answer"], ""]
    if reply["citations"]:
        lines.append("引用 / citations:")
        for c in reply["citations"]:
            lines.append(f"  [{c['n']}] {c['title']} {c['path']} {c['heading']}".rstrip())
            lines.append(f"      「{c['quote']}」")
    for note in reply.get("notes") or []:
        lines.append(f"note: {note}")
    t = reply["timings_ms"]
    lines.append(f"({reply.get('answerer', 'extractive')}; retrieve {t['retrieve']} ms, answer {t['answer']} ms)")
    return "\n".join(lines)


def run_cli(args, settings: Settings) -> int:
    if not args.jsonl and args.question is None:
        raise BadQuestionError('give a question (python -m assistant ask "问题") or --jsonl FILE')
    # everything the user gave is checked before the slow warm-up
    _check_out_path(args.out)
    if args.jsonl:
        rows = read_jsonl_rows(args.jsonl)
        pipeline = AskPipeline(settings).warm_up()
        return _run_jsonl(pipeline, rows, args)
    question = check_text(args.question)
    history = _load_history(args.history)
    pipeline = AskPipeline(settings)  # warmed up by its first real question
    reply = pipeline.ask(question, history=history, answerer=args.answerer)
    if args.json:
        print(json.dumps(reply, ensure_ascii=False, indent=2))
    else:
        print(format_human(reply))
    return 0


@dataclass
class JsonlRow:
    line: int
    qid: str = ""
    question: str = ""
    history: list[dict[str, str]] = field(default_factory=list)
    error: str = ""  # why the row cannot be asked; it is written as an error row


def read_jsonl_rows(path: str) -> list[JsonlRow]:
    """Every non-blank line of a --jsonl file as a row; a line that cannot be asked
    (not UTF-8, not JSON, no question, bad history) becomes a row with its error."""
    src = Path(path)
    if src.is_dir():
        raise BadQuestionError(f"--jsonl {src} is a directory, not a JSONL file")
    try:
        data = src.read_bytes()
    except FileNotFoundError:
        raise BadQuestionError(f"--jsonl {src} not found") from None
    except OSError as e:
        raise BadQuestionError(f"--jsonl {src} cannot be read: {e.strerror or e}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    rows = []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            rows.append(_parse_row(raw, i))
    return rows


def _parse_row(raw: bytes, line: int) -> JsonlRow:
    row = JsonlRow(line)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        row.error = f"line {line} is not UTF-8 text (invalid byte at offset {e.start})"
        return row
    except json.JSONDecodeError as e:
        row.error = f"line {line} is not JSON: {e}"
        return row
    if not isinstance(obj, dict):
        row.error = f'line {line} must be a JSON object {{"id", "question", "history"}}, not {type(obj).__name__}'
        return row
    qid = obj.get("id")
    row.qid = "" if qid is None else printable(str(qid))
    question = obj.get("question")
    if isinstance(question, str):
        row.question = printable(question)  # shown in an error row too
    try:
        if not isinstance(question, str):
            raise BadQuestionError(f'line {line} needs a "question" string'
                                   + ("" if question is None else f", not {type(question).__name__}"))
        check_text(question, f"the question on line {line}")
        row.history = parse_history(obj.get("history"), f"the history on line {line}")
    except BadQuestionError as e:
        row.error = str(e)
    return row


def _run_jsonl(pipeline: AskPipeline, rows: list[JsonlRow], args) -> int:
    """Answer every row, in order, each written (and flushed) as soon as it is answered:
    a row that cannot be answered gets an error row, and the batch goes on."""
    from tqdm import tqdm

    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    failed: list[int] = []
    try:
        for row in tqdm(rows, desc="ask", unit="q", file=sys.stderr):
            reply = None
            if not row.error:
                try:
                    reply = pipeline.ask(row.question, history=row.history, answerer=args.answerer, qid=row.qid)
                except AssistantError as e:
                    row.error = str(e)
            if reply is None:
                failed.append(row.line)
                reply = {"id": row.qid, "question": row.question, "error": row.error}
            out.write(json.dumps({**reply, "line": row.line}, ensure_ascii=False) + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    print(batch_summary(rows, failed), file=sys.stderr)
    return 1 if failed else 0


def batch_summary(rows: list[JsonlRow], failed: list[int]) -> str:
    """What a batch did, with the input lines a user must look at."""
    by_id: dict[str, list[int]] = {}
    for r in rows:
        by_id.setdefault(r.qid, []).append(r.line)
    missing = by_id.pop("", [])
    dupes = {qid: lines for qid, lines in by_id.items() if len(lines) > 1}
    parts = [f"answered {len(rows) - len(failed)} of {len(rows)} rows"]
    if failed:
        parts.append(f"{len(failed)} error rows (lines {_lines(failed)})")
    if missing:
        parts.append(f"{len(missing)} rows without an id (lines {_lines(missing)})")
    if dupes:
        parts.append("duplicate ids: " + "; ".join(f"{qid!r} on lines {_lines(ls)}" for qid, ls in dupes.items()))
    return "; ".join(parts)


def _lines(lines: list[int], shown: int = 20) -> str:
    return ", ".join(map(str, lines[:shown])) + (f" and {len(lines) - shown} more" if len(lines) > shown else "")
