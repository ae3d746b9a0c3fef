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
  instead, which delays the start of an event by at most that;
* by default ("auto") it tells every waiting page its place in the queue each time an
  event starts: with 60 pages waiting (100 users, 40 events running) that is 60 messages
  through the event streams per answer. Pages waiting are told every ``STATUS_UPDATE_S``
  instead (``blocks.queue(status_update_rate=STATUS_UPDATE_S)``): the place and the
  estimate a waiting page shows are at most that old. In an A/B of a small app (60 users,
  4 events at a time, nice 19, load average 11-12) the server's CPU per answer went
  49 -> 42 and 40 -> 30 ms, the client's 18-19 -> 10.5-11 ms.

``lean_queue(blocks)`` is called after the app is mounted or launched, beside
``sessions.lean_sessions``. Measured with ``python -m assistant.bench --load`` (README,
"Reliability and security").
"""
from __future__ import annotations

# The dispatcher's poll while nothing can start: 10 ms is under 10 % of a single
# user's answer (0.13 s on a quiet machine) and a fifth of the wake-ups.
POLL_S = 0.01
# How often a page waiting in the queue is told its place, in seconds.
STATUS_UPDATE_S = 1.0


def lean_queue(blocks) -> None:
    """Make the mounted or launched ``blocks``' queue keep no event records (when its
    monitoring is off) and poll every ``POLL_S``."""
    queue = blocks._queue
    if not blocks.enable_monitoring:
        queue.ANALYTICS_MAX_EVENTS = 0  # each record is dropped as it is made
        queue.event_analytics.clear()
    queue.sleep_when_free = max(queue.sleep_when_free, POLL_S)
