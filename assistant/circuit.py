"""A circuit breaker: stop calling an endpoint that keeps failing, until it recovers.

States (``CircuitBreaker.state``):

* **closed**: calls go through; ``failures`` failures in a row open the circuit;
* **open**: calls fail at once, without touching the endpoint, for ``cooldown_s``;
* **half-open** (the cooldown is over): one call goes through as a probe while the
  others still fail at once; the probe's success closes the circuit, its failure
  opens it again for twice the cooldown (up to ``max_cooldown_s``).

So a hung or dead endpoint costs its users ``failures`` timeouts, then nothing but
one probe per cooldown, instead of a timeout on every question. Thread-safe.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitOpen(Exception):
    """The call was not made: the circuit is open (or a probe is already out)."""

    def __init__(self, failures: int, retry_in_s: float, last_error: str):
        self.failures = failures
        self.retry_in_s = retry_in_s
        self.last_error = last_error
        super().__init__(f"failed {failures} times in a row, not called again for {retry_in_s:.0f} s"
                         + (f" (last error: {last_error})" if last_error else ""))


class CircuitBreaker:
    def __init__(self, failures: int = 3, cooldown_s: float = 30.0, max_cooldown_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = max(1, int(failures))
        self.base_cooldown_s = float(cooldown_s)
        self.max_cooldown_s = max(float(max_cooldown_s), self.base_cooldown_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._cooldown_s = self.base_cooldown_s
        self._probe_out = False
        self._last_error = ""

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        return OPEN if self.clock() - self._opened_at < self._cooldown_s else HALF_OPEN

    def before_call(self) -> None:
        """Raise CircuitOpen unless this call may go to the endpoint."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._probe_out:
                self._probe_out = True  # this call is the probe
                return
            retry = max(0.0, self._opened_at + self._cooldown_s - self.clock()) if self._opened_at else 0.0
            raise CircuitOpen(self._failures, retry, self._last_error)

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._cooldown_s = self.base_cooldown_s
            self._probe_out = False
            self._last_error = ""

    def record_failure(self, error: str = "") -> None:
        with self._lock:
            self._failures += 1
            self._last_error = error
            if self._probe_out:  # the probe failed: open again, for longer
                self._cooldown_s = min(self._cooldown_s * 2, self.max_cooldown_s)
                self._opened_at = self.clock()
            elif self._failures >= self.threshold and self._opened_at is None:
                self._opened_at = self.clock()
            self._probe_out = False

    def release(self) -> None:
        """The call ended for a reason that says nothing about the endpoint (the caller
        stopped it): a probe slot it held is given back."""
        with self._lock:
            self._probe_out = False
