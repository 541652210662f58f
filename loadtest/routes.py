"""The routes of ``make loadtest``: one Locust request name per kind of call.

The SLO gate judges each route on its own (``[routes."<name>"]`` tables in
``loadtest.toml``); the config refuses a table for a name not listed here.
"""

from __future__ import annotations

TRANSFORMER_V2_ROW = "transformer v2 1 row"
TRANSFORMER_V2_BATCH = "transformer v2 batch"
TRANSFORMER_V2_INVALID = "transformer v2 invalid row"
TRANSFORMER_V1 = "transformer v1"
PREDICTOR_REST = "predictor v2 REST"
PREDICTOR_GRPC = "predictor v2 gRPC"

#: Every route, with the user class that calls it.
ROUTES = {
    TRANSFORMER_V2_ROW: "TransformerV2User",
    TRANSFORMER_V2_BATCH: "TransformerV2User",
    TRANSFORMER_V2_INVALID: "TransformerV2User",
    TRANSFORMER_V1: "TransformerV1User",
    PREDICTOR_REST: "PredictorRestUser",
    PREDICTOR_GRPC: "PredictorGrpcUser",
}
