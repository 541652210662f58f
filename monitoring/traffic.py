"""Traffic for the drift scenario, sent to a transformer on loopback.

Three populations, from the UCI mirror (``HEART_DATA_SOURCE``: Cleveland and
Hungarian only): Cleveland-like (the Cleveland rows the reference profile
describes, each pass over them in a new random order), Cleveland rows with
one field shifted (``age`` + 15 years: older patients) and Hungarian rows.
Passing over every row in turn (rather than drawing with replacement) makes a
window of a few hundred rows hold each row about as often: its drift score is
the population's, not a resampling accident's. Requests
carry a few rows each over REST v1, with an invalid request now and then so
that the error panels have something to show. Bounded in count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import numpy as np

from transformer.contract import BY_NAME, FEATURE_NAMES
from transformer.synthetic import to_records

#: The field the synthetic shift moves, and by how much.
SHIFTED_FIELD = "age"
SHIFT = 15.0


def cycled(matrix: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """``rows`` rows: passes over ``matrix``, each in a new random order."""
    rng = np.random.default_rng(seed)
    passes = -(-rows // len(matrix))
    order = np.concatenate([rng.permutation(len(matrix)) for _ in range(passes)])
    return np.asarray(matrix[order[:rows]])


def cleveland_like(source: str | None, rows: int, seed: int = 0) -> np.ndarray:
    from training.data import load_site

    return cycled(load_site("cleveland", source)[0], rows, seed)


def hungarian(source: str | None, rows: int, seed: int = 0) -> np.ndarray:
    from training.data import load_site

    return cycled(load_site("hungarian", source)[0], rows, seed)


def shifted(source: str | None, rows: int, seed: int = 0) -> np.ndarray:
    """Cleveland-like rows with ``age`` moved up by :data:`SHIFT` (within the contract)."""
    matrix = cleveland_like(source, rows, seed).copy()
    column = FEATURE_NAMES.index(SHIFTED_FIELD)
    feature = BY_NAME[SHIFTED_FIELD]
    matrix[:, column] = np.clip(matrix[:, column] + SHIFT, feature.minimum, feature.maximum)
    return matrix


PHASES: dict[str, Callable[[str | None, int, int], np.ndarray]] = {
    "cleveland-like": cleveland_like,
    "age+15": shifted,
    "hungarian": hungarian,
}


def batches(matrix: np.ndarray, size: int) -> Iterator[list[dict[str, float | None]]]:
    records = to_records(matrix)
    for start in range(0, len(records), size):
        yield records[start : start + size]


@dataclass
class Sender:
    """POSTs v1 batches to ``url``; every ``invalid_every``-th request is refused on purpose."""

    url: str
    batch: int = 8
    invalid_every: int = 25
    sent: int = 0

    def send(self, matrix: np.ndarray, client: httpx.Client) -> int:
        """Send ``matrix``; returns how many requests were answered 200."""
        ok = 0
        for records in batches(matrix, self.batch):
            self.sent += 1
            if self.invalid_every and self.sent % self.invalid_every == 0:
                bad = {**records[0], "cp": 9, "chol": -1}
                client.post(f"{self.url}/v1/models/heart:predict", json={"instances": [bad]})
            response = client.post(
                f"{self.url}/v1/models/heart:predict", json={"instances": records}
            )
            ok += response.status_code == 200
        return ok
