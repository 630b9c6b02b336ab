"""Serving the plugin: the Python SDK's provider server (pulumi.provider.experimental.server.main), with failures
reported as the one sentence they are, and warnings sent to the engine's log.

The SDK's servicer turns every exception a provider method raises into an error carrying the Python traceback,
which the engine prints in full. A VhdError is a finished sentence, so the servicer here answers it with that
sentence alone (in the plugin's spelling of field names); anything else is a bug, reported as one line too (with
the traceback under VHDCORE_DEBUG=1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pulumi.provider.experimental.server as sdk_server
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from vhdcore import DEBUG_ENV, InternalError, VhdError, __version__, scrub

from ..schema import door_text
from .provider import BlankVhdPlugin

_SEVERITY = {"warning": engine_pb2.WARNING, "info": engine_pb2.INFO}
# Every request the engine may send a resource provider that the SDK's servicer answers.
_METHODS = ("GetSchema", "CheckConfig", "DiffConfig", "Configure", "Check", "Diff", "Create", "Read", "Update",
            "Delete")


def one_line(error: BaseException) -> str:
    """What the user sees for a failure: a VhdError's sentence, or one line naming a bug."""
    if isinstance(error, VhdError):
        return door_text(str(error))
    return str(InternalError(f"{type(error).__name__}: {scrub(str(error))} (a bug in blank-vhd; set {DEBUG_ENV}=1 "
                             "for the traceback and please report it)"))


class Servicer(sdk_server.ProviderServicer):
    """The SDK's servicer, whose failures are one line each."""


def _answering_in_one_line(name: str) -> Callable[..., Awaitable[Any]]:
    served = getattr(sdk_server.ProviderServicer, name)

    async def method(self: Servicer, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await served(self, request, context)
        except Exception as wrapped:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            # The SDK raises a new exception inside its `except` block: the provider's own is its __context__.
            error = wrapped.__context__ if wrapped.__context__ is not None else wrapped
            await context.abort(grpc.StatusCode.UNKNOWN, one_line(error))
            raise  # abort raises; this is never reached

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(Servicer, _name, _answering_in_one_line(_name))


class EngineLog:
    """Messages to the engine's log, attached to a resource: what `pulumi up` shows under it. Called from the
    core's worker threads; a synchronous channel may be shared between them."""

    def __init__(self, address: str) -> None:
        self._engine = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address))

    def __call__(self, severity: str, message: str, urn: str) -> None:
        with contextlib.suppress(grpc.RpcError):  # the engine went away (the run was cancelled): nobody to tell
            self._engine.Log(engine_pb2.LogRequest(severity=_SEVERITY[severity], message=message, urn=urn))


def serve(args: list[str]) -> None:
    """Serve until the engine closes the plugin. `args` are the plugin's arguments: the engine's address first."""
    parser = argparse.ArgumentParser(prog="pulumi-resource-blank-vhd", add_help=False)
    parser.add_argument("engine", nargs="?")
    engine = parser.parse_known_args(args)[0].engine
    provider = BlankVhdPlugin(EngineLog(engine) if engine else None)
    # main() builds the server with the servicer this module names; ours only changes how failures read.
    sdk_server.ProviderServicer = Servicer  # type: ignore[misc]
    sdk_server.main(args, __version__, provider)
