"""Signed logins and approved session keys.

A connection is authenticated by an EIP-712 ``Login`` (``perpdex.core.eip712``) that is
either signed by its ``trader`` or by a session key the trader approved: a login signed by
the trader with a non-zero ``sessionKey`` approves that key until the login's expiry. A
login is accepted once (its digest is remembered until it expires) and may not reach
further than ``max_ttl_s`` into the future, so a captured login is short-lived and cannot
be replayed. Approvals live in the gateway's memory: a restart forgets them.
"""

from __future__ import annotations

import heapq

from perpdex.core.eip712 import NO_SESSION_KEY, Eip712Domain, Login
from perpdex.core.signing import Digest, InvalidSignatureError, Signature, recover_address
from perpdex.core.types import Address
from perpdex.gateway.protocol import ErrorCode, ProtocolError

DEFAULT_MAX_TTL_S = 24 * 3600


class Logins:
    def __init__(self, domain: Eip712Domain, *, max_ttl_s: int = DEFAULT_MAX_TTL_S) -> None:
        self._domain = domain
        self._max_ttl_s = max_ttl_s
        self._approved: dict[tuple[Address, Address], int] = {}  # (trader, key) -> expiry
        self._seen: set[Digest] = set()
        self._seen_expiry: list[tuple[int, Digest]] = []  # heap, to forget expired logins

    def verify(self, login: Login, signature: Signature, now_s: int) -> Address:
        """The authenticated trader; raises :class:`ProtocolError` otherwise."""
        self._forget(now_s)
        if login.expiry <= now_s:
            raise ProtocolError(ErrorCode.EXPIRED, "login expired")
        if login.expiry > now_s + self._max_ttl_s:
            raise ProtocolError(
                ErrorCode.MALFORMED, f"login expiry more than {self._max_ttl_s} s ahead"
            )
        digest = self._domain.digest(login)
        if digest in self._seen:
            raise ProtocolError(ErrorCode.REPLAYED, "this login was used before")
        try:
            signer = recover_address(digest, signature)
        except InvalidSignatureError as error:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE, str(error)) from None
        session_key = login.session_key
        if signer == login.trader:
            if session_key != NO_SESSION_KEY:
                self._approved[(login.trader, session_key)] = login.expiry
        elif signer != session_key or self._approved.get((login.trader, signer), 0) <= now_s:
            raise ProtocolError(
                ErrorCode.BAD_SIGNATURE,
                f"signed by {signer}: neither {login.trader} nor a session key it approved",
            )
        self._seen.add(digest)
        heapq.heappush(self._seen_expiry, (login.expiry, digest))
        return login.trader

    def _forget(self, now_s: int) -> None:
        heap = self._seen_expiry
        while heap and heap[0][0] <= now_s:
            self._seen.discard(heapq.heappop(heap)[1])
        if any(expiry <= now_s for expiry in self._approved.values()):
            self._approved = {k: e for k, e in self._approved.items() if e > now_s}
