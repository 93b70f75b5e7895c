"""perpdex.chain.artifacts: compile through the Vyper API, cached by a hash of every source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perpdex.chain.artifacts import compile_contract

LIBRARY = """# pragma version ~=0.4.3
SCALE: constant(uint256) = {scale}
"""

CONTRACT = """# pragma version ~=0.4.3
import library
from snekmate.utils import math

@external
@pure
def scaled(x: uint256) -> uint256:
    return math._mul_div(x, library.SCALE, 1, False)
"""


@pytest.fixture
def contracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A contracts folder whose ``Scaled.vy`` imports a sibling module and snekmate."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "library.vy").write_text(LIBRARY.format(scale=10))
    (folder / "Scaled.vy").write_text(CONTRACT)
    monkeypatch.setenv("PERPDEX_CONTRACTS_DIR", str(folder))
    return folder


def test_compiles_abi_and_bytecode_of_a_repo_contract(tmp_path: Path) -> None:
    artifact = compile_contract("mocks/MockUSDC.vy", cache_dir=tmp_path)
    assert artifact.name == "MockUSDC"
    assert {"faucet", "transferFrom", "permit"} <= {entry.get("name") for entry in artifact.abi}
    assert len(artifact.bytecode) > 1_000  # deployed and exercised in test_mocks_on_anvil


def test_second_compile_reads_the_cache(contracts: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = compile_contract("Scaled.vy", cache_dir=cache)
    (entry,) = cache.iterdir()
    # a cache hit returns what the file holds, so a doctored entry proves it was read
    doctored = json.loads(entry.read_text()) | {"abi": []}
    entry.write_text(json.dumps(doctored))

    second = compile_contract("Scaled.vy", cache_dir=cache)
    assert second.abi == []
    assert (second.bytecode, second.source_hash) == (first.bytecode, first.source_hash)


def test_editing_an_imported_module_recompiles(contracts: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = compile_contract("Scaled.vy", cache_dir=cache)
    (contracts / "library.vy").write_text(LIBRARY.format(scale=1_000))

    after = compile_contract("Scaled.vy", cache_dir=cache)
    assert after.source_hash != before.source_hash
    assert after.bytecode != before.bytecode
    assert len(list(cache.iterdir())) == 2


def test_absolute_path_outside_contracts_dir(contracts: Path, tmp_path: Path) -> None:
    artifact = compile_contract(contracts / "Scaled.vy", cache_dir=tmp_path / "cache")
    assert [entry["name"] for entry in artifact.abi] == ["scaled"]
