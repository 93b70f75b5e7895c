import pytest

from perpdex.core.eip712 import (
    NO_SESSION_KEY,
    ChainId,
    Eip712Domain,
    Login,
    Nonce,
    UnixTime,
    sign_login,
    typehash,
)
from perpdex.core.signing import InvalidSignatureError, SigningKey, keccak256
from perpdex.core.types import Address
from perpdex.gateway.auth import Logins
from perpdex.gateway.protocol import ErrorCode, ProtocolError

DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
TRADER = SigningKey(bytes(31) + b"\x01")
SESSION = SigningKey(bytes(31) + b"\x02")
NOW = 1_000_000


def login(
    session_key: Address = NO_SESSION_KEY, *, expiry: int = NOW + 60, nonce: int = 1
) -> Login:
    return Login(TRADER.address, session_key, UnixTime(expiry), Nonce(nonce))


def refused(logins: Logins, terms: Login, key: SigningKey, now: int = NOW) -> ErrorCode:
    with pytest.raises(ProtocolError) as caught:
        logins.verify(terms, sign_login(terms, key, DOMAIN), now)
    return caught.value.code


def test_login_type_is_declared_once_like_order_and_cancel() -> None:
    expected = "Login(address trader,address sessionKey,uint64 expiry,uint64 nonce)"
    assert typehash("Login") == keccak256(expected.encode())


def test_the_trader_logs_in_once_per_signed_login() -> None:
    logins = Logins(DOMAIN)
    terms = login()
    assert logins.verify(terms, sign_login(terms, TRADER, DOMAIN), NOW) == TRADER.address
    assert refused(logins, terms, TRADER) is ErrorCode.REPLAYED


def test_expired_too_long_and_wrong_signer_are_refused() -> None:
    logins = Logins(DOMAIN, max_ttl_s=3600)
    assert refused(logins, login(expiry=NOW), TRADER) is ErrorCode.EXPIRED
    assert refused(logins, login(expiry=NOW + 3601), TRADER) is ErrorCode.MALFORMED
    # a session key nobody approved
    assert refused(logins, login(SESSION.address), SESSION) is ErrorCode.BAD_SIGNATURE
    with pytest.raises(InvalidSignatureError):
        sign_login(login(), SESSION, DOMAIN)  # not the trader, and not the named session key


def test_an_approved_session_key_logs_in_until_the_approval_expires() -> None:
    logins = Logins(DOMAIN)
    approval = login(SESSION.address, expiry=NOW + 100)
    logins.verify(approval, sign_login(approval, TRADER, DOMAIN), NOW)
    by_key = login(SESSION.address, nonce=2)
    assert logins.verify(by_key, sign_login(by_key, SESSION, DOMAIN), NOW) == TRADER.address
    later = login(SESSION.address, expiry=NOW + 200, nonce=3)
    assert refused(logins, later, SESSION, now=NOW + 100) is ErrorCode.BAD_SIGNATURE
