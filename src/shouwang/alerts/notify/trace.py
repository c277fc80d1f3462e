"""Where a delivery's first attempt spends its time: monotonic timestamps of each step.

Steps, in path order: `received` (the event's time, which for a sensor without a clock of
its own is when the bridge received it, carried to this clock), `opened` (the alert row is written),
`planned` (its deliveries are decided), `committed` (the ingest transaction is committed),
`taken` (the warm sender starts on it), `request` (the request is written), `response` (the
answer is read), `recorded` (the outcome is committed). Times are `time.perf_counter()`, which
on Linux is CLOCK_MONOTONIC, one clock for every process of the machine: a bench can join them
with its own publish times.

With NOTIFY_TRACE_FILE (SHOUWANG_NOTIFY_TRACE_FILE) set, each first attempt appends one JSON
line {"alert": id, "delivery": id, "t": {step: seconds}}: ids and times only, nothing personal.
"""

from __future__ import annotations

import json
import threading
import time
from typing import IO

from shouwang.alerts.notify import conf

_lock = threading.Lock()
_file: IO[str] | None = None
_path: str | None = None


def now() -> float:
    return time.perf_counter()


class Trace:
    __slots__ = ("alert_id", "delivery_id", "marks")

    def __init__(self, alert_id: int, marks: dict[str, float] | None = None) -> None:
        self.alert_id = alert_id
        self.delivery_id = 0
        self.marks: dict[str, float] = dict(marks or {})

    def mark(self, step: str, at: float | None = None) -> None:
        self.marks[step] = now() if at is None else at


def write(traces: list[Trace]) -> None:
    """Append the finished traces to the trace file, if one is configured."""
    global _file, _path
    path = conf.trace_file()
    if not path or not traces:
        return
    lines = "".join(
        json.dumps({"alert": t.alert_id, "delivery": t.delivery_id, "t": t.marks}) + "\n"
        for t in traces
    )
    with _lock:
        if _file is None or _path != path:
            _file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open, appended to
            _path = path
        _file.write(lines)
        _file.flush()
