"""Gradio's per-session state, without its copy of the page config.

For every browser session Gradio keeps a ``SessionState``; its constructor builds the
config of every block of the page (``config_for_block`` of the app's ~80 blocks:
``inspect.signature`` of each component's ``__init__``, about 15 ms of CPU), and every
answer writes each output's value into that copy again (the chat's HTML, the citation
cards, the raw JSON: kept for as long as the session is). The copy serves one route
only, ``/gradio_api/deep_link`` (a shareable link to a session's page state), which this
app does not offer. ``lean_sessions(blocks)`` makes the app's sessions keep what
answering needs (the session's ``gr.State`` values and its updated components) and
nothing more; a deep link then restores the page as it first loads.

Measured (python -m assistant.bench --load; see README "Reliability and security").
"""
from __future__ import annotations

import os
from copy import copy
from typing import Any

from gradio.state_holder import SessionState, StateHolder


class LeanSessionState(SessionState):
    """A ``SessionState`` whose ``config_values`` (the deep-link copy) stays empty."""

    def __init__(self, blocks):  # noqa: D107 - mirrors SessionState.__init__ minus config_values
        self.blocks_config = copy(blocks.default_config)
        self.config_values = {}
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    def __setitem__(self, key: int, value: Any) -> None:
        from gradio.components import State

        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            import datetime

            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value

    def _update_config(self, key: int) -> None:
        pass

    def _update_value_in_config(self, key: int, value: Any) -> None:
        pass


class LeanStateHolder(StateHolder):
    """Gradio's session store (bounded by ``state_session_capacity``), making lean sessions."""

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LeanSessionState(self.blocks)
        return super().__getitem__(session_id)


def lean_sessions(blocks) -> None:
    """Make the mounted or launched ``blocks``' sessions lean (call after mount/launch).

    Gradio creates its ``StateHolder`` inside its own ASGI app and hands the same object
    to the Blocks and the queue; its class is switched in place, so every holder of a
    reference sees the change (no session exists yet)."""
    holder = blocks.state_holder
    if type(holder) is StateHolder:
        holder.__class__ = LeanStateHolder
