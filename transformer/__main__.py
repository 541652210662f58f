"""``python -m transformer --predictor_host H:P --predictor_protocol v2|grpc-v2``."""

from __future__ import annotations

from collections.abc import Sequence

from serving import metrics


def main(argv: Sequence[str] | None = None) -> None:
    # Before anything imports prometheus_client (kserve does): see serving.metrics.
    metrics_dir = metrics.prepare(argv)
    from kserve.logging import logger
    from kserve.predictor_config import PredictorConfig

    from serving.kserve_adapter import configure_logging, serve
    from transformer.model import HeartTransformer
    from transformer.settings import TransformerSettings

    settings = TransformerSettings.parse(argv, metrics_dir)
    configure_logging(settings.server)
    model = HeartTransformer(settings)
    first = model.check_at_startup()
    if first.ok:
        version = first.model_version or "(unversioned)"
        logger.info(
            "predictor at %s serves model version %s on our contract",
            settings.predictor_host,
            version,
        )
    else:
        logger.warning("not ready yet: %s", first.reason)
    config = PredictorConfig(
        predictor_host=settings.predictor_host,
        predictor_protocol=settings.predictor_protocol,
        predictor_request_timeout_seconds=int(settings.timeout_seconds),
        predictor_request_retries=settings.retries,
    )
    serve(settings.server, [model], predictor_config=config)


if __name__ == "__main__":
    main()
