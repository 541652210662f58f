"""Typed settings of the predictor, built in ``main()`` from KServe's parser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from predictor import storage
from predictor.inference import ENGINES
from serving.problems import DEFAULT_MAX_ROWS
from serving.settings import ServerSettings, server_parser


@dataclass(frozen=True)
class PredictorSettings:
    """``model_dir`` is a local path, ``file://``, ``pvc://`` or a kserve-storage URI.

    ``engine`` names what is loaded (:data:`predictor.inference.ENGINES`).
    ``storage_timeout_seconds`` bounds a remote download; ``pvc_mount_path`` is
    where a ``pvc://<claim>/<path>`` claim is mounted (:mod:`predictor.storage`).
    """

    server: ServerSettings
    model_dir: str
    engine: str
    max_batch_size: int
    storage_timeout_seconds: float = storage.DEFAULT_TIMEOUT_SECONDS
    pvc_mount_path: str = storage.PVC_MOUNT_PATH

    @classmethod
    def parse(cls, argv: Sequence[str] | None, metrics_dir: str | None = None) -> PredictorSettings:
        parser = server_parser(
            "Heart-disease predictor (KServe, Open Inference Protocol v2).",
            prog="python -m predictor",
        )
        parser.add_argument("--model_dir", required=True, help="model/ directory: path or URI")
        parser.add_argument(
            "--engine",
            default="onnx",
            choices=sorted(ENGINES),
            help="onnx: model.onnx in ONNX Runtime, never unpickles (model.joblib when a"
            " directory has no model.onnx); sklearn: unpickle model.joblib after its digest check",
        )
        parser.add_argument(
            "--max_batch_size", type=int, default=DEFAULT_MAX_ROWS, help="most rows per request"
        )
        parser.add_argument(
            "--storage_timeout_seconds",
            type=float,
            default=storage.DEFAULT_TIMEOUT_SECONDS,
            help="bound on downloading a remote --model_dir (s3://, gs://, ...)",
        )
        parser.add_argument(
            "--pvc_mount_path",
            default=storage.PVC_MOUNT_PATH,
            help="where the claim of a pvc://<claim>/<path> --model_dir is mounted",
        )
        args = parser.parse_args(argv)
        if args.max_batch_size < 1:
            parser.error("--max_batch_size must be >= 1")
        if args.storage_timeout_seconds <= 0:
            parser.error("--storage_timeout_seconds must be > 0")
        return cls(
            server=ServerSettings.from_args(args, metrics_dir),
            model_dir=args.model_dir,
            engine=args.engine,
            max_batch_size=args.max_batch_size,
            storage_timeout_seconds=args.storage_timeout_seconds,
            pvc_mount_path=args.pvc_mount_path,
        )
