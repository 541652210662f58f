"""``python -m predictor --model_dir URI --model_name heart``."""

from __future__ import annotations

from collections.abc import Sequence

from serving import metrics


def main(argv: Sequence[str] | None = None) -> None:
    # Before anything imports prometheus_client (kserve does): see serving.metrics.
    metrics_dir = metrics.prepare(argv)
    from predictor.model import HeartPredictor
    from predictor.settings import PredictorSettings
    from serving.kserve_adapter import configure_logging, serve

    settings = PredictorSettings.parse(argv, metrics_dir)
    configure_logging(settings.server)
    model = HeartPredictor(settings)
    model.load()
    serve(settings.server, [model])


if __name__ == "__main__":
    main()
