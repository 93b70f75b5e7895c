"""An entry altered in the node's journal file after it was written: ``/journal`` serves the
sound entries before it, refuses a page that starts with it as ``journal_broken`` (naming
the seq), and `perpdex audit` over the API names that entry as where the chain breaks."""

from __future__ import annotations

from tests.integration.http.conftest import Served

from perpdex.audit.audit import audit_deployment
from perpdex.audit.findings import Check
from perpdex.chain.deployment import Role
from perpdex.core.types import TimeInForce
from perpdex.engine.codec import seq_of
from perpdex.engine.file_journal import frames

ALTERED = 2


def _quote(served: Served) -> None:
    async def quote() -> None:
        async with served.client(Role.MAKER) as maker:
            for price in ("3100", "3200", "3300"):
                await maker.place(
                    "ETH-PERP", "sell", "0.1", price, time_in_force=TimeInForce.POST_ONLY
                )

    served.run(quote())


def test_an_altered_entry_ends_the_pages_and_the_audit_names_it(served: Served) -> None:
    _quote(served)
    whole = served.ok("/journal?limit=1000")["entries"]
    assert len(whole) >= 3
    path = served.node.engine.journal_path
    with path.open("rb") as file:
        where, entry, _ = next(f for f in frames(file) if seq_of(f[1]) == ALTERED)
    with path.open("r+b") as file:  # the entry's last byte, as a disk or an operator might
        file.seek(where + 4 + len(entry) - 1)
        file.write(bytes([entry[-1] ^ 0x01]))

    assert served.ok("/journal?limit=1000")["entries"] == whole[: ALTERED - 1]
    status, body = served.get(f"/journal?from={ALTERED}")
    assert (status, body["code"]) == (500, "journal_broken")
    assert f"at seq {ALTERED}:" in body["message"]

    report = audit_deployment(served.node.deployment, served.url)
    assert not report.ok and report.first is not None
    assert (report.first.check, report.first.seq) == (Check.HASH_CHAIN, ALTERED)
    assert "the publisher refuses the entry" in report.first.detail
    assert report.summary.commands == ALTERED - 1
