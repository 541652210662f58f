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
    ``model_sha256`` pins ``model.joblib`` from outside the model directory:
    without it the predictor never unpickles (:func:`predictor.engines.load_sklearn`).
    """

    server: ServerSettings
    model_dir: str
    engine: str
    max_batch_size: int
    storage_timeout_seconds: float = storage.DEFAULT_TIMEOUT_SECONDS
    pvc_mount_path: str = storage.PVC_MOUNT_PATH
    model_sha256: str = ""

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
        parser.add_argument(
            "--model_sha256",
            default="",
            help="sha256 of the model.joblib this predictor may unpickle (--engine sklearn, or a"
            " directory without model.onnx); set it from the InferenceService, never from the"
            " bucket. Without it model.joblib is never unpickled",
        )
        args = parser.parse_args(argv)
        if args.model_sha256 and not _is_sha256(args.model_sha256):
            parser.error("--model_sha256 must be 64 hex digits")
        if args.max_batch_size < 1:
            parser.error("--max_batch_size must be >= 1")
        if args.storage_timeout_seconds <= 0:
            parser.error("--storage_timeout_seconds must be > 0")
        return cls(
            server=ServerSettings.from_args(args, metrics_dir, "predictor"),
            model_dir=args.model_dir,
            engine=args.engine,
            max_batch_size=args.max_batch_size,
            storage_timeout_seconds=args.storage_timeout_seconds,
            pvc_mount_path=args.pvc_mount_path,
            model_sha256=args.model_sha256.lower(),
        )


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())
