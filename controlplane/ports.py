"""Loopback ports for one control plane, chosen free at start-up.

Asking the kernel for port 0 leaves a short window in which another process may take the
port; the control plane retries start-up with fresh ports when a component reports
"address already in use" (see ``cluster``).
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        # All are held open until every port is known, so the list has no duplicates.
        return [sock.getsockname()[1] for sock in sockets]


def is_listening(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one control plane."""

    apiserver: int
    etcd_client: int
    etcd_peer: int
    controller_manager: int

    @classmethod
    def free(cls, *, apiserver: int | None = None) -> Ports:
        """Free ports for every component; ``apiserver`` pins the one users type."""
        picked = free_ports(4)
        return cls(
            apiserver=apiserver or picked[0],
            etcd_client=picked[1],
            etcd_peer=picked[2],
            controller_manager=picked[3],
        )

    def all(self) -> tuple[int, ...]:
        return (self.apiserver, self.etcd_client, self.etcd_peer, self.controller_manager)
