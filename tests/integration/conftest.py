"""Integration fixtures registered once for the whole tier.

Session-scoped server fixtures must be defined in one place: imported into
several test modules, pytest would start one set of servers per module.
"""

from tests.integration.serving_fixtures import (  # noqa: F401 (fixtures registered here)
    predictor,
    serving_logs,
    transformer_grpc,
    transformer_rest,
)
from tests.integration.training_fixtures import s3_training  # noqa: F401 (fixture registered here)
