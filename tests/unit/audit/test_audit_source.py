"""The paged ``/journal`` fetch: it stops at the head of its first page, asks a failed page
again from the first entry not yet read, and gives up on an answer that will not change."""

from __future__ import annotations

import io
import itertools
import json
import urllib.error
from collections.abc import Iterator
from email.message import Message

import pytest

from perpdex.audit import source
from perpdex.audit.findings import Check
from perpdex.audit.hash_chain import ChainCheck
from perpdex.audit.source import (
    JournalUnavailableError,
    PublishedBreakError,
    PublishedEntry,
    http_entries,
    journal_url,
)


def _page(first: int, limit: int, head: int) -> bytes:
    entries = [
        {"seq": seq, "entry": "0x" + seq.to_bytes(8, "big").hex(), "head": "0x" + "ab" * 32}
        for seq in range(first, min(first + limit, head + 3))  # the journal grew meanwhile
    ]
    return json.dumps({"head": {"seq": head, "head": "0x00"}, "entries": entries}).encode()


def _query(url: str) -> tuple[int, int]:
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    return int(query["from"]), int(query["limit"])


def test_pages_up_to_the_first_head_and_resume_after_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(source.time, "sleep", lambda _: None)
    asked: list[str] = []
    failed = False

    def get(url: str) -> bytes:
        nonlocal failed
        asked.append(url)
        first, limit = _query(url)
        if first == 5 and not failed:
            failed = True
            raise ConnectionResetError("the gateway restarted")
        return _page(first, limit, head=7 if len(asked) == 1 else 9)

    seqs = [int.from_bytes(e.entry, "big") for e in http_entries("http://h:1", page=2, get=get)]

    assert seqs == [1, 2, 3, 4, 5, 6, 7]
    assert [_query(url)[0] for url in asked] == [1, 3, 5, 5, 7]
    assert asked[0].startswith("http://h:1/journal?")


def test_a_shards_journal_is_asked_for_by_shard() -> None:
    asked: list[str] = []

    def get(url: str) -> bytes:
        asked.append(url)
        return _page(*_query(url), head=3)

    assert len(list(http_entries("http://h:1", get=get, shard=1))) == 3
    assert asked == ["http://h:1/journal?from=1&limit=1000&shard=1"]
    list(http_entries("http://h:1", get=get))  # the embedded node's: its default, shard 0
    assert "shard" not in asked[-1]


def test_an_error_answer_is_not_asked_again() -> None:
    calls = 0

    def get(url: str) -> bytes:
        nonlocal calls
        calls += 1
        raise urllib.error.HTTPError(url, 404, "no journal configured", Message(), None)

    with pytest.raises(JournalUnavailableError, match="404"):
        list(http_entries("http://h:1", get=get))
    assert calls == 1


def test_a_journal_the_publisher_finds_broken_ends_the_chain_at_its_page() -> None:
    calls = 0

    def get(url: str) -> bytes:
        nonlocal calls
        calls += 1
        first, _ = _query(url)
        if first < 3:  # the page ends before the broken entry, the next one is refused
            return _page(first, 2, head=5)
        body = json.dumps({"code": "journal_broken", "message": "breaks at seq 3: x"})
        raise urllib.error.HTTPError(url, 500, "broken", Message(), io.BytesIO(body.encode()))

    published = http_entries("http://h:1", get=get)
    assert [int.from_bytes(e.entry, "big") for e in itertools.islice(published, 2)] == [1, 2]
    with pytest.raises(PublishedBreakError, match="breaks at seq 3") as raised:
        next(published)
    assert (raised.value.seq, calls) == (3, 2)  # not asked again: it will not heal

    # the audit's chain check ends there, naming the entry refused
    refused = ChainCheck(iter_raising(PublishedBreakError(1, "refused")))
    assert list(refused) == [] and refused.broken is not None
    assert (refused.broken.check, refused.broken.seq) == (Check.HASH_CHAIN, 1)
    assert "the publisher refuses the entry" in refused.broken.detail


def iter_raising(error: Exception) -> Iterator[PublishedEntry]:
    raise error
    yield  # a generator: raises when first asked


def test_the_journal_endpoint_of_a_url() -> None:
    assert journal_url("http://h:8/journal/") == "http://h:8/journal"
    assert journal_url("https://h/api") == "https://h/api/journal"
