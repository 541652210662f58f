"""KServe's stock sklearn server, reproduced for the benchmark.

``kserve/sklearnserver`` is not published on PyPI, so this module follows its
source (kserve ``python/sklearnserver/sklearnserver/model.py`` and
``__main__.py``) step by step: ``Storage.download`` of ``--model_dir``, exactly
one ``*.joblib|*.pkl|*.pickle`` file unpickled with ``joblib.load``,
``get_predict_input`` / ``get_predict_response`` from ``kserve.utils`` for v1
and v2, ``predict_proba`` when the environment has ``PREDICT_PROBA=true``
(read per request, as upstream does), and the stock ``kserve.ModelServer``
with its default single worker.

One deviation, for this machine's safety: kserve 0.21 hard-codes REST on
``0.0.0.0``; ``--bind_address`` (default 127.0.0.1) rebinds it. The
benchmark drives REST only, so it is started with ``--enable_grpc false``.

Run: ``PREDICT_PROBA=true python -m loadtest.peers.stock_sklearn
--model_dir DIR --model_name heart --http_port 8080 --enable_grpc false``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import joblib
import kserve
from kserve.errors import InferenceError, ModelMissingError
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage

MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
ENV_PREDICT_PROBA = "PREDICT_PROBA"


class SKLearnModel(kserve.Model):
    """The stock runtime's model class (same load and predict behaviour)."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.ready = False
        self._model: Any = None

    def load(self) -> bool:
        model_path = pathlib.Path(Storage.download(self.model_dir))
        model_files = [
            model_path / name
            for name in os.listdir(model_path)
            if (model_path / name).is_file() and name.endswith(MODEL_EXTENSIONS)
        ]
        if not model_files:
            raise ModelMissingError(model_path)
        if len(model_files) > 1:
            raise RuntimeError(
                f"More than one model file is detected, Only one is allowed: {model_files}"
            )
        self._model = joblib.load(model_files[0])
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        try:
            instances = get_predict_input(payload)
            wants_proba = os.environ.get(ENV_PREDICT_PROBA, "false").lower() == "true"
            if wants_proba and hasattr(self._model, "predict_proba"):
                result = self._model.predict_proba(instances)
            else:
                result = self._model.predict(instances)
            return get_predict_response(payload, result, self.name)
        except Exception as exc:
            raise InferenceError(str(exc)) from exc


def _bind_rest_to(address: str) -> None:
    """Make ``kserve.ModelServer`` build its REST server on ``address``."""
    from kserve import model_server
    from kserve.protocol.rest.server import RESTServer

    class BoundREST(RESTServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.config.host = address

    model_server.RESTServer = BoundREST


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_dir", required=True, help="A URI pointer to the model binary")
    parser.add_argument("--bind_address", default="127.0.0.1", help="REST listen address")
    args, _ = parser.parse_known_args(argv)
    _bind_rest_to(args.bind_address)
    model = SKLearnModel(args.model_name, args.model_dir)
    model.load()
    kserve.ModelServer().start([model])


if __name__ == "__main__":
    main()
