"""The loopback server of tests and benchmarks answers kept-alive requests without waiting for
the client's delayed ACK: asyncio turns Nagle off only on sockets whose protocol says TCP."""

from __future__ import annotations

import socket

from regulars.entrypoints.http.app import listening_socket


def test_connections_accepted_on_the_listening_socket_say_they_are_tcp():
    server = listening_socket("127.0.0.1", 0)
    try:
        server.listen()
        with socket.create_connection(server.getsockname()) as _client:
            conn, _ = server.accept()
            with conn:
                # what asyncio's transports check before setting TCP_NODELAY
                assert conn.proto == socket.IPPROTO_TCP
                assert conn.type == socket.SOCK_STREAM
    finally:
        server.close()
