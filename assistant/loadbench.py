"""Load and soak benchmark of the web app: ``python -m assistant.bench --load``.

Starts the app (``python -m assistant serve``) in its own process on 127.0.0.1,
then plays browser sessions against it over Gradio's own queue protocol
(``POST /gradio_api/queue/join`` + the ``/gradio_api/queue/data`` event stream,
as the page and gradio_client do), from one asyncio loop in this process:

1. **single user**: one session asking the dev questions one after another
   (the baseline the other figures are read against);
2. **load**: ``--users`` concurrent users for ``--duration`` seconds; each user
   asks ``--turns`` questions in a session, then starts a new session;
3. **soak**: ``--sessions`` new sessions (``--turns`` questions each,
   ``--soak-users`` at a time), with the server's memory after every 100;
4. with ``--llm-hang``: the server's LLM endpoint is a loopback socket that
   accepts and never answers; ``--users`` users ask plain questions while
   ``--llm-users`` ask with the LLM, and the plain answers' p95 is printed
   beside the single-user one; with ``--llm-ab N`` as N interleaved pairs of
   phases on the same server (plain users alone, then beside the LLM users),
   so that the two are read under the same drift of the machine's load.

Prints success rate, p50/p95 latency (and how much of it was spent queued),
throughput, the server's CPU seconds per answer and its memory over time (its RSS
plus its answer worker processes' PSS, CPU of both), with the load average (the
machine is shared, so wall times depend on what else runs). Loopback only, bounded in time; not a test
and not run by CI. Asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .evaluation import default_gold_path, ensure_index, load_gold, percentile
from .settings import PROJECT_ROOT, Settings

READY_TIMEOUT_S = 600  # a cold start may build the index first
REQUEST_TIMEOUT_S = 300


# ---------------------------------------------------------------------------
# the server process
# ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's answer worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def proc_rss_mb(pid: int) -> float:
    """The server's memory: the main process's RSS plus its worker processes' PSS (a
    worker's pages shared with the server, such as the memory-mapped index, are counted
    once, shared out between the processes that map them)."""
    total = float("nan")
    for i, p in enumerate(process_tree(pid)):
        key, name = ("VmRSS:", "status") if i == 0 else ("Pss:", "smaps_rollup")
        try:
            for line in Path(f"/proc/{p}/{name}").read_text().splitlines():
                if line.startswith(key):
                    total = (0.0 if total != total else total) + int(line.split()[1]) / 1024
                    break
        except OSError:
            pass
    return total


def proc_cpu_s(pid: int, children: bool = True) -> float:
    """User + system CPU seconds so far of the server and (``children``) its worker processes."""
    total = 0.0
    for p in process_tree(pid) if children else [pid]:
        try:
            fields_ = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            if p == pid:
                return float("nan")
    return total


class ServerProcess:
    """``python -m assistant serve`` on a free loopback port, with extra environment."""

    def __init__(self, env: dict[str, str], config: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="assistant-load-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", "assistant"]
        if config:
            cmd += ["--config", config]
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **env}
        self.proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, answer_processes: int = 0) -> None:
        """Until the page is served and, with ``answer_processes``, its answer worker
        processes are ready (until then the server answers on its own threads)."""
        import httpx

        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log.name}")
            try:
                if httpx.get(self.url + "/config", timeout=2).status_code == 200 and (
                        not answer_processes
                        or httpx.get(self.url + "/healthz", timeout=2).json().get("answer_processes", 0) > 0):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"server not ready after {READY_TIMEOUT_S} s; log: {self.log.name}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class HungEndpoint:
    """A loopback socket that accepts connections and never answers (a hung LLM server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------------------
# a browser session, over Gradio's queue protocol
# ---------------------------------------------------------------------------
@dataclass
class Result:
    ok: bool
    seconds: float
    kind: str = "plain"
    error: str = ""
    message: dict[str, Any] = field(default_factory=dict, repr=False)  # the final event: success, output
    started_s: float = float("nan")  # from the join to the queue's "process_starts" (the wait for a slot)


@dataclass
class Endpoint:
    fn_index: int
    n_inputs: int
    defaults: list = field(default_factory=list)  # each input's value as the page first shows it


async def ask_endpoint(client, url: str) -> Endpoint:
    cfg = (await client.get(url.rstrip("/") + "/config")).json()
    values = {c["id"]: (c.get("props") or {}).get("value") for c in cfg.get("components", [])}
    for dep in cfg["dependencies"]:
        if dep.get("api_name") == "ask":
            return Endpoint(dep["id"], len(dep["inputs"]), [values.get(i) for i in dep["inputs"]])
    raise RuntimeError("the app has no /ask endpoint")


async def ask_once(client, url: str, ep: Endpoint, session: str, question: str, use_llm: bool = False) -> Result:
    """One question in ``session``: join the queue, read the event stream to the end.

    The body is ASCII JSON, as a browser's JSON.stringify sends it (so a lone
    surrogate travels as "\\ud800", which a UTF-8 body could not carry)."""
    url = url.rstrip("/")
    # question, conversation (a new session's), place filter, LLM switch; any further
    # input (a setting the page shows) as the page first shows it
    data: list[Any] = ([question, None, [], use_llm] + list(ep.defaults[4:]))[: ep.n_inputs]
    body = json.dumps({"data": data, "event_data": None, "fn_index": ep.fn_index, "trigger_id": None,
                       "session_hash": session}, ensure_ascii=True)
    t0 = time.perf_counter()
    kind = "llm" if use_llm else "plain"
    stage = "join"
    received = 0  # bytes of the event stream read (a failure says whether the server had sent anything)
    try:
        r = await client.post(url + "/gradio_api/queue/join", content=body,
                              headers={"Content-Type": "application/json"})
        if r.status_code != 200:
            return Result(False, time.perf_counter() - t0, kind, f"join HTTP {r.status_code}")
        event_id = r.json()["event_id"]
        stage = "event stream"
        async with client.stream("GET", url + "/gradio_api/queue/data", params={"session_hash": session}) as resp:
            buf = b""
            started = float("nan")
            async for chunk in resp.aiter_bytes():
                received += len(chunk)
                buf += chunk
                while b"\n\n" in buf:
                    line, buf = buf.split(b"\n\n", 1)
                    if not line.startswith(b"data:"):
                        continue
                    msg = json.loads(line[5:])
                    if msg.get("event_id") != event_id:
                        continue
                    if msg.get("msg") == "process_starts":
                        started = time.perf_counter() - t0
                    if msg.get("msg") != "process_completed":
                        continue
                    out = (msg.get("output") or {}).get("data") or []
                    ok = bool(msg.get("success")) and len(out) > 1 and bool(out[1])
                    err = "" if ok else str((msg.get("output") or {}).get("error") or "no answer in the output")
                    return Result(ok, time.perf_counter() - t0, kind, err, msg, started)
        return Result(False, time.perf_counter() - t0, kind, "stream ended before the answer")
    except Exception as e:  # noqa: BLE001 - a failed request is a figure, not a crash
        where = f" after {received} bytes" if stage == "event stream" else ""
        return Result(False, time.perf_counter() - t0, kind, f"{stage}{where}: {error_chain(e)}")


def error_chain(e: BaseException) -> str:
    """An exception and what caused it, outermost first (httpx's ReadError says nothing of
    its own; the socket error under it says whether the peer reset or closed the stream)."""
    parts, seen = [], set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}".rstrip(": "))
        e = e.__cause__ or e.__context__
    return " <- ".join(parts)


def ask_blocking(url: str, session: str, question: str, use_llm: bool = False, timeout: float = 300) -> dict:
    """One question over the queue protocol, from synchronous code (tests): the final
    event message (``success``, ``output.data``)."""
    import httpx

    async def go() -> Result:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=30)) as client:
            return await ask_once(client, url, await ask_endpoint(client, url), session, question, use_llm)

    result = asyncio.run(go())
    if not result.message:
        raise RuntimeError(f"no answer from {url}: {result.error}")
    return result.message


# ---------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    results: list[Result] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    main_cpu_s: float = 0.0  # of it, the server process's own (the rest: its answer workers')
    rss: list[tuple[float, float, int]] = field(default_factory=list)  # (t, MB, sessions so far)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before, after

    def line(self, kind: str | None = None) -> str:
        rs = [r for r in self.results if kind is None or r.kind == kind]
        ok = [r.seconds for r in rs if r.ok]
        rate = len(ok) / len(rs) * 100 if rs else float("nan")
        thr = len(ok) / self.wall_s if self.wall_s else float("nan")
        # the server's CPU over every answer of the phase (an LLM user's fallback answer costs
        # a retrieval and an extractive answer too): per answer, whichever kind is shown
        answered = sum(1 for r in self.results if r.ok)
        cpu = self.cpu_s / answered if answered else float("nan")
        name = self.name + (f" ({kind})" if kind else "")
        return (f"{name:<24} {len(rs):>6} {rate:>7.1f}% {percentile(ok, 50):>8.2f} {percentile(ok, 95):>8.2f} "
                f"{thr:>8.2f} {cpu * 1000:>8.0f} {self.load[0]:>5.2f}→{self.load[1]:<5.2f}")


    def split(self, kind: str | None = None) -> str:
        """Where the answered asks' time went: waiting in Gradio's queue for a slot (join to
        "process_starts") and the event itself (to "process_completed")."""
        rs = [r for r in self.results if r.ok and (kind is None or r.kind == kind) and r.started_s == r.started_s]
        waited = [r.started_s for r in rs]
        ran = [r.seconds - r.started_s for r in rs]
        answered = sum(1 for r in self.results if r.ok)
        main = self.main_cpu_s / answered * 1000 if answered else float("nan")
        return (f"    queued p50 {percentile(waited, 50):.2f} p95 {percentile(waited, 95):.2f} s · "
                f"in the event p50 {percentile(ran, 50):.2f} p95 {percentile(ran, 95):.2f} s · "
                f"CPU ms/answer in the server process {main:.0f} (the rest in its workers)")


HEADER = (f"{'phase':<24} {'asks':>6} {'success':>8} {'p50 s':>8} {'p95 s':>8} {'ans/s':>8} {'cpu ms':>8} "
          "load avg")


class Runner:
    def __init__(self, server: ServerProcess, questions: list[str], seed: int = 0):
        self.server = server
        self.questions = questions
        self.rng = random.Random(seed)
        self.sessions = 0

    async def __aenter__(self) -> "Runner":
        import httpx

        # an idle connection is given up after 1 s: the server (uvicorn) closes idle ones
        # after 5 s, and reusing one as it closes fails with ReadError, a race of this client
        # (a browser retries a request that failed on a reused connection)
        limits = httpx.Limits(max_connections=4000, max_keepalive_connections=400, keepalive_expiry=1.0)
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=30), limits=limits)
        self.ep = await ask_endpoint(self.client, self.server.url)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()

    def new_session(self) -> str:
        self.sessions += 1
        return uuid.uuid4().hex[:12]

    async def session(self, phase: Phase, turns: int, use_llm: bool = False, stop_at: float | None = None) -> None:
        sid = self.new_session()
        for _ in range(turns):
            if stop_at is not None and time.monotonic() >= stop_at:
                return
            q = self.rng.choice(self.questions)
            phase.results.append(await ask_once(self.client, self.server.url, self.ep, sid, q, use_llm))

    async def run_phase(self, phase: Phase, coro_factory) -> Phase:
        pid = self.server.pid
        phase.load = (os.getloadavg()[0], 0.0)
        cpu0, main0, t0 = proc_cpu_s(pid), proc_cpu_s(pid, children=False), time.monotonic()
        sampler = asyncio.create_task(self._sample_rss(phase, t0))
        try:
            await coro_factory()
        finally:
            sampler.cancel()
        phase.wall_s = time.monotonic() - t0
        phase.cpu_s = proc_cpu_s(pid) - cpu0
        phase.main_cpu_s = proc_cpu_s(pid, children=False) - main0
        phase.load = (phase.load[0], os.getloadavg()[0])
        phase.rss.append((phase.wall_s, proc_rss_mb(pid), self.sessions))
        return phase

    async def _sample_rss(self, phase: Phase, t0: float, every_s: float = 10.0) -> None:
        while True:
            phase.rss.append((time.monotonic() - t0, proc_rss_mb(self.server.pid), self.sessions))
            await asyncio.sleep(every_s)

    # -- the phases ---------------------------------------------------------------
    async def single(self, n: int) -> Phase:
        phase = Phase("single user")

        async def go():
            sid = self.new_session()
            for q in self.questions[:n]:
                phase.results.append(await ask_once(self.client, self.server.url, self.ep, sid, q))

        return await self.run_phase(phase, go)

    async def load(self, users: int, duration_s: float, turns: int, name: str = "load") -> Phase:
        phase = Phase(f"{name} {users} users")
        stop_at = time.monotonic() + duration_s

        async def user():
            while time.monotonic() < stop_at:
                await self.session(phase, turns, stop_at=stop_at)

        return await self.run_phase(phase, lambda: asyncio.gather(*(user() for _ in range(users))))

    async def soak(self, sessions: int, turns: int, concurrent: int) -> Phase:
        phase = Phase(f"soak {sessions} sessions")
        marks: list[tuple[int, float]] = []
        todo = iter(range(sessions))
        done = 0

        async def worker():
            nonlocal done
            for _ in todo:
                await self.session(phase, turns)
                done += 1
                if done % 100 == 0:  # N counts every session this server has seen
                    marks.append((self.sessions, proc_rss_mb(self.server.pid)))

        await self.run_phase(phase, lambda: asyncio.gather(*(worker() for _ in range(concurrent))))
        phase.marks = marks  # type: ignore[attr-defined]
        return phase

    async def llm_hang(self, users: int, llm_users: int, duration_s: float, turns: int) -> Phase:
        phase = Phase(f"hung LLM {users}+{llm_users}")
        stop_at = time.monotonic() + duration_s

        async def user(use_llm: bool):
            while time.monotonic() < stop_at:
                await self.session(phase, turns, use_llm=use_llm, stop_at=stop_at)

        coros = [user(False) for _ in range(users)] + [user(True) for _ in range(llm_users)]
        return await self.run_phase(phase, lambda: asyncio.gather(*coros))


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def print_phase(phase: Phase, kinds: tuple[str | None, ...] = (None,)) -> None:
    for kind in kinds:
        print(phase.line(kind))
        print(phase.split(kind))
    errors: dict[str, list[float]] = {}
    for r in phase.results:
        if not r.ok:
            errors.setdefault(r.error[:300], []).append(r.seconds)
    for err, secs in sorted(errors.items(), key=lambda x: -len(x[1]))[:5]:
        print(f"    {len(secs)} × {err} (after {min(secs):.1f}–{max(secs):.1f} s)")


def print_rss(phase: Phase) -> None:
    series = " ".join(f"{t:.0f}s:{mb:.0f}" for t, mb, _ in phase.rss)
    print(f"  memory (MB; server RSS + worker processes' PSS) over the {phase.name} phase: {series}")
    marks = getattr(phase, "marks", None)
    if marks:
        print("  memory (MB) after N sessions on the server: " + " ".join(f"{n}:{mb:.0f}" for n, mb in marks))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m assistant.bench --load", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="TOML settings file for the server")
    p.add_argument("--gold", help="questions JSONL (default eval/gold/dev.jsonl)")
    p.add_argument("--users", type=int, default=100, help="concurrent users in the load phase (default 100)")
    p.add_argument("--duration", type=float, default=180, help="seconds of the load phase (default 180; 0 skips it)")
    p.add_argument("--turns", type=int, default=3, help="questions per session (default 3)")
    p.add_argument("--single", type=int, default=30, help="questions in the single-user baseline (default 30)")
    p.add_argument("--sessions", type=int, default=1000, help="sessions in the soak phase (default 1000; 0 skips)")
    p.add_argument("--soak-users", type=int, default=50, help="sessions at a time in the soak phase (default 50)")
    p.add_argument("--llm-hang", action="store_true", help="add the hung-LLM phase (plain beside LLM users)")
    p.add_argument("--llm-ab", type=int, default=0, metavar="ROUNDS",
                   help="with --llm-hang: ROUNDS pairs of phases on the same server, plain users alone, then "
                        "beside the LLM users (interleaved, so the machine's load drifts alike for both)")
    p.add_argument("--llm-users", type=int, default=8, help="users asking with the LLM in the hung-LLM phase")
    p.add_argument("--llm-timeout", type=float, default=30.0, help="the server's llm_timeout_s in that phase")
    args = p.parse_args(argv)

    settings = Settings.load(args.config)
    ensure_index(settings)
    gold = load_gold(args.gold or default_gold_path(settings))
    questions = [g["question"] for g in gold if not g.get("history")]
    hung = HungEndpoint() if args.llm_hang else None
    env = {}
    if hung is not None:
        env = {"ASSISTANT_LLM_BASE_URL": hung.base_url, "ASSISTANT_LLM_MODEL": "hung",
               "ASSISTANT_LLM_TIMEOUT_S": str(args.llm_timeout)}
    server = ServerProcess(env, args.config)
    try:
        t0 = time.monotonic()
        server.wait_ready(Settings.load(args.config, env={**os.environ, **env}).answer_processes)
        workers = len(process_tree(server.pid)) - 1
        print(f"server pid {server.pid} ready in {time.monotonic() - t0:.1f} s · {workers} child processes · "
              f"memory {proc_rss_mb(server.pid):.0f} MB · "
              f"{os.cpu_count()} CPUs · load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"questions: {len(questions)} from {args.gold or default_gold_path(settings)}")
        asyncio.run(_run(server, questions, args))
    finally:
        server.stop()
        if hung is not None:
            hung.close()
    print(f"server log: {server.log.name}")
    return 0


async def _run(server: ServerProcess, questions: list[str], args) -> None:
    async with Runner(server, questions) as runner:
        print()
        print(HEADER)
        single = await runner.single(args.single)
        print_phase(single)
        if args.duration > 0:
            load = await runner.load(args.users, args.duration, args.turns)
            print_phase(load)
            print_rss(load)
        if args.llm_hang and args.llm_ab:
            for r in range(1, args.llm_ab + 1):
                alone = await runner.load(args.users, args.duration, args.turns, name=f"A{r} plain alone")
                print_phase(alone)
                hang = await runner.llm_hang(args.users, args.llm_users, args.duration, args.turns)
                hang.name = f"B{r} {hang.name}"
                print_phase(hang, kinds=("plain", "llm"))
        elif args.llm_hang:
            hang = await runner.llm_hang(args.users, args.llm_users, args.duration, args.turns)
            print_phase(hang, kinds=("plain", "llm"))
            print_rss(hang)
        if args.sessions:
            soak = await runner.soak(args.sessions, args.turns, args.soak_users)
            print_phase(soak)
            print_rss(soak)
        print(f"\nsessions opened: {runner.sessions} · final server memory {proc_rss_mb(server.pid):.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
