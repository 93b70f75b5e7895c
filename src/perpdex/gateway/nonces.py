"""Every (trader, nonce) of an order the engine accepted, as runs of consecutive nonces.

Replay protection needs to know every order ever accepted, for as long as it could still
fill: until its expiry, which the trader chooses (a day by default), so a set of order
hashes grows with the history of that whole window. The contract keeps an order's fill
state by its trader's nonce (``Exchange.vy``: one closed bit per nonce), so the nonce names
the order; and wallets take nonces in increasing runs (``sdk/nonces.py`` leases ranges), so
the nonces a trader used are a few runs however many orders they placed. Memory is then one
entry per run: it grows with the gaps a trader leaves, not with the orders.
"""

from __future__ import annotations

from sortedcontainers import SortedDict

from perpdex.core.types import Address


class UsedNonces:
    def __init__(self) -> None:
        # trader -> {first nonce of a run: one past its last}, runs disjoint and not adjacent
        self._runs: dict[Address, SortedDict] = {}

    def __contains__(self, key: tuple[Address, int]) -> bool:
        trader, nonce = key
        runs = self._runs.get(trader)
        if not runs:
            return False
        index = runs.bisect_right(nonce) - 1
        if index < 0:
            return False
        end: int = runs.peekitem(index)[1]
        return nonce < end

    def runs(self, trader: Address) -> int:
        """How many runs of ``trader``'s nonces are kept (what memory grows with)."""
        return len(self._runs.get(trader, ()))

    def add(self, trader: Address, nonce: int) -> None:
        runs = self._runs.get(trader)
        if runs is None:
            self._runs[trader] = SortedDict({nonce: nonce + 1})
            return
        last, last_end = runs.peekitem(-1)
        if nonce == last_end:  # the common case: the next nonce of the newest run
            runs[last] = nonce + 1
            return
        start, end = nonce, nonce + 1
        index = runs.bisect_right(nonce) - 1
        if index >= 0:
            before, before_end = runs.peekitem(index)
            if nonce < before_end:  # already used
                return
            if before_end == nonce:  # extends the run before it
                start = before
        after_end = runs.pop(end, None)
        if after_end is not None:  # joins the run after it
            end = after_end
        runs[start] = end

    def remove(self, trader: Address, nonce: int) -> None:
        """Forget one nonce (an order the engine refused may be placed again)."""
        if (trader, nonce) not in self:
            return
        runs = self._runs[trader]
        start, end = runs.peekitem(runs.bisect_right(nonce) - 1)
        del runs[start]
        if start < nonce:
            runs[start] = nonce
        if nonce + 1 < end:
            runs[nonce + 1] = end
        if not runs:
            del self._runs[trader]
