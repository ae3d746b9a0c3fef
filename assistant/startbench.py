"""Start-up benchmark of the web app: ``python -m assistant bench --start [--reps N]``.

Starts ``python -m assistant serve`` on the configured index ``N`` times in each of two
ways, in turn: the Gradio app built in the background (``ui_in_background = true``, the
default) and, as the baseline, built before the port opens (``false``). For each run it
records, from the moment the process is started:

* port: the port accepts connections;
* API: ``/healthz`` answered and a first answer through ``/v1/chat/completions``;
* UI: ``/`` serves the Gradio app (not the starting page);

wall seconds, and the server's CPU seconds (user + system, from /proc) at the port and at
the UI, since wall time on a shared machine says as much about the neighbours. Prints
the median of each beside the baseline's, with the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .scalebench import _cpu_seconds, stop_process
from .settings import PROJECT_ROOT

QUESTION = "嘉兴规划中知识产权质押融资的目标是多少？"
STEPS = ("port", "API", "UI")


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


def one_start(background: bool, config: str | None, timeout_s: float = 300) -> dict[str, float]:
    """Seconds from process start to each step, and the server's CPU seconds at port and UI."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "ASSISTANT_UI_IN_BACKGROUND": str(background).lower()}
    cmd = [sys.executable, "-m", "assistant", *(["--config", config] if config else []), "serve", "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, float] = {}
    try:
        while "port" not in out:
            if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("the app did not open its port")
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
            if proc.poll() is not None or time.perf_counter() - t0 > timeout_s:
                raise RuntimeError("the app's page did not come up")
            status, page = _get(url + "/")
            if status == 200 and "gradio" in page.lower():
                out["UI"], out["UI cpu"] = time.perf_counter() - t0, _cpu_seconds(proc.pid)
            else:
                time.sleep(0.05)
        return out
    finally:
        stop_process(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m assistant bench --start", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="starts of each kind (default 3), taken in turn")
    p.add_argument("--config", help="TOML settings file")
    args = p.parse_args([a for a in (argv or []) if a != "--start"])
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    load0 = os.getloadavg()
    for _ in range(max(args.reps, 1)):
        for background in (True, False):
            runs[background].append(one_start(background, args.config))
    load1 = os.getloadavg()
    print(f"app start, median of {args.reps} (load average {load0[0]:.1f} -> {load1[0]:.1f}); seconds from process start")
    print(f"{'':<28}{'UI in background':>18}{'UI before port':>16}")
    for key in ("port", "port cpu", "API", "UI", "UI cpu"):
        row = [statistics.median(r[key] for r in runs[b]) for b in (True, False)]
        label = {"port": "port open (wall)", "port cpu": "port open (server CPU)", "API": "first API answer (wall)",
                 "UI": "UI served (wall)", "UI cpu": "UI served (server CPU)"}[key]
        print(f"{label:<28}{row[0]:>18.2f}{row[1]:>16.2f}")
    return 0
