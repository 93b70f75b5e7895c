# pragma version ~=0.4.3
"""
@title Layout of a market's packed parameter word
@custom:contract-name params
@license MIT
@notice Markets stores a market's grid, margin fractions and fees in one word and the
        Exchange caches that word per batch, so both read it with these offsets:
          bits   0..63   tick size               price units
          bits  64..127  lot size                size units
          bits 128..159  initial margin          ppm
          bits 160..191  maintenance margin      ppm
          bits 192..223  maker fee               ppm
          bits 224..255  taker fee               ppm
        A listed market's word is never zero: its tick size is not.
"""

LOT_OFFSET: constant(uint256) = 64
INITIAL_MARGIN_OFFSET: constant(uint256) = 128
MAINTENANCE_MARGIN_OFFSET: constant(uint256) = 160
MAKER_FEE_OFFSET: constant(uint256) = 192
TAKER_FEE_OFFSET: constant(uint256) = 224
MASK_32: constant(uint256) = (1 << 32) - 1
MASK_64: constant(uint256) = (1 << 64) - 1
