"""Prometheus metrics, counted with plain integers on the hot path and exposed at scrape time."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)


class DecisionMetrics:
    """Counts decisions by outcome and reason, and their latency."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def observe(self, outcome: str, reason_codes: Iterable[str], seconds: float) -> None:
        self.outcomes[outcome] += 1
        for code in reason_codes:
            self.reasons[code] += 1
        self._bucket_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

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
