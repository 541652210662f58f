"""The v2 model repository extension (load/unload), off unless ``--enable_model_repository``.

KServe routes ``POST /v2/repository/models/{name}/load|unload`` and the gRPC
``RepositoryModelLoad``/``RepositoryModelUnload`` with no credentials: one
request from anyone who can reach the port unloads the model, after which
KServe cannot load it back (its ``ModelRepository.load`` does nothing) and
gRPC answers INTERNAL. Here both protocols answer 403 / PERMISSION_DENIED
while the extension is off (the default). Turned on, :class:`Repository`
keeps an unloaded model so that ``load`` brings it back (the predictor
fetches and verifies its directory again), and while no model is loaded the
server is not ready.
"""

from __future__ import annotations

import asyncio
import inspect
from http import HTTPStatus
from typing import Any

from grpc import StatusCode
from kserve.model_repository import ModelRepository

from serving.errors import NotReadyError, ServingError
from serving.limits import REPOSITORY_FLAG as FLAG


class RepositoryDisabledError(ServingError):
    status = HTTPStatus.FORBIDDEN
    grpc_code = StatusCode.PERMISSION_DENIED


class UnknownModelError(ServingError):
    status = HTTPStatus.NOT_FOUND
    grpc_code = StatusCode.NOT_FOUND


class Repository:
    """Load and unload over the registry of one server; ``enabled`` False refuses both."""

    def __init__(self, registry: ModelRepository, enabled: bool) -> None:
        self.registry = registry
        self.enabled = enabled
        self._unloaded: dict[str, object] = {}

    def _check_enabled(self) -> None:
        if not self.enabled:
            raise RepositoryDisabledError(
                f"the model repository extension is off (start the server with {FLAG} true)"
            )

    async def load(self, name: str) -> None:
        self._check_enabled()
        model: Any = self.registry.get_model(name) or self._unloaded.get(name)
        if model is None:
            raise UnknownModelError(f"model {name!r} is not known to this server")
        result = await asyncio.to_thread(model.load)
        if inspect.isawaitable(result):
            await result
        self.registry.update(model)
        self._unloaded.pop(name, None)
        if not await self.registry.is_model_ready(name):
            reason = getattr(model, "not_ready_reason", "") or "it did not load"
            raise NotReadyError(f"model {name} is not ready: {reason}")

    async def unload(self, name: str) -> None:
        self._check_enabled()
        model = self.registry.get_model(name)
        if model is None:
            raise UnknownModelError(f"model {name!r} is not loaded")
        self.registry.unload(name)
        self._unloaded[name] = model
