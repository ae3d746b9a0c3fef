"""Gradio's event queue, without the monitoring records nobody reads, polling less often.

Per event, Gradio's queue (``gradio.queueing.Queue``) does two things this app pays
for and does not use:

* it keeps a record of every event (up to ``GRADIO_ANALYTICS_MAX_EVENTS``, 10,000 by
  default) and, after each one, rebuilds a pandas summary of all of them for its
  monitoring routes (``/monitoring``): about 6 ms of CPU per event with a
  hundred records and 19 ms with 10,000, on the event loop's thread pool, and the
  records held. The app turns monitoring off (``enable_monitoring=False``: those routes
  answer 403, where ``/monitoring/summary`` was open to anyone), so no
  record is kept and the summary is never rebuilt;
* its dispatcher wakes every millisecond while the queue is empty or every worker is
  busy (about 50 ms of CPU per second of an idle server); it polls every ``POLL_S``
  instead, which delays the start of an event by at most that.

``lean_queue(blocks)`` is called after the app is mounted or launched, beside
``sessions.lean_sessions``. Measured with ``python -m assistant.bench --load`` (README,
"Reliability and security").
"""
from __future__ import annotations

# The dispatcher's poll while nothing can start: 10 ms is under 10 % of a single
# user's answer (0.13 s on a quiet machine) and a fifth of the wake-ups.
POLL_S = 0.01


def lean_queue(blocks) -> None:
    """Make the mounted or launched ``blocks``' queue keep no event records (when its
    monitoring is off) and poll every ``POLL_S``."""
    queue = blocks._queue
    if not blocks.enable_monitoring:
        queue.ANALYTICS_MAX_EVENTS = 0  # each record is dropped as it is made
        queue.event_analytics.clear()
    queue.sleep_when_free = max(queue.sleep_when_free, POLL_S)
