"""Starting the servers when a chosen port is taken before the node binds it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from perpdex.cluster import nats_server
from perpdex.cluster.nats_server import NatsCluster, NatsConfig

_real_free_ports = nats_server._free_ports


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process listens on."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield squatter.getsockname()[1]


def test_a_port_taken_before_the_node_binds_it_means_a_new_start_on_new_ports(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    calls: list[list[int]] = []

    def first_one_taken(count: int, host: str) -> list[int]:
        ports = _real_free_ports(count, host)
        if not calls:
            ports[0] = taken_port  # the client port of node 1
        calls.append(ports)
        return ports

    monkeypatch.setattr(nats_server, "_free_ports", first_one_taken)
    with NatsCluster(NatsConfig(nodes=1)) as server:
        assert len(calls) == 2
        assert server.url(0) != f"nats://127.0.0.1:{taken_port}"
        assert server.running(0)


def test_a_node_that_never_gets_its_port_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, taken_port: int
) -> None:
    def always_taken(count: int, host: str) -> list[int]:
        return [taken_port, *_real_free_ports(count, host)[1:]]

    monkeypatch.setattr(nats_server, "_free_ports", always_taken)
    with pytest.raises(nats_server.NatsServerError, match="exited"):
        NatsCluster(NatsConfig(nodes=1)).start()


def test_nodes_listen_outside_the_ports_outgoing_connections_take() -> None:
    """A killed node's port must stay free for its restart: no client reconnecting to it
    may be given it as its own local port (the kernel draws those from the ephemeral
    range)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(20):
        ports = nats_server._free_ports(9, "127.0.0.1")
        assert len(set(ports)) == 9
        assert all(port < low for port in ports), ports
