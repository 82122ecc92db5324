"""Prometheus metrics, counted with plain integers on the hot path and exposed at scrape time."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)


AnswerKind = tuple[str, tuple[str, ...]]  # an answer's outcome and reason codes


class DecisionMetrics:
    """Counts decisions by outcome and reason, and their latency.

    The hot path counts each kind of answer with one dict update; the per-outcome and per-reason
    totals are summed from those at scrape time.
    """

    def __init__(self) -> None:
        self._kinds: dict[AnswerKind, int] = {}
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def observe(self, kind: AnswerKind, seconds: float) -> None:
        """Count one answer of `kind` that took `seconds`."""
        kinds = self._kinds
        kinds[kind] = kinds.get(kind, 0) + 1
        self._bucket_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    @property
    def outcomes(self) -> Counter[str]:
        """Decisions by outcome."""
        totals: Counter[str] = Counter()
        for (outcome, _codes), count in list(self._kinds.items()):
            totals[outcome] += count
        return totals

    @property
    def reasons(self) -> Counter[str]:
        """Reasons given, by code."""
        totals: Counter[str] = Counter()
        for (_outcome, codes), count in list(self._kinds.items()):
            for code in codes:
                totals[code] += count
        return totals

    def latency_buckets(self) -> list[tuple[str, int]]:
        cumulative, out = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self._bucket_counts, strict=True):
            cumulative += count
            out.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        return out


Gauges = Callable[[], dict[str, tuple[str, float]]]


class _Collector(Collector):
    def __init__(self, metrics: DecisionMetrics, gauges: Gauges) -> None:
        self._metrics = metrics
        self._gauges = gauges

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        decisions = CounterMetricFamily(
            "toolgate_decisions", "Decisions answered, by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(self._metrics.outcomes.items()):
            decisions.add_metric([outcome], count)
        yield decisions
        reasons = CounterMetricFamily(
            "toolgate_decision_reasons", "Reasons given in decisions, by code", labels=["reason"]
        )
        for code, count in sorted(self._metrics.reasons.items()):
            reasons.add_metric([code], count)
        yield reasons
        buckets = self._metrics.latency_buckets()
        yield HistogramMetricFamily(
            "toolgate_decision_latency_seconds",
            "Time to answer a decision, from request to response body",
            buckets=buckets,
            sum_value=self._metrics.latency_sum,
        )
        for name, (help_text, value) in sorted(self._gauges().items()):
            yield GaugeMetricFamily(name, help_text, value=value)


def render_metrics(metrics: DecisionMetrics, gauges: Gauges) -> bytes:
    """The Prometheus text exposition of the decision metrics and the given gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(metrics, gauges))
    return generate_latest(registry)
