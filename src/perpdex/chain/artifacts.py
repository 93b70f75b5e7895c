"""Compile Vyper contracts into ABI + bytecode, cached on disk by a hash of their sources.

Imports resolve like the ``vyper`` command line and titanoboa do (``sys.path``, so
``from snekmate.utils import ecdsa`` finds the installed snekmate), plus the repository's
``contracts/`` folder, so ``import units`` works from any contract. The cache key is the
compiler's own integrity sum (every source file of the import graph, transitively) together
with the compiler version: editing any imported module, or upgrading vyper, recompiles.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import vyper
from vyper.compiler import outputs_from_compiler_data
from vyper.compiler.input_bundle import FilesystemInputBundle
from vyper.compiler.phases import CompilerData
from vyper.compiler.settings import Settings

from perpdex.chain.deployment import ABI
from perpdex.core.units import contracts_dir
from perpdex.durable import write_atomic

__all__ = [
    "Artifact",
    "build_dir",
    "compile_contract",
    "contracts_dir",
    "search_paths",
]

BUILD_DIR_ENV = "PERPDEX_BUILD_DIR"
"""Environment variable that moves the build folder (the compile cache)."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """What deploying and calling a contract needs."""

    name: str
    """The contract name: the source file's stem, e.g. ``MockUSDC``."""
    abi: ABI
    bytecode: bytes
    """Init code: constructor arguments are appended to it."""
    source_hash: str
    """The cache key: compiler version + integrity sum of every source in the import graph."""


def build_dir() -> Path:
    """The build folder: ``$PERPDEX_BUILD_DIR`` or ``<repo>/build`` (next to ``contracts/``)."""
    override = os.environ.get(BUILD_DIR_ENV)
    if override:
        return Path(override)
    return contracts_dir().resolve().parent / "build"


def search_paths() -> list[Path]:
    """Import search paths, lowest precedence first (the compiler's convention)."""
    return [*(Path(entry) for entry in reversed(sys.path)), contracts_dir().resolve()]


def compile_contract(source: Path | str, *, cache_dir: Path | None = None) -> Artifact:
    """Compile ``source`` (a path, relative ones taken under ``contracts_dir()``), or load the
    cached result under ``cache_dir`` (default ``build_dir() / "cache"``).

    Raises the compiler's own exception, with file and line, when the source does not compile.
    """
    path = contracts_dir() / source if not Path(source).is_absolute() else Path(source)
    bundle = FilesystemInputBundle(search_paths())
    data = CompilerData(bundle.load_file(path.resolve()), bundle, settings=Settings())
    # Import resolution only parses; it does not run code generation.
    source_hash = sha256(f"vyper {vyper.__version__}\n{data.integrity_sum}".encode()).hexdigest()

    cached = (cache_dir or build_dir() / "cache") / f"{path.stem}-{source_hash}.json"
    if cached.is_file():
        entry = json.loads(cached.read_text())
        return Artifact(path.stem, entry["abi"], bytes.fromhex(entry["bytecode"]), source_hash)

    output = outputs_from_compiler_data(data, ("abi", "bytecode"))
    artifact = Artifact(path.stem, output["abi"], _hex_to_bytes(output["bytecode"]), source_hash)
    # parallel test workers and CLI runs share the build folder: written whole or not at all
    document = {"abi": artifact.abi, "bytecode": artifact.bytecode.hex()}
    write_atomic(cached, json.dumps(document).encode())
    return artifact


def _hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))
