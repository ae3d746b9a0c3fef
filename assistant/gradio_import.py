"""Gradio without the work it does for its own developers and for what this app never uses.

``import gradio`` (6.31) costs about 6–7 CPU seconds on this machine, most of the web
app's start, and the first event a page sends pays for matplotlib. Four things serve
no purpose in this app:

* ``gradio.component_meta.create_or_modify_pyi``: for every component class (81 of
  them) it reads the class's source file, parses it and the ``.pyi`` stub beside it with
  ``ast`` and renders a Jinja template, to keep the stubs that ship in the wheel up to
  date for editors (it rewrites a stub only when it differs, which an installed gradio's
  never does). Skipped here.
* ``gradio.events.EventListener.set_doc``: compiles one Jinja template per event
  listener (216) to write the component's name into the listener's docstring in place of
  ``{{ component }}``. Done here with ``str.replace``, which gives the same docstring
  (tests/test_gradio_import.py checks every listener against Jinja); a docstring holding
  any other Jinja syntax still goes through Jinja.
* ``gradio.utils.MatplotlibBackendMananger``, entered around every event a page sends:
  it imports matplotlib (and pyplot, to read the backend) to switch it to "agg" for the
  event and back: 0.6 CPU s on the first question asked in the page. Here it switches
  only when matplotlib is already imported (something in the process draws with it);
  this app never does, and pyplot picks a non-interactive backend on a headless server
  anyway.
* pandas (with pyarrow), which ``gradio.caching`` imports at its top for ``gr.cache`` of
  DataFrames and gradio's queue for an analytics summary that ``leanqueue`` turns off:
  loaded lazily (``importlib.util.LazyLoader``), i.e. on its first use, which this app
  never makes.

``install()`` puts a finder at the front of ``sys.meta_path`` that makes these changes
while gradio is imported (its modules cannot be changed before they run: importing any
of them runs all of ``gradio/__init__``) and takes itself off when gradio's import ends.
``assistant/__init__`` calls it, so every ``import gradio`` in a process that imported
``assistant`` first gets it; it does nothing when gradio is already imported. If a gradio
upgrade renames what is changed here, gradio is left as it is and ``status()`` says so;
the tests fail then. ``ASSISTANT_GRADIO_LEAN_IMPORT=0`` turns it off (the baseline of
``python -m assistant bench --start``).

Measured: README "Start-up" (``python -m assistant bench --start``).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from typing import Any

ENV_SWITCH = "ASSISTANT_GRADIO_LEAN_IMPORT"
JINJA_SIGNS = ("{{", "{%", "{#")
_status: dict[str, str] = {}  # module -> "changed" | "deferred" (pandas) | why it was left as it is


def _skip_stub_update(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for ``create_or_modify_pyi``: the installed stubs are left as they ship."""


def render_doc(doc: str, component: str) -> str | None:
    """``Template(doc).render(component=component)`` for a docstring whose only Jinja is
    ``{{ component }}`` (Jinja drops one trailing newline); None for any other."""
    plain = doc.replace("{{ component }}", "")
    if any(sign in plain for sign in JINJA_SIGNS):
        return None
    text = doc.replace("{{ component }}", component)
    return text[:-1] if text.endswith("\n") else text


def _change_component_meta(module: Any) -> None:
    if not callable(getattr(module, "create_or_modify_pyi", None)):
        raise AttributeError("create_or_modify_pyi")
    module.create_or_modify_pyi = _skip_stub_update


def _change_events(module: Any) -> None:
    listener = module.EventListener
    jinja_set_doc = listener.set_doc

    def set_doc(self, component: str) -> None:
        doc = self.listener.__doc__
        if not doc:
            return
        rendered = render_doc(doc, component)
        if rendered is None:
            jinja_set_doc(self, component)
        else:
            self.listener.__doc__ = rendered

    listener.set_doc = set_doc


class _LeanGradioFinder(importlib.abc.MetaPathFinder):
    """Finds gradio's modules as Python does; changes two of them once executed, and
    loads pandas lazily when gradio's import asks for it."""

    importing_gradio = False

    def find_spec(self, name, path=None, target=None):
        if name == "gradio":
            return self._wrapped(name, path, target, self._importing)
        if name == "pandas" and self.importing_gradio:
            spec = importlib.machinery.PathFinder.find_spec(name, path, target)
            if spec is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = importlib.util.LazyLoader(spec.loader)
                _status[name] = "deferred"
            return spec
        if name in _CHANGE:
            return self._wrapped(name, path, target, _CHANGE[name])
        return None

    @staticmethod
    def _wrapped(name, path, target, change):
        """The module's spec, with ``change(module, execute)`` run in place of executing it."""
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            _status[name] = "left as it is: no source loader"
            return spec
        execute = spec.loader.exec_module
        spec.loader.exec_module = lambda module: change(module, execute)  # this module's own loader object
        return spec

    def _importing(self, module, execute) -> None:
        self.importing_gradio = True
        try:
            execute(module)
        finally:
            self.importing_gradio = False
            if self in sys.meta_path:
                sys.meta_path.remove(self)


def _changed(change):
    """``change(module)`` after the module is executed; gradio left as it is if it fails."""
    def run(module, execute) -> None:
        execute(module)
        try:
            change(module)
        except AttributeError as e:  # gradio changed: leave it as it is
            _status[module.__name__] = f"left as it is: gradio has no {e.args[0] if e.args else e}"
        else:
            _status[module.__name__] = "changed"
    return run


def _change_utils(module: Any) -> None:
    manager = module.MatplotlibBackendMananger
    switch, switch_back = manager.__enter__, manager.__exit__

    def __enter__(self):
        self.switched = "matplotlib" in sys.modules  # else nothing in this process has drawn with it
        if self.switched:
            switch(self)

    def __exit__(self, *exc):
        if getattr(self, "switched", False):
            switch_back(self, *exc)

    manager.__enter__, manager.__exit__ = __enter__, __exit__


_CHANGE = {"gradio.component_meta": _changed(_change_component_meta), "gradio.events": _changed(_change_events),
           "gradio.utils": _changed(_change_utils)}
_finder = _LeanGradioFinder()


def install() -> None:
    """Change gradio's import as above, unless gradio is imported already or it is turned off."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return
    if "gradio" in sys.modules or _finder in sys.meta_path:
        return
    sys.meta_path.insert(0, _finder)


def status() -> dict[str, str]:
    """What was done to each module: "changed", "deferred" (pandas), or why it was left as it
    is; {} before gradio's import (or with the switch off)."""
    return dict(_status)
