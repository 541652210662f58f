"""The SLO gate: compare a run's totals with the config's SLOs, one line per breach."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from loadtest.config import Slo


@dataclass(frozen=True)
class Totals:
    """What the gate needs from a run (Locust's aggregated stats)."""

    requests: int
    failures: int
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 1.0


def breaches(totals: Totals, slo: Slo) -> list[str]:
    """Human-readable breaches; empty when every SLO holds. No requests is a breach."""
    found = []
    if totals.requests == 0:
        found.append("no requests completed")
    if totals.p95_ms > slo.p95_ms:
        found.append(f"p95 latency {totals.p95_ms:.1f} ms > {slo.p95_ms:g} ms")
    if totals.p99_ms > slo.p99_ms:
        found.append(f"p99 latency {totals.p99_ms:.1f} ms > {slo.p99_ms:g} ms")
    if totals.error_rate > slo.max_error_rate:
        found.append(f"error rate {totals.error_rate:.2%} > {slo.max_error_rate:.2%}")
    if totals.rps < slo.min_rps:
        found.append(f"throughput {totals.rps:.1f} req/s < {slo.min_rps:g} req/s")
    return found


def verdict(totals: Totals, slo: Slo) -> dict[str, object]:
    """The JSON summary written beside Locust's CSV/HTML reports."""
    found = breaches(totals, slo)
    return {
        "passed": not found,
        "breaches": found,
        "totals": {**asdict(totals), "error_rate": totals.error_rate},
        "slo": asdict(slo),
    }
