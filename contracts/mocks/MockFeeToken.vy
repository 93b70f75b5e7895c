# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Mock fee-on-transfer token for tests
@custom:contract-name MockFeeToken
@license MIT
@notice MOCK ONLY: never deploy this contract to a public network.
        A 6-decimal ERC-20 built from snekmate's `erc20` module whose `transfer` and
        `transferFrom` burn `FEE_PPM` of every amount moved, as fee-on-transfer tokens
        (and USDT once its fee switch is on) do: the receiver gets less than the amount
        named. The Exchange tests use it to show a deposit credits what arrived.
"""

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

exports: (
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.decimals,
    erc20.name,
    erc20.symbol,
    erc20.approve,
)


# @dev The share of every transfer that is burnt, parts per million (1%).
FEE_PPM: public(constant(uint256)) = 10_000
_SCALE: constant(uint256) = 1_000_000


@deploy
@payable
def __init__():
    ownable.__init__()
    erc20.__init__("Mock Fee Token", "FEE", 6, "Mock Fee Token", "1")


@external
def faucet(to: address, amount: uint256):
    """
    @dev Mints `amount` to `to`, callable by anyone (a test token).
    """
    erc20._mint(to, amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` less the fee from the caller to `to`; the fee is burnt.
    """
    self._move(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` less the fee from `owner` to `to` on the caller's allowance
         (which falls by the whole `amount`); the fee is burnt.
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    self._move(owner, to, amount)
    return True


@internal
def _move(owner: address, to: address, amount: uint256):
    fee: uint256 = amount * FEE_PPM // _SCALE
    erc20._burn(owner, fee)
    erc20._transfer(owner, to, amount - fee)
