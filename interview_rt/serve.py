"""The server command: daphne, taking daphne's own arguments, with one change.

    python -m interview_rt.serve -b 127.0.0.1 -p 8000 interview_rt.asgi:application

daphne's WebSocket layer (autobahn) "fails" a connection that breaks the
protocol by dropping its TCP connection with no close frame (its `failByDrop`
option, on by default, and daphne has no flag for it). A client then sees
1006 and cannot tell a hostile or oversized frame from a network fault. Here
autobahn closes instead, with the code RFC 6455 names: 1009 for a message
over daphne's size limit (`--websocket-max-message-size`, 1 MiB by default),
1007 for a text frame that is not UTF-8, 1002 for other protocol violations
(docs/protocol.md, "Close codes").

It first re-executes itself on the allocator RT_ALLOCATOR names (jemalloc
by default: interview_rt/allocator.py), and runs Twisted's reactor on the
event loop RT_EVENT_LOOP names (uvloop by default).
"""

from __future__ import annotations

import asyncio
import sys

from interview_rt import allocator
from interview_rt.settings.runtime import RuntimeSettings


def use_event_loop(name: str) -> None:
    """Make new event loops `name`'s. It must run before daphne.server is
    imported: that import makes the loop Twisted's reactor runs on."""
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


use_event_loop(RuntimeSettings.from_env().event_loop)

from daphne.cli import CommandLineInterface  # noqa: E402 (after the loop is chosen)
from daphne.server import Server  # noqa: E402
from twisted.internet import reactor  # noqa: E402


class ClosingServer(Server):
    """daphne's server, closing broken connections with a code, not a drop."""

    def run(self) -> None:
        # Server.run builds the WebSocket factory and then starts the reactor:
        # this runs once the reactor is up, before any connection is taken.
        reactor.callWhenRunning(self.close_with_a_code)
        super().run()

    def close_with_a_code(self) -> None:
        self.ws_factory.setProtocolOptions(failByDrop=False)


class ServeCommand(CommandLineInterface):
    server_class = ClosingServer


if __name__ == "__main__":
    allocator.ensure(RuntimeSettings.from_env().allocator, allocator.server_command(sys.argv))
    ServeCommand.entrypoint()
