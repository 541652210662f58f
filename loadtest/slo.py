"""The SLO gate: each route's measurements against that route's SLOs.

Every route that received requests is judged on its own, so a slow route
cannot hide behind fast ones in the aggregate. Each threshold is printed
beside its measured value; the aggregate over all routes is reported, not
judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from loadtest.config import Slo


@dataclass(frozen=True)
class Measured:
    """What the gate needs from one route (or the aggregate): Locust's stats."""

    requests: int
    failures: int
    p95_ms: float
    p99_ms: float
    rps: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 1.0


@dataclass(frozen=True)
class Check:
    """One threshold and its measured value."""

    name: str
    measured: float
    limit: float
    passed: bool
    unit: str

    def text(self) -> str:
        """``p95 212.0 ms <= 250 ms``, or with ``>`` and ``BREACHED`` when it does not hold."""
        upper = self.name != "throughput"
        sign = ("<=" if self.passed else ">") if upper else (">=" if self.passed else "<")
        if self.unit == "%":
            value, limit = f"{self.measured:.2%}", f"{self.limit:.2%}"
        else:
            value, limit = f"{self.measured:.1f} {self.unit}", f"{self.limit:g} {self.unit}"
        return f"{self.name} {value} {sign} {limit}" + ("" if self.passed else " BREACHED")


def checks(m: Measured, slo: Slo) -> list[Check]:
    return [
        Check("p95", m.p95_ms, slo.p95_ms, m.p95_ms <= slo.p95_ms, "ms"),
        Check("p99", m.p99_ms, slo.p99_ms, m.p99_ms <= slo.p99_ms, "ms"),
        Check("errors", m.error_rate, slo.max_error_rate, m.error_rate <= slo.max_error_rate, "%"),
        Check("throughput", m.rps, slo.min_rps, m.rps >= slo.min_rps, "req/s"),
    ]


def _summary(m: Measured) -> dict[str, float]:
    return {**asdict(m), "error_rate": m.error_rate}


@dataclass(frozen=True)
class RouteVerdict:
    """One route: passed or not, the verdict line, each breach, the figures."""

    passed: bool
    line: str
    breaches: list[str]
    measured: dict[str, float]
    slo: dict[str, float]


def judge(route: str, m: Measured, slo: Slo) -> RouteVerdict:
    found = checks(m, slo)
    passed = all(c.passed for c in found)
    figures = ", ".join(c.text() for c in found)
    return RouteVerdict(
        passed,
        f"{'pass' if passed else 'FAIL'} {route} ({m.requests} requests): {figures}",
        [f"{route}: {c.text()}" for c in found if not c.passed],
        _summary(m),
        asdict(slo),
    )


@dataclass
class Verdict:
    """The gate's answer over every route; :meth:`to_json` is ``locust_slo.json``."""

    routes: dict[str, RouteVerdict]
    aggregate: Measured
    breaches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def aggregate_line(self) -> str:
        a = self.aggregate
        return (
            f"all routes together (not judged): {a.requests} requests,"
            f" p95 {a.p95_ms:.1f} ms, p99 {a.p99_ms:.1f} ms, {a.rps:.1f} req/s"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "breaches": self.breaches,
            "routes": {name: asdict(v) for name, v in self.routes.items()},
            "aggregate_not_judged": _summary(self.aggregate),
        }


def verdict(routes: dict[str, Measured], slo_for: Callable[[str], Slo], total: Measured) -> Verdict:
    """Every route judged against its SLOs; no route at all is a breach."""
    judged = {name: judge(name, m, slo_for(name)) for name, m in sorted(routes.items())}
    breaches = [b for v in judged.values() for b in v.breaches]
    if not routes:
        breaches.append("no requests completed")
    return Verdict(judged, total, breaches)
