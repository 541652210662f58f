"""``make score``: score a file with Ray Data (default) or a plain pandas loop.

Both backends run the same :class:`batch.scorer.BatchScorer` on batches
of the same size and write through the same :class:`batch.tables.Outputs`;
only the engine differs. Ray Data keeps one model per actor (one actor per
CPU) and preserves the input order, so both write identical files.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd
import sklearn

from batch.scorer import BatchScorer, split
from batch.tables import Outputs, ScoreInputError, keep_schema, read_input
from predictor import storage
from predictor.manifest import Manifest, verify
from training.ray_cluster import reach
from training.ray_cluster.session import (
    PACKAGES,
    RaySettings,
    cluster_cpus,
    node_addresses,
    session,
)

Backend = Literal["ray", "pandas"]
BACKENDS: tuple[Backend, ...] = ("ray", "pandas")


@dataclass(frozen=True)
class ScoreSettings:
    """``model_dir``: path or URI of an exported ``model/``; ``engine``: the
    predictor's probability function (same default as the predictor);
    ``keep``: input columns carried through to both outputs."""

    input: Path
    output: Path
    rejected: Path
    model_dir: str = "artifacts/model"
    engine: str = "onnx"
    backend: Backend = "ray"
    batch_size: int = 10_000
    keep: tuple[str, ...] = ()
    ray: RaySettings = field(default_factory=RaySettings)


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of a run, the engine's start-up apart from scoring.

    ``startup``: from starting the engine to the first scored batch (Ray:
    start or join Ray, start the actors, each loads the model; pandas: load
    the model; both: score that batch). ``steady_rows`` rows came after it,
    in ``steady`` seconds (outputs written). ``total`` includes reading the
    input and verifying the model.
    """

    startup: float
    steady_rows: int
    steady: float
    total: float

    @property
    def rows_per_s(self) -> float | None:
        """Rows/s after start-up (None when everything fit in the first batch)."""
        return self.steady_rows / self.steady if self.steady_rows and self.steady > 0 else None


@dataclass(frozen=True)
class ScoreOutcome:
    rows: int
    scored: int
    rejected: int
    timing: Timing
    manifest: Manifest


def default_rejected(output: Path) -> Path:
    """``scores.csv`` -> ``scores.rejected.csv``."""
    return output.with_name(f"{output.stem}.rejected{output.suffix}")


def run(settings: ScoreSettings) -> ScoreOutcome:
    started = time.perf_counter()
    if settings.backend == "ray":
        reach.check_address(settings.ray.address, _local_only(settings.model_dir))
    manifest = verify(storage.fetch(settings.model_dir), sklearn.__version__)
    frame = read_input(settings.input, settings.keep)
    if frame.empty:
        raise ScoreInputError(f"{settings.input}: the file has no rows")
    engine = time.perf_counter()
    batches = _ray(frame, settings) if settings.backend == "ray" else _plain(frame, settings)
    first: tuple[float, int] | None = None  # when the first batch came back, and its rows
    with Outputs(settings.output, settings.rejected, keep_schema(frame, settings.keep)) as out:
        for result in batches:
            first = first or (time.perf_counter(), len(result))
            out.write(*split(result, settings.keep))
        scored, rejected = out.counts
        if scored + rejected != len(frame):  # never silently drop a row (nor write the files)
            raise RuntimeError(f"{len(frame)} rows in, {scored} scored + {rejected} rejected out")
    done = time.perf_counter()
    first_at, first_rows = first or (done, len(frame))
    timing = Timing(first_at - engine, len(frame) - first_rows, done - first_at, done - started)
    return ScoreOutcome(len(frame), scored, rejected, timing, manifest)


def _plain(frame: pd.DataFrame, settings: ScoreSettings) -> Iterator[pd.DataFrame]:
    scorer = BatchScorer(settings.model_dir, settings.engine, settings.keep)
    for start in range(0, len(frame), settings.batch_size):
        yield scorer(frame.iloc[start : start + settings.batch_size])


def _ray(frame: pd.DataFrame, settings: ScoreSettings) -> Iterator[pd.DataFrame]:
    import ray
    import ray.data

    with session(replace(settings.ray, packages=(*PACKAGES, "batch"))) as where:
        reach.check_nodes(where, node_addresses(), _local_only(settings.model_dir))
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        step = settings.batch_size
        blocks = [frame.iloc[i : i + step] for i in range(0, len(frame), step)]
        actors = max(1, min(len(blocks), cluster_cpus()))
        dataset = ray.data.from_pandas(blocks).map_batches(
            BatchScorer,
            fn_constructor_kwargs={
                "model_dir": settings.model_dir,
                "engine": settings.engine,
                "keep": settings.keep,
            },
            batch_format="pandas",
            batch_size=step,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
        for batch in dataset.iter_batches(batch_format="pandas", batch_size=None):
            yield pd.DataFrame(batch)


def _local_only(model_dir: str) -> dict[str, str]:
    """The model directory when it is a path on this machine (not a storage URI)."""
    return {} if "://" in model_dir else {"the model directory": model_dir}
