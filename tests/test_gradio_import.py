"""gradio imported without its stub writing, with its listener docs rendered without Jinja,
its events not importing matplotlib and pandas deferred (assistant/gradio_import.py).

These fail when a gradio upgrade moves what gradio_import changes: the change is then
not made (status() says why) and the start-up figures in the README no longer hold.
The figures themselves are the benchmark's (``python -m assistant bench --start``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.gradio_import import ENV_SWITCH, render_doc
from assistant.settings import PROJECT_ROOT

# In a fresh interpreter: import gradio after assistant, then check every event listener
# of every component and layout class against Jinja's rendering of its raw docstring.
CHECK = r"""
import json, sys
import assistant, gradio
from jinja2 import Template
from gradio.blocks import Block
from gradio.events import EventListener
import gradio.component_meta as meta
from assistant.gradio_import import _skip_stub_update, status

def classes(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from classes(sub)

checked, differ = 0, []
for cls in set(classes(Block)):
    for event in cls.__dict__.get("EVENTS", []):
        if not isinstance(event, EventListener):
            continue
        raw = event.copy().listener.__doc__  # a copy is made from the unrendered doc
        want = Template(raw).render(component=cls.__name__) if raw else raw
        got = getattr(cls, event.event_name).__doc__
        checked += 1
        if got != want:
            differ.append(f"{cls.__name__}.{event.event_name}")
from gradio.utils import MatplotlibBackendMananger
with MatplotlibBackendMananger():  # what gradio enters around every event
    pass
print(json.dumps({"status": status(), "checked": checked, "differ": differ,
                  "matplotlib": "matplotlib" in sys.modules,
                  "stubs_skipped": meta.create_or_modify_pyi is _skip_stub_update,
                  "pandas": type(sys.modules.get("pandas")).__name__,
                  "finder_left": any(type(f).__name__ == "_LeanGradioFinder" for f in sys.meta_path)}))
"""


def run_check(lean: bool) -> dict:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", ENV_SWITCH: "1" if lean else "0"}
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_gradio_is_imported_lean_with_every_listener_doc_as_jinja_renders_it():
    got = run_check(lean=True)
    assert got["status"] == {"gradio.component_meta": "changed", "gradio.events": "changed",
                             "gradio.utils": "changed", "pandas": "deferred"}
    assert got["stubs_skipped"] and got["pandas"] == "_LazyModule"
    assert not got["matplotlib"]  # an event does not import matplotlib
    assert got["checked"] >= 200, got  # gradio 6.31: 216 listeners
    assert got["differ"] == []
    assert not got["finder_left"]  # the finder takes itself off when gradio's import ends


@pytest.mark.slow
def test_the_switch_turns_it_off():
    got = run_check(lean=False)
    assert got["status"] == {} and not got["stubs_skipped"] and got["pandas"] == "module" and got["matplotlib"]
    assert got["differ"] == []


def test_render_doc_is_jinjas_for_the_component_name_only():
    from jinja2 import Template

    for doc in ("Triggered when the {{ component }} is clicked.\n    Parameters:\n        fn: x\n",
                "no template at all", "{{ component }}{{ component }}\n\n", ""):
        assert render_doc(doc, "Button") == Template(doc).render(component="Button")
    # any other Jinja is left to Jinja
    assert render_doc("{% if x %}{{ component }}{% endif %}", "Button") is None
    assert render_doc("{{ component|upper }}", "Button") is None
    assert render_doc("{# note #}{{ component }}", "Button") is None
