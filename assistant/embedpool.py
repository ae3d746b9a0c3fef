"""Embedding a build's texts in worker processes, one compute thread each.

USE's forward pass is small matrix products over a few hundred tokens at a time,
too small for BLAS threads to pay: on this 2-core machine (load average ~17) one
process with 2 BLAS threads spent 42.5 ms of CPU per chunk row and 18.0 per
sentence row, with 1 thread 9.8 and 4.0 (and less wall time too), because the
threads spin while they wait for each other. So every embedder here runs with one
thread, and a build uses the cores by running ``workers`` processes side by side.

``EmbeddingPool(spec, batch_size, workers)`` is a context manager; ``map(batches)``
yields ``(batch, vectors)`` as the workers finish them (not in order: the caller
keys vectors by text). Each worker is a spawned process that holds only its own
end of one pipe, so when the build process dies (SIGKILL included) the worker's
next read or write fails and it exits: nothing is left running.

A batch of long texts and its vectors (256 × 512 floats) are both larger than a
socket's buffer, so a worker reads its jobs on a thread of its own: the build
process's send never waits for a worker that is itself waiting to send a result
(with one thread, both ends blocked in send() for ever: the scale benchmark hung
this way at 98 % of 500 laws, where the batches of the longest texts come).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Iterable, Iterator, Sequence

import numpy as np

from .errors import EmbeddingModelError

IN_FLIGHT = 2  # batches queued per worker, so a worker never waits for the next one
MAX_WORKERS = 4


def default_workers(setting: int = 0) -> int:
    """``embed_workers`` = 0: one per core this process may use, at most MAX_WORKERS."""
    if int(setting or 0) > 0:
        return int(setting)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _worker(conn: Connection, spec: str, batch_size: int) -> None:
    from .embeddings import embed_texts, make_embedder

    try:
        emb = make_embedder(spec, batch_size, threads=1)
        emb.warm_up()
        conn.send(("ready", emb.dim))
        jobs: queue.Queue = queue.Queue()
        threading.Thread(target=_read_jobs, args=(conn, jobs), daemon=True, name="embed-jobs").start()
        while True:
            job = jobs.get()
            if job is None:
                return  # no more work, or the build process is gone
            tag, texts = job
            conn.send(("ok", tag, embed_texts(emb, texts)))
    except (EOFError, BrokenPipeError, OSError):
        return
    except BaseException as e:  # reported to the build, which raises it there
        try:
            conn.send(("error", f"{type(e).__name__}: {e}"))
        except (BrokenPipeError, OSError):
            pass


def _read_jobs(conn: Connection, jobs: queue.Queue) -> None:
    """Every job the build process sends, into ``jobs``; None at the end or when the
    build process is gone."""
    try:
        while True:
            job = conn.recv()
            jobs.put(job)
            if job is None:
                return
    except (EOFError, OSError):
        jobs.put(None)


class EmbeddingPool:
    """``workers`` processes embedding with model ``spec`` (see the module docstring)."""

    def __init__(self, spec: str, batch_size: int = 32, workers: int = 2):
        self.spec = spec
        self.batch_size = batch_size
        self.workers = max(1, int(workers))
        self._procs: list[mp.Process] = []
        self._conns: list[Connection] = []

    def __enter__(self) -> "EmbeddingPool":
        ctx = mp.get_context("spawn")  # no forked copy of the build's threads and locks
        for _ in range(self.workers):
            here, there = ctx.Pipe(duplex=True)
            p = ctx.Process(target=_worker, args=(there, self.spec, self.batch_size), daemon=True,
                            name="assistant-embed")
            p.start()
            there.close()
            self._procs.append(p)
            self._conns.append(here)
        for conn in self._conns:
            self._receive(conn)  # "ready", or the worker's error
        return self

    def __exit__(self, *exc) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            conn.close()
        for p in self._procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()

    def _receive(self, conn: Connection):
        try:
            msg = conn.recv()
        except EOFError:
            raise EmbeddingModelError("an embedding worker process died (out of memory, or killed)") from None
        if msg[0] == "error":
            raise EmbeddingModelError(f"embedding failed in a worker process: {msg[1]}")
        return msg

    def map(self, batches: Iterable[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        """(index of the batch, its vectors) for each batch, as they are done."""
        todo = deque(enumerate(batches))
        busy = {id(c): 0 for c in self._conns}
        by_id = {id(c): c for c in self._conns}

        def feed(conn: Connection) -> None:
            while todo and busy[id(conn)] < IN_FLIGHT:
                i, texts = todo.popleft()
                conn.send((i, list(texts)))
                busy[id(conn)] += 1

        for conn in self._conns:
            feed(conn)
        while any(busy.values()):
            for conn in wait([by_id[k] for k, n in busy.items() if n]):
                _, i, vecs = self._receive(conn)
                busy[id(conn)] -= 1
                feed(conn)
                yield i, vecs


__all__ = ["EmbeddingPool", "default_workers"]
