# pragma version ~=0.4.3
# pragma nonreentrancy off
"""
@title Mock Chainlink Price Feed for Local Chains
@custom:contract-name MockAggregator
@license MIT
@notice MOCK ONLY: never deploy this contract to a public network.
        Implements the read side of Chainlink's `AggregatorV3Interface`
        (`IAggregatorV3`) over answers that the `owner` writes:
        - `set_answer` starts a new round stamped with the current
          block timestamp (the keeper's oracle pusher on anvil),
        - `set_answer_at` starts a new round with any `updatedAt`,
          so tests can produce stale (or future-dated) prices.
        Neither setter validates `answer`: a zero or negative price
        is exactly what a consumer's own checks must reject.
        The event `AnswerUpdated` has the same signature as the one
        of Chainlink's aggregators, so indexers read both alike.
"""


# @dev We import and implement the Chainlink feed interface.
from ..interfaces import IAggregatorV3
implements: IAggregatorV3


# @dev We import and initialise the `ownable` module,
# whose owner is the only writer of answers.
from snekmate.auth import ownable
initializes: ownable


# @dev We export `owner`, `transfer_ownership` and
# `renounce_ownership`.
exports: ownable.__interface__


# @dev The version of this mock implementation.
_VERSION: constant(uint256) = 1


# @dev One round of the feed.
struct Round:
    answer: int256
    started_at: uint256
    updated_at: uint256


# @dev Returns the number of decimals of each answer.
decimals: public(immutable(uint8))


# @dev Returns the human-readable feed name, e.g. "BTC / USD".
description: public(immutable(String[64]))


# @dev The id of the latest round; round ids start at 1.
_latest_round_id: uint80


# @dev The data of every written round by round id.
_rounds: HashMap[uint80, Round]


# @dev Emitted when the round `round_id` is written; same
# signature as Chainlink's `AnswerUpdated(int256,uint256,uint256)`.
event AnswerUpdated:
    current: indexed(int256)
    round_id: indexed(uint256)
    updated_at: uint256


@deploy
@payable
def __init__(decimals_: uint8, description_: String[64], answer_: int256):
    """
    @dev To omit the opcodes for checking the `msg.value`
         in the creation-time EVM bytecode, the constructor
         is declared as `payable`.
    @notice The `owner` role is assigned to `msg.sender`, and
            round 1 holds `answer_` at the current block
            timestamp, so the feed is never without data.
    @param decimals_ The 1-byte decimals of every answer.
    @param description_ The maximum 64-character feed name.
    @param answer_ The 32-byte signed initial answer.
    """
    ownable.__init__()
    decimals = decimals_
    description = description_
    self._write_round(answer_, block.timestamp)


@external
@view
def version() -> uint256:
    """
    @dev Returns the version of this mock implementation.
    @return uint256 The 32-byte version number.
    """
    return _VERSION


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Returns the data of the round `round_id`.
    @notice Reverts for a round that was never written, as
            Chainlink's aggregators do.
    @param round_id The 10-byte round id.
    @return uint80 The 10-byte round id (`roundId`).
    @return int256 The 32-byte signed price (`answer`).
    @return uint256 The 32-byte round start timestamp (`startedAt`).
    @return uint256 The 32-byte last update timestamp (`updatedAt`).
    @return uint80 The 10-byte round the answer was computed in
            (`answeredInRound`), always `round_id`.
    """
    assert round_id != 0 and round_id <= self._latest_round_id, "MockAggregator: no data present"
    return self._round_data(round_id)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Returns the data of the latest round.
    @return uint80 The 10-byte round id (`roundId`).
    @return int256 The 32-byte signed price (`answer`).
    @return uint256 The 32-byte round start timestamp (`startedAt`).
    @return uint256 The 32-byte last update timestamp (`updatedAt`).
    @return uint80 The 10-byte round the answer was computed in
            (`answeredInRound`), always `roundId`.
    """
    return self._round_data(self._latest_round_id)


@external
def set_answer(answer: int256):
    """
    @dev Writes `answer` as a new round updated now.
    @notice Note that this function can only be
            called by the current `owner`.
    @param answer The 32-byte signed price, scaled by
           `10 ** decimals`.
    """
    ownable._check_owner()
    self._write_round(answer, block.timestamp)


@external
def set_answer_at(answer: int256, updated_at: uint256):
    """
    @dev Writes `answer` as a new round that claims to have
         been updated (and started) at `updated_at`.
    @notice Note that this function can only be called by
            the current `owner`. `updated_at` is not checked
            against `block.timestamp`, so tests can produce
            stale as well as future-dated rounds.
    @param answer The 32-byte signed price, scaled by
           `10 ** decimals`.
    @param updated_at The 32-byte Unix timestamp of the round.
    """
    ownable._check_owner()
    self._write_round(answer, updated_at)


@internal
def _write_round(answer: int256, updated_at: uint256):
    """
    @dev Appends a round holding `answer` stamped `updated_at`.
    @param answer The 32-byte signed price.
    @param updated_at The 32-byte Unix timestamp of the round.
    """
    round_id: uint80 = self._latest_round_id + 1
    self._latest_round_id = round_id
    self._rounds[round_id] = Round(answer=answer, started_at=updated_at, updated_at=updated_at)
    log AnswerUpdated(current=answer, round_id=convert(round_id, uint256), updated_at=updated_at)


@internal
@view
def _round_data(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev Returns the round `round_id` in Chainlink's tuple order.
    @param round_id The 10-byte round id.
    @return uint80 The 10-byte round id.
    @return int256 The 32-byte signed price.
    @return uint256 The 32-byte round start timestamp.
    @return uint256 The 32-byte last update timestamp.
    @return uint80 The 10-byte answered-in round id.
    """
    round: Round = self._rounds[round_id]
    return round_id, round.answer, round.started_at, round.updated_at, round_id
