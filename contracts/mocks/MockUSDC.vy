# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Mock USD Coin for Local Chains
@custom:contract-name MockUSDC
@license MIT
@notice MOCK ONLY: never deploy this contract to a public network.
        A 6-decimal ERC-20 (+ EIP-2612 `permit`) built from snekmate's
        audited `erc20` module, standing in for USDC as the Exchange's
        collateral on anvil and in titanoboa tests. On top of the full
        `erc20` interface it adds `faucet`, which lets *anyone* mint
        any amount to any address, so demo wallets and bots can fund
        themselves without an owner key. The `owner` (the deployer)
        keeps snekmate's minter role and `mint` as usual.
"""


# @dev We import and initialise the `ownable` module,
# which the `erc20` module `uses` for its minter role.
from snekmate.auth import ownable
initializes: ownable


# @dev We import and initialise the `erc20` module and
# hand it our `ownable` instance.
from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


# @dev We export the whole `erc20` interface (it already
# includes `owner`, `transfer_ownership` and
# `renounce_ownership`).
exports: erc20.__interface__


# @dev The token metadata of the mock; `_DECIMALS` matches
# USDC and `units.COLLATERAL_DECIMALS` (a test checks it).
_NAME: constant(String[25]) = "Mock USD Coin"
_SYMBOL: constant(String[5]) = "USDC"
_DECIMALS: constant(uint8) = 6


# @dev The EIP-712 domain (name and version) of `permit`.
_NAME_EIP712: constant(String[50]) = "Mock USD Coin"
_VERSION_EIP712: constant(String[20]) = "1"


# @dev Emitted when `faucet` mints `amount` tokens to `to`.
event Faucet:
    caller: indexed(address)
    to: indexed(address)
    amount: uint256


@deploy
@payable
def __init__():
    """
    @dev To omit the opcodes for checking the `msg.value`
         in the creation-time EVM bytecode, the constructor
         is declared as `payable`.
    @notice The `owner` and minter role are assigned to
            `msg.sender`.
    """
    ownable.__init__()
    erc20.__init__(_NAME, _SYMBOL, _DECIMALS, _NAME_EIP712, _VERSION_EIP712)


@external
def faucet(to: address, amount: uint256):
    """
    @dev Mints `amount` tokens to `to`, callable by anyone.
    @notice MOCK ONLY: this unrestricted mint is what makes the
            token worthless; it exists so local demo wallets,
            bots and tests can fund themselves. Note that `to`
            cannot be the zero address.
    @param to The 20-byte receiver address.
    @param amount The 32-byte token amount to be created.
    """
    erc20._mint(to, amount)
    log Faucet(caller=msg.sender, to=to, amount=amount)
