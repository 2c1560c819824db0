"""Prometheus metrics (SPEC §10): what came in, what was decided, what went out, how late.

One :class:`Metrics` per server, with a registry of its own (not the process's
global one), so that tests can run several servers side by side.  The server,
the delivery runner and the API call the small ``note``-style methods below as
things happen; states that are better read than counted (the PBX connection,
the outbox by state, its depth and its oldest mail) are read when ``/metrics``
is scraped.

Lag is measured from the hang-up (the call's end, which is also the outbox
row's ``queued_at``) to the mail queued, and to the mail accepted by the SMTP
server or confirmed by the user's client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from missedcall.calls.record import CallRecord
from missedcall.outbox.store import Dispatch, Outbox, State
from missedcall.rules.decision import Decision

__all__ = ["FailureKind", "Metrics"]

FailureKind = Literal["temporary", "permanent", "set_aside"]

# From a second to a day: mails wait for a slow PBX hang-up, a retry, or a client.
LAG_BUCKETS = (1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, float("inf"))
_WAITING: tuple[State, ...] = ("queued", "sending", "retry")


class _Pbx(Protocol):
    @property
    def pbx_connected(self) -> bool: ...

    @property
    def events_received(self) -> int: ...


class _Children:
    """A labelled counter's children by their label values, looked up once each:
    ``labels()`` checks its arguments and takes a lock every time, which is dear
    for every call and every mail."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[tuple[str, ...], Counter] = {}

    def __call__(self, *values: str) -> Counter:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._counter.labels(*values)
        return child


class Metrics:
    """The server's metrics and their registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._calls = _Children(
            Counter(
                "missedcall_calls",
                "Calls correlated (finished), by direction and completeness",
                ["direction", "complete"],
                registry=registry,
            )
        )
        self._decisions = _Children(
            Counter(
                "missedcall_decisions",
                "Verdicts per call, user and channel: 'notified' or the reason of the skip",
                ["channel", "reason"],
                registry=registry,
            )
        )
        self._queued = Counter(
            "missedcall_mails_queued", "Mails queued in the outbox", registry=registry
        )
        self._delivered = _Children(
            Counter(
                "missedcall_mails_delivered",
                "Mails accepted by the SMTP server, or confirmed sent by the user's client",
                ["dispatch"],
                registry=registry,
            )
        )
        self._failures = _Children(
            Counter(
                "missedcall_delivery_failures",
                "Delivery attempts that failed: temporary (retried), permanent, set aside",
                ["kind"],
                registry=registry,
            )
        )
        self._lag_queued = Histogram(
            "missedcall_lag_queued_seconds",
            "From the hang-up to the mail queued",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self._lag_delivered = Histogram(
            "missedcall_lag_delivered_seconds",
            "From the hang-up to the mail accepted by the SMTP server or confirmed by the client",
            buckets=LAG_BUCKETS,
            registry=registry,
        )

    def watch(self, pbx: _Pbx, outbox: Outbox, clock: Callable[[], float]) -> None:
        """Read the PBX connection and the outbox whenever the metrics are scraped."""
        self.registry.register(_StateCollector(pbx, outbox, clock))

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)

    # -- what the server, the runner and the API note ------------------------

    def call_decided(self, record: CallRecord, decision: Decision, queued: int, now: float) -> None:
        self._calls(record.direction, str(not record.incomplete).lower()).inc()
        if decision.email:
            self._decisions("email", "notified").inc(len(decision.email))
        if decision.journal:
            self._decisions("journal", "notified").inc(len(decision.journal))
        for skip in decision.skipped:
            self._decisions(skip.channel, skip.reason).inc()
        if queued:
            self._queued.inc(queued)
            self._lag_queued.observe(max(0.0, now - record.ended_at))

    def mail_delivered(self, dispatch: Dispatch, queued_at: float, now: float) -> None:
        self._delivered(dispatch).inc()
        self._lag_delivered.observe(max(0.0, now - queued_at))

    def delivery_failed(self, kind: FailureKind) -> None:
        self._failures(kind).inc()


class _StateCollector:
    """Read at scrape time: the PBX connection, its events (counted by the server, a
    Counter's lock would cost more than the event), and the outbox."""

    def __init__(self, pbx: _Pbx, outbox: Outbox, clock: Callable[[], float]) -> None:
        self._pbx = pbx
        self._outbox = outbox
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "missedcall_ami_connected",
            "1 while the PBX connection is up",
            value=int(self._pbx.pbx_connected),
        )
        yield CounterMetricFamily(
            "missedcall_ami_events", "Events read from the PBX", value=self._pbx.events_received
        )
        counts = self._outbox.counts_by_state()
        by_state = GaugeMetricFamily(
            "missedcall_outbox_mails", "Mails in the outbox by state", labels=["state"]
        )
        for state, count in counts.items():
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "missedcall_outbox_depth",
            "Mails still to be delivered (queued, sending, retry)",
            value=sum(counts[state] for state in _WAITING),
        )
        yield GaugeMetricFamily(
            "missedcall_outbox_oldest_age_seconds",
            "How long the oldest mail the server still has to deliver has waited since the"
            " hang-up; 0 when none waits",
            value=self._outbox.oldest_queued_age(self._clock()) or 0.0,
        )
