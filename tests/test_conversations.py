"""Conversations in a real SQLite file: kept when the store is opened again (as after
a restart), one browser never sees another's, rename and delete, concurrent saves."""
from __future__ import annotations

import threading

from assistant.conversations import DEFAULT_TITLE, ConversationStore, title_from

TURN = {"question": "嘉兴规划中知识产权质押融资的目标是多少？", "answer": "200亿元[1]",
        "citations": [{"n": 1, "title": "《嘉兴市知识产权发展“十四五”规划》", "path": "二、（三）", "quote": "…"}]}


def test_chats_survive_reopening_and_stay_with_their_owner(tmp_path):
    db = tmp_path / "chats.db"
    store = ConversationStore(db)
    a = store.create("alice", title_from(TURN["question"]))
    b = store.create("alice")
    store.save_turns("alice", a, [TURN, {**TURN, "question": "那宁波呢？"}])
    other = store.create("bob")

    again = ConversationStore(db)  # a new process would open the file the same way
    assert [c["id"] for c in again.list("alice")] == [a, b]  # most recently saved first
    assert [t["question"] for t in again.turns("alice", a)] == [TURN["question"], "那宁波呢？"]
    assert again.turns("alice", a)[0]["citations"] == TURN["citations"]
    assert again.list("bob") == [{"id": other, "title": DEFAULT_TITLE, "updated": again.list("bob")[0]["updated"]}]
    # bob cannot read, rename, overwrite or delete alice's chat
    assert again.turns("bob", a) == []
    assert not again.rename("bob", a, "x") and not again.delete("bob", a)
    assert not again.save_turns("bob", a, [])
    assert len(again.turns("alice", a)) == 2

    assert again.rename("alice", a, "  质押融资  目标 ")
    assert again.list("alice")[0]["title"] == "质押融资 目标"
    assert not again.rename("alice", a, "   ")
    assert again.delete("alice", a)
    assert [c["id"] for c in ConversationStore(db).list("alice")] == [b]
    assert ConversationStore(db).turns("alice", a) == []


def test_the_browser_secret_is_made_once(tmp_path):
    first = ConversationStore(tmp_path / "chats.db").browser_secret()
    assert len(first) == 64 and ConversationStore(tmp_path / "chats.db").browser_secret() == first
    assert ConversationStore(tmp_path / "other.db").browser_secret() != first


def test_titles_come_from_the_first_question():
    assert title_from("  短问题 ") == "短问题"
    assert title_from("问" * 40).endswith("…") and len(title_from("问" * 40)) == 25
    assert title_from("") == DEFAULT_TITLE


def test_concurrent_saves_lose_nothing(tmp_path):
    store = ConversationStore(tmp_path / "chats.db")
    ids = [store.create(f"user{i}") for i in range(8)]

    def work(i: int):
        for n in range(1, 11):
            store.save_turns(f"user{i}", ids[i], [TURN] * n)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(store.turns(f"user{i}", ids[i])) == 10 for i in range(8))
