"""The paged ``/journal`` fetch: it stops at the head of its first page, asks a failed page
again from the first entry not yet read, and gives up on an answer that will not change."""

from __future__ import annotations

import json
import urllib.error
from email.message import Message

import pytest

from perpdex.audit import source
from perpdex.audit.source import JournalUnavailableError, http_entries, journal_url


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


def test_the_journal_endpoint_of_a_url() -> None:
    assert journal_url("http://h:8/journal/") == "http://h:8/journal"
    assert journal_url("https://h/api") == "https://h/api/journal"
