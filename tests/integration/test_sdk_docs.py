"""docs/sdk.md runs as written: the node of `perpdex up` on anvil, its deployment file where
the page reads it (``deployments/local.json`` in the working directory), and every
```python block of the page executed in order in one namespace (the page's convention,
stated at its top); any exception fails the test, naming the block."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest
from tests.integration.node_testing import running

from perpdex.chain.anvil import Anvil
from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, Deployment, write_deployment
from perpdex.cli.up import fresh_deployment

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every python block of a markdown page, in order."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def run_blocks(blocks: list[tuple[int, str]]) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    for line, code in blocks:
        # compiled under the page's name and line numbers: a traceback points into the page
        exec(compile("\n" * (line - 1) + code, str(PAGE), "exec"), namespace)


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return fresh_deployment(anvil.rpc_url)


def test_the_page_has_the_blocks_it_promises() -> None:
    blocks = python_blocks(PAGE.read_text())
    assert len(blocks) >= 8
    assert "load_deployment()" in blocks[0][1]  # the setup comes first


def test_every_python_block_of_the_sdk_page_runs_against_perpdex_up(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERPDEX_STATE_DIR", str(tmp_path / "nonces"))
    blocks = python_blocks(PAGE.read_text())

    async def scenario() -> None:
        async with running(deployment, tmp_path / "state") as node:
            # what `perpdex up` writes once its gateway listens
            served = replace(deployment, gateway_url=node.gateway.url, web_url=node.http.url)
            write_deployment(served, tmp_path / DEFAULT_DEPLOYMENT_PATH)
            # the blocks call asyncio.run: in a thread of their own, beside the node's loop
            await asyncio.to_thread(run_blocks, blocks)

    asyncio.run(scenario())
