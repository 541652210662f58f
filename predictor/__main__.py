"""``python -m predictor --model_dir URI --model_name heart``."""

from __future__ import annotations

from collections.abc import Sequence

from transformer import metrics


def main(argv: Sequence[str] | None = None) -> None:
    # Before anything imports prometheus_client (kserve does): see transformer.metrics.
    metrics_dir = metrics.prepare(argv)
    from predictor.model import HeartPredictor
    from predictor.settings import PredictorSettings
    from transformer.server import BoundModelServer, configure_logging

    settings = PredictorSettings.parse(argv, metrics_dir)
    configure_logging(settings.server)
    model = HeartPredictor(settings)
    model.load()
    BoundModelServer(**settings.server.server_kwargs()).start([model])


if __name__ == "__main__":
    main()
