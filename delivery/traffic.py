"""Which model versions answer, and in what shares: the canary split, measured.

    python -m delivery.traffic --namespace heart --name heart --ingress 127.0.0.1:8080 \\
        --requests 400 --expect 3=90 --expect 4=10

Sends ``--requests`` one-row v2 requests to the transformer through the
ingress (Host from the InferenceService's status), reads the model version
each answer carries (``model_version``, the predictor's MLflow version) and
compares the counts with the expected shares. A share passes when the count
lies within ``--sigmas`` binomial standard deviations of its expectation
(at least one request either side); a version that is not expected, or an
expected 100 % share with any other answer, fails. Exit 1 on failure, with
the counts printed either way.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence

from delivery.smoke import hosts_from_status, rest_infer, v2_named_columns


def parse_expect(items: Sequence[str]) -> dict[str, float]:
    """``VERSION=PERCENT`` pairs; the percents must add up to 100."""
    shares: dict[str, float] = {}
    for item in items:
        version, sep, percent = item.partition("=")
        if not sep or not version:
            raise ValueError(f"--expect {item!r}: use VERSION=PERCENT, e.g. 3=90")
        shares[version] = float(percent)
    if shares and abs(sum(shares.values()) - 100.0) > 1e-9:
        raise ValueError(f"--expect shares add up to {sum(shares.values())}, not 100")
    return shares


def check_shares(
    counts: Mapping[str, int], expected: Mapping[str, float], sigmas: float
) -> list[str]:
    """Problems with ``counts`` against ``expected`` percents (empty = as expected)."""
    total = sum(counts.values())
    problems = [
        f"version {v!r} answered {n} times, expected none"
        for v, n in counts.items()
        if v not in expected and n
    ]
    for version, percent in expected.items():
        p, seen = percent / 100.0, counts.get(version, 0)
        mean = total * p
        slack = max(sigmas * math.sqrt(total * p * (1 - p)), 1.0) if 0 < p < 1 else 0.0
        if abs(seen - mean) > slack:
            problems.append(
                f"version {version!r}: {seen}/{total} answers, expected {percent:g} % "
                f"({mean:.0f} +- {slack:.0f})"
            )
    return problems


def sample(ingress: str, host: str, model: str, requests: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for i in range(requests):
        reply = rest_infer(ingress, host, model, v2_named_columns(1, seed=i))
        version = reply.get("model_version") or (reply.get("parameters") or {}).get(
            "model_version", ""
        )
        counts[str(version)] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.traffic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace", "-n", default="heart")
    parser.add_argument("--name", default="heart", help="InferenceService (and model) name")
    parser.add_argument("--ingress", default="127.0.0.1:8080", help="host:port of the ingress")
    parser.add_argument("--requests", type=int, default=400, help="how many requests (<= 5000)")
    parser.add_argument("--expect", action="append", default=[], help="VERSION=PERCENT")
    parser.add_argument("--sigmas", type=float, default=4.0, help="tolerance in binomial sigmas")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 5000:
        parser.error("--requests must be within 1..5000")
    try:
        expected = parse_expect(args.expect)
    except ValueError as exc:
        parser.error(str(exc))
    from delivery.kube import IsvcClient

    client = IsvcClient.connect(args.name, args.namespace)
    host = hosts_from_status(client.get()).transformer
    counts = sample(args.ingress, host, args.name, args.requests)
    print(f"{args.requests} answers by model version: {dict(sorted(counts.items()))}")
    problems = check_shares(counts, expected, args.sigmas)
    for problem in problems:
        print(f"traffic: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
