"""Servers for the fuzz tier: a predictor and a transformer with logs of their own.

The fuzz run reads everything they log, so they are not shared with other
tiers. Bodies are capped at :data:`BODY_LIMIT` (a quarter of the default) so
that oversize cases stay cheap; the cap's logic is the same at any size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fuzz.runner import Target
from tests.integration.serving_fixtures import Server, predictor_server, transformer_server

BODY_LIMIT = 262_144
LIMIT_FLAGS = ["--max_body_bytes", str(BODY_LIMIT)]


@dataclass
class Pair:
    predictor: Server
    transformer: Server
    model_dir: Path

    def targets(self) -> dict[str, Target]:
        manifest = json.loads((self.model_dir / "model.json").read_text())
        secrets = [manifest["sha256"], manifest["onnx_sha256"], str(self.model_dir)]
        return {
            "predictor": Target(
                self.predictor.url, self.predictor.grpc, [self.predictor.log], secrets
            ),
            "transformer": Target(
                self.transformer.url, self.transformer.grpc, [self.transformer.log], secrets
            ),
        }


@pytest.fixture(scope="session")
def fuzz_pair(
    synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    logs = tmp_path_factory.mktemp("fuzz-logs")
    predictor = predictor_server(synthetic_model_dir, logs, LIMIT_FLAGS).start()
    transformer = transformer_server(
        f"127.0.0.1:{predictor.http_port}", "v2", logs, LIMIT_FLAGS
    ).start()
    try:
        predictor.wait_ready()
        transformer.wait_ready()
        yield Pair(predictor, transformer, synthetic_model_dir)
    finally:
        transformer.stop()
        predictor.stop()
