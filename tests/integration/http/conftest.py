"""A node of `perpdex up` on the session's anvil, one per test module, running on a loop in
a thread: the tests read its HTTP API with a plain blocking client, as any client would,
and trade through the SDK on the node's loop."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import Deployment, Role
from perpdex.cli.up import fresh_deployment
from perpdex.loop_thread import LoopThread
from perpdex.sdk.client import Client
from perpdex.services.node import Node, NodeConfig

_Result = TypeVar("_Result")


@dataclass
class Served:
    node: Node
    thread: LoopThread
    nonces: Path

    @property
    def url(self) -> str:
        return self.node.http.url

    def run(self, coroutine: Coroutine[Any, Any, _Result]) -> _Result:
        """Run ``coroutine`` on the node's loop."""
        return self.thread.run(coroutine)

    def get(self, path: str) -> tuple[int, Any]:
        """``GET path``: the status and the decoded JSON body."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            text: str = response.read().decode()
            return text

    def ok(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, (path, status, body)
        return body

    def client(self, role: Role) -> Client:
        key = self.node.deployment.wallet(role).private_key
        assert key is not None
        return Client.connect(
            self.node.gateway.url, key, self.node.deployment, state_dir=self.nonces
        )


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    """As `perpdex up` deploys: the keeper posts checkpoints."""
    return fresh_deployment(anvil.rpc_url)


@pytest.fixture(scope="module")
def served(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("http-node")
    config = NodeConfig(
        state_dir=root / "state",
        poll_interval_s=0.05,
        settle_interval_s=0.05,
        checkpoint_interval_s=0.5,
        keeper_interval_s=0.2,
        chain_status_interval_s=0.1,
    )
    node = Node(deployment, config)
    thread = LoopThread("http test node")
    try:
        thread.run(node.start())
        yield Served(node, thread, root / "nonces")
    finally:
        thread.run(node.stop())
        thread.close()
