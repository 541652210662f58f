"""gRPC requests whose bytes are not the method's protobuf message: INVALID_ARGUMENT.

grpc's server deserializes a request before any interceptor or servicer
sees it; a ``DecodeError`` there ends the call ``UNKNOWN`` with the
exception's class in the details ("Unexpected <class
'google.protobuf.message.DecodeError'>..."). :class:`DecodeInterceptor`
gives each unary method a deserializer that cannot raise, and answers a
request it could not decode with INVALID_ARGUMENT before the servicer runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import StatusCode, aio


class _Undecodable:
    """Stands for a request whose bytes did not parse."""


def _lenient(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception:  # DecodeError, and anything a message's parser may raise
            return _Undecodable()

    return parse


class DecodeInterceptor(aio.ServerInterceptor):
    """Wraps every unary-unary handler (see the module docstring); put it first."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        behavior = handler.unary_unary
        method = str(getattr(handler_call_details, "method", "")).rsplit("/", 1)[-1]

        async def checked(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            if isinstance(request, _Undecodable):
                await context.abort(
                    StatusCode.INVALID_ARGUMENT,
                    f"the request is not a valid {method or 'protobuf'} request message",
                )
            return await behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=_lenient(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
