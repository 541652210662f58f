"""Typed settings of the predictor, built in ``main()`` from KServe's parser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from predictor.inference import ENGINES
from transformer.settings import ServerSettings, server_parser
from transformer.validation import DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class PredictorSettings:
    """``model_dir`` is a local path or a kserve-storage URI (s3://, gs://, pvc://, file://).

    ``engine`` names the probability function (:data:`predictor.inference.ENGINES`).
    """

    server: ServerSettings
    model_dir: str
    engine: str
    max_batch_size: int

    @classmethod
    def parse(cls, argv: Sequence[str] | None, metrics_dir: str | None = None) -> PredictorSettings:
        parser = server_parser("Heart-disease predictor (KServe, Open Inference Protocol v2).")
        parser.add_argument("--model_dir", required=True, help="model/ directory: path or URI")
        parser.add_argument(
            "--engine", default="onnx", choices=sorted(ENGINES), help="probability function"
        )
        parser.add_argument(
            "--max_batch_size", type=int, default=DEFAULT_MAX_ROWS, help="most rows per request"
        )
        args = parser.parse_args(argv)
        if args.max_batch_size < 1:
            parser.error("--max_batch_size must be >= 1")
        server = ServerSettings.from_args(args, metrics_dir)
        return cls(server, args.model_dir, args.engine, args.max_batch_size)
