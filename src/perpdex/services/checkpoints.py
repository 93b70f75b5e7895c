"""The checkpointer's loop: post the journal's head on chain every interval."""

from __future__ import annotations

import asyncio
import logging

from perpdex.keeper.checkpoint import Checkpointer

log = logging.getLogger(__name__)


async def run_checkpoints(checkpointer: Checkpointer, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            posted = await asyncio.to_thread(checkpointer.sync)
        except Exception:  # the next interval tries again; the journal stays the truth
            log.exception("checkpoint failed")
            continue
        if posted is not None:
            log.info("checkpoint %d: seq %d", posted.index, posted.seq)
