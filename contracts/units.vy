# pragma version ~=0.4.3
"""
@title Fixed-point units of perpdex
@custom:contract-name units
@license MIT
@notice The one definition of every integer scale used by the protocol. The Python
        services read these constants from this file through the Vyper compiler
        (`perpdex.core.units`), so no scale is ever retyped off-chain.
"""

# @dev Collateral is an ERC-20 stablecoin with 6 decimals (USDC): 1 USDC = 1_000_000.
COLLATERAL_DECIMALS: constant(uint256) = 6

# @dev Sizes are base-asset units with 8 decimals: 1 BTC = 100_000_000.
SIZE_DECIMALS: constant(uint256) = 8
SIZE_SCALE: constant(uint256) = 10 ** SIZE_DECIMALS

# @dev Prices are collateral units per one whole base unit, so
#      notional (collateral units) = size * price // SIZE_SCALE. Markets are listed only
#      when lot_size * tick_size is a multiple of SIZE_SCALE, which makes every trade's
#      notional an exact integer: a trade never rounds.
PRICE_DECIMALS: constant(uint256) = COLLATERAL_DECIMALS

# @dev Margin fractions and fee rates are parts per million: 50_000 = 5%.
FRACTION_SCALE: constant(uint256) = 10 ** 6
