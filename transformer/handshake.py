"""Does the predictor serve a model trained on our contract?

The predictor publishes, in its v2 model metadata, the feature tensor's
shape and the parameters ``contract_hash`` and ``feature_order`` (REST JSON
body; gRPC trailing metadata). A transformer paired with a predictor whose
values differ from :mod:`transformer.contract` is not ready and says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.errors import ServingError
from transformer.client import PredictorClient, PredictorMetadata
from transformer.contract import CONTRACT_HASH, FEATURE_NAMES, N_FEATURES


@dataclass(frozen=True)
class Handshake:
    """Result of one check: ``reason`` is empty when the pair matches.

    ``profile`` is the model's reference profile as the predictor published
    it (compact JSON, "" when its export has none): the drift baseline.
    """

    reason: str
    model_version: str = ""
    profile: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def compare(meta: PredictorMetadata) -> list[str]:
    """Every way the predictor's metadata differs from our contract."""
    problems = []
    their_hash = meta.parameters.get("contract_hash", "")
    if their_hash != CONTRACT_HASH:
        problems.append(f"contract hash {their_hash or '(none)'} != ours {CONTRACT_HASH}")
    order = [n for n in meta.parameters.get("feature_order", "").split(",") if n]
    if order != list(FEATURE_NAMES):
        problems.append(f"feature order {order} != ours {list(FEATURE_NAMES)}")
    widths = [i["shape"][-1] for i in meta.inputs if len(i.get("shape", [])) == 2]
    if widths != [N_FEATURES]:
        problems.append(f"input feature count {widths or '(none)'} != ours {N_FEATURES}")
    return problems


async def check(client: PredictorClient, model_name: str, timeout: float) -> Handshake:
    """Ask the predictor for its metadata and compare it with our contract."""
    try:
        meta = await client.metadata(model_name, timeout)
    except ServingError as exc:
        return Handshake(f"cannot read the predictor's metadata: {exc.reason}")
    problems = compare(meta)
    version = meta.parameters.get("model_version", "")
    if problems:
        return Handshake("predictor/transformer mismatch: " + "; ".join(problems), version)
    return Handshake("", version, meta.parameters.get("reference_profile", ""))
