"""Start-up benchmark of the web app: ``python -m assistant bench --start [--reps N]``.

Starts ``python -m assistant serve`` on the configured index ``N`` times in each of two
ways, in turn: as configured, and as the baseline with one environment variable set
(``--baseline NAME=VALUE``; by default ``ASSISTANT_UI_IN_BACKGROUND=false``, the Gradio
app built before the port opens; ``ASSISTANT_GRADIO_LEAN_IMPORT=0`` times gradio's own
import against gradio_import.py's). For each run it records, from the moment the process
is started:

* port: the port accepts connections;
* API: ``/healthz`` answered and a first answer through ``/v1/chat/completions``;
* UI served: ``/`` serves the Gradio app (not the starting page);
* UI usable: Chromium (started before the server, so its own start is not counted) has
  loaded that page, its question box takes a question, and the answer is shown in the
  chat (skipped with ``--no-browser`` or when Debian's chromium is missing);

wall seconds, and the server's CPU seconds (user + system, from /proc) at the port and at
the UI steps, since wall time on a shared machine says as much about the neighbours, and at
"UI usable" also the CPU seconds of the server with its answer worker processes. Prints
the median of each beside the baseline's, with the load average.

``--baseline-tree DIR`` makes the baseline another checkout of the project (e.g. ``main``
before a change: ``git worktree add DIR main``) serving the same index and corpus, so a
change is measured before → after in one run, its starts alternated with the baseline's.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from .scalebench import _cpu_seconds, stop_process
from .settings import PROJECT_ROOT

QUESTION = "嘉兴规划中知识产权质押融资的目标是多少？"
ANSWER_MARK = "200亿"  # in 嘉兴's answer to QUESTION
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ROWS = {"port": "port open (wall)", "port cpu": "port open (server CPU)", "API": "first API answer (wall)",
        "UI": "UI served (wall)", "UI cpu": "UI served (server CPU)",
        "usable": "UI usable (wall)", "usable cpu": "UI usable (server CPU)",
        "usable tree cpu": "UI usable (+ workers CPU)"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its running child processes (the answer workers)."""
    total = _cpu_seconds(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += _cpu_seconds(int(child))
    return round(total, 2)


def one_start(env_extra: dict[str, str], config: str | None, browser=None, timeout_s: float = 300,
              cwd: Path = PROJECT_ROOT) -> dict[str, float]:
    """Seconds from process start to each step, and the server's CPU seconds at port and UI
    (``cwd``: the checkout whose ``python -m assistant serve`` runs)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **env_extra}
    cmd = [sys.executable, "-m", "assistant", *(["--config", config] if config else []), "serve", "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, float] = {}

    def alive() -> None:
        if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
            raise RuntimeError(f"the app stopped or took over {timeout_s:.0f} s at {sorted(out)}")

    try:
        while "port" not in out:
            alive()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    out["port"], out["port cpu"] = time.perf_counter() - t0, _cpu_seconds(proc.pid)
            time.sleep(0.02)
        status, _ = _get(url + "/healthz")
        status2, body = _get(url + "/v1/chat/completions",
                             {"model": "ip-assistant", "messages": [{"role": "user", "content": QUESTION}]})
        if status != 200 or status2 != 200 or "出处" not in body:
            raise RuntimeError(f"the API did not answer ({status}, {status2})")
        out["API"] = time.perf_counter() - t0
        while "UI" not in out:
            alive()
            status, page = _get(url + "/")
            if status == 200 and "gradio" in page.lower():
                out["UI"], out["UI cpu"] = time.perf_counter() - t0, _cpu_seconds(proc.pid)
            else:
                time.sleep(0.05)
        if browser is not None:
            _ask_in_the_page(browser, url)
            out["usable"], out["usable cpu"] = time.perf_counter() - t0, _cpu_seconds(proc.pid)
            out["usable tree cpu"] = _tree_cpu_seconds(proc.pid)
        return out
    finally:
        stop_process(proc)


def _ask_in_the_page(driver, url: str, timeout_s: float = 180) -> None:
    """Load the app's page, ask QUESTION in it and wait for the answer in the chat."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/")
    box = WebDriverWait(driver, timeout_s).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#question textarea")))
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, timeout_s).until(
        lambda d: any(ANSWER_MARK in m.text for m in d.find_elements(By.CSS_SELECTOR, "#chatbot .msg")))


@contextlib.contextmanager
def _chromium(wanted: bool) -> Iterator:
    """Headless Debian Chromium through Selenium (a fresh profile), or None."""
    if not (wanted and Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        yield None
        return
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="startbench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1440,1000", "--lang=zh-CN"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m assistant bench --start", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="starts of each kind (default 3), taken in turn")
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--baseline", default="ASSISTANT_UI_IN_BACKGROUND=false", metavar="NAME=VALUE",
                   help="the environment variable set for the baseline's starts "
                        "(default ASSISTANT_UI_IN_BACKGROUND=false: the UI built before the port opens)")
    p.add_argument("--baseline-tree", metavar="DIR",
                   help="the baseline is this checkout of the project (same index and corpus), not --baseline")
    p.add_argument("--no-browser", action="store_true", help="skip 'UI usable' (a question asked in Chromium)")
    args = p.parse_args([a for a in (argv or []) if a != "--start"])
    kinds = {"as configured": ({}, PROJECT_ROOT), **_baseline(args)}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    load0 = os.getloadavg()
    with _chromium(not args.no_browser) as browser:
        for _ in range(max(args.reps, 1)):
            for kind, (env, cwd) in kinds.items():
                runs[kind].append(one_start(env, args.config, browser, cwd=cwd))
    load1 = os.getloadavg()
    print(f"app start, median of {args.reps} (load average {load0[0]:.1f} -> {load1[0]:.1f}); seconds from process start")
    baseline = list(kinds)[1]
    print(f"{'':<28}{'as configured':>18}{baseline:>36}")
    for key, label in ROWS.items():
        if all(key in r for rs in runs.values() for r in rs):
            row = [statistics.median(r[key] for r in runs[k]) for k in kinds]
            print(f"{label:<28}{row[0]:>18.2f}{row[1]:>36.2f}")
    return 0


def _baseline(args) -> dict[str, tuple[dict[str, str], Path]]:
    """The baseline's name, environment and checkout: ``--baseline-tree`` serving this
    checkout's index and corpus (its own defaults would be its own folders), else this
    checkout with ``--baseline``'s variable set."""
    if args.baseline_tree:
        from .settings import Settings

        settings = Settings.load(args.config)
        tree = Path(args.baseline_tree).resolve()
        env = {"ASSISTANT_INDEX_DIR": str(Path(settings.index_dir).resolve()),
               "ASSISTANT_CORPUS_DIR": str(Path(settings.corpus_dir).resolve())}
        return {f"tree {tree.name}": (env, tree)}
    name, _, value = args.baseline.partition("=")
    return {args.baseline: ({name: value}, PROJECT_ROOT)}
