"""The app's conversation list: several chats per browser, kept in SQLite
(``conversations.ConversationStore``) across reloads and restarts.

``ChatList`` builds the list's components (call inside the chat tab's layout) and
``wire`` connects them once the chat's own components exist. The browser keeps a
random owner id in its local storage (``gr.BrowserState``); the server keeps the
chats. After every answer (and every clear) the turns are saved.
"""
from __future__ import annotations

import uuid
from typing import Callable, Sequence

import gradio as gr

from .conversations import ConversationStore, title_from


class ChatList:
    def __init__(self, store: ConversationStore):
        self.store = store
        # encrypted with a key kept in the database: the same browser is known after a restart
        self.owner = gr.BrowserState(None, storage_key="assistant-chat-owner", secret=store.browser_secret())
        self.current = gr.State(None)
        with gr.Accordion("我的对话", open=True, elem_id="chats"):
            self.new_btn = gr.Button("＋ 新对话", size="sm", elem_id="chat-new")
            self.choices = gr.Radio(choices=[], value=None, show_label=False, elem_id="chat-list")
            with gr.Row():
                self.title = gr.Textbox(label="对话名称", placeholder="新名称", show_label=False, scale=3, min_width=80,
                                        elem_id="chat-title")
                self.rename_btn = gr.Button("改名", size="sm", scale=1, min_width=50, elem_id="chat-rename")
            self.delete_btn = gr.Button("删除此对话", size="sm", variant="stop", elem_id="chat-delete")

    def _choices(self, owner: str, current: str | None):
        rows = self.store.list(owner) if owner else []
        return gr.update(choices=[(r["title"], r["id"]) for r in rows], value=current)

    def wire(self, app: gr.Blocks, shown: Callable[..., tuple], shown_outputs: list, turns_state,
             saved_after: list, view_inputs: Sequence = ()) -> None:
        """``shown(turns, *view)`` gives the values of ``shown_outputs`` (chat, cards, …)
        for a conversation's turns, ``view`` being the values of ``view_inputs`` (display
        settings); ``saved_after``: the events (an answer, a clear) after which the
        turns are saved."""
        store = self
        view_inputs = list(view_inputs)

        def start(owner: str | None, *view):
            owner = owner if isinstance(owner, str) and owner else uuid.uuid4().hex
            rows = store.store.list(owner)
            current = rows[0]["id"] if rows else None
            turns = store.store.turns(owner, current) if current else []
            return (owner, current, store._choices(owner, current), turns, *shown(turns, *view))

        def save(owner: str | None, current: str | None, turns: list):
            if not owner or not turns and not current:
                return current, gr.update()
            if current is None or not store.store.owns(owner, current):
                current = store.store.create(owner, title_from(turns[0].get("question", "")))
            store.store.save_turns(owner, current, turns)
            return current, store._choices(owner, current)

        def open_chat(owner: str | None, chosen: str | None, *view):
            turns = store.store.turns(owner, chosen) if owner and chosen else []
            return (chosen, turns, *shown(turns, *view))

        def new_chat(owner: str | None, *view):
            return (None, store._choices(owner, None), [], *shown([], *view))

        def rename(owner: str | None, current: str | None, title: str):
            if owner and current:
                store.store.rename(owner, current, title)
            return store._choices(owner, current), ""

        def delete(owner: str | None, current: str | None, *view):
            if owner and current:
                store.store.delete(owner, current)
            return new_chat(owner, *view)

        full = [self.current, turns_state, *shown_outputs]
        app.load(start, [self.owner, *view_inputs], [self.owner, self.current, self.choices, turns_state, *shown_outputs],
                 api_name=False)
        for event in saved_after:
            event.then(save, [self.owner, self.current, turns_state], [self.current, self.choices], api_name=False)
        self.choices.input(open_chat, [self.owner, self.choices, *view_inputs], full, api_name=False)
        self.new_btn.click(new_chat, [self.owner, *view_inputs], [self.current, self.choices, turns_state, *shown_outputs],
                           api_name=False)
        self.rename_btn.click(rename, [self.owner, self.current, self.title], [self.choices, self.title],
                              api_name=False)
        self.delete_btn.click(delete, [self.owner, self.current, *view_inputs],
                              [self.current, self.choices, turns_state, *shown_outputs], api_name=False)


__all__ = ["ChatList"]
