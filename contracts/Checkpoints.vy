# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title perpdex Checkpoints: the engine journal's hash chain, committed on-chain
@custom:contract-name Checkpoints
@license MIT
@notice The matching engine journals every command it accepts in a hash chain:
        `head_n = keccak256(head_{n-1} || entry_n)` from a genesis head of 32
        zero bytes. The operator posts `(seq, head)` pairs of that chain here, so
        that anyone holding the journal can recompute the chain and check that
        the log they were given is the one the exchange committed to.
        Checkpoints form a gapless, append-only sequence: checkpoint k + 1 is
        always posted after k, its `seq` is strictly above k's, its head is never
        zero, and no function changes or removes a stored checkpoint. A rewrite
        of history (a post at the same or an earlier `seq`) therefore reverts.
        Index 0 is the implicit genesis checkpoint `(seq 0, zero head, time 0)`,
        so `latest()` answers the journal's genesis before the first post.
        This is a contract of its own rather than part of the Exchange: the
        Exchange's runtime code is close to the 24 KiB limit of EIP-170, and
        the checkpoint log shares none of its state, so it can also be
        redeployed or audited without touching custody.
"""


# @dev The largest batch of `post_batch`, and the largest page of `checkpoints`.
#      They only bound calldata and return data (Vyper reserves memory for them).
MAX_BATCH: public(constant(uint256)) = 64
MAX_PAGE: public(constant(uint256)) = 256

# @dev `_stamps[index]` packs a checkpoint's seq (bits 0..63) and block time
#      (64..127); `_tip` packs the checkpoint count (0..63) and the latest
#      checkpoint's seq (64..127), so a post reads one word and writes three.
_TIME_OFFSET: constant(uint256) = 64
_SEQ_OFFSET: constant(uint256) = 64
_MASK_64: constant(uint256) = (1 << 64) - 1


# @dev A point of the journal's chain: the head after entry `seq`.
struct ChainHead:
    seq: uint64
    head: bytes32


# @dev A stored checkpoint, as the views return it.
struct Checkpoint:
    seq: uint64
    head: bytes32
    timestamp: uint64


# @dev Emitted for every checkpoint appended, by `post` and `post_batch` alike.
event CheckpointPosted:
    index: indexed(uint256)
    seq: indexed(uint64)
    head: bytes32
    timestamp: uint64


# @dev Emitted when the operator is set, at deployment and at every rotation.
event OperatorChanged:
    operator: indexed(address)


# @dev The deployer: it can only rotate the operator.
admin: public(immutable(address))
# @dev The only key that may post checkpoints.
operator: public(address)

# @dev The packed count and latest seq (layout above, with the offsets).
_tip: uint256
# @dev By checkpoint index (1 and up; index 0, never written, reads as the genesis).
_heads: HashMap[uint256, bytes32]
_stamps: HashMap[uint256, uint256]


@deploy
def __init__(operator: address):
    """
    @dev The deployer becomes the admin, whose only power is to replace the
         operator key; nobody can change a posted checkpoint.
    @param operator The key allowed to post checkpoints.
    """
    assert operator != empty(address), "checkpoints: zero operator"
    admin = msg.sender
    self.operator = operator
    log OperatorChanged(operator=operator)


@external
def set_operator(operator: address):
    """
    @dev Replaces the operator key (for example after a key rotation). The
         checkpoints posted so far stay as they are.
    @param operator The new operator.
    """
    assert msg.sender == admin, "checkpoints: caller is not the admin"
    assert operator != empty(address), "checkpoints: zero operator"
    self.operator = operator
    log OperatorChanged(operator=operator)


@external
def post(seq: uint64, head: bytes32) -> uint256:
    """
    @dev Appends the checkpoint `(seq, head)` after the latest one.
    @notice Reverts unless the caller is the operator, `seq` is strictly above
            the latest checkpoint's seq and `head` is not zero.
    @param seq The journal's sequence number that `head` follows.
    @param head The journal's chain head after entry `seq`.
    @return uint256 The new checkpoint's index (the first post is index 1).
    """
    assert msg.sender == self.operator, "checkpoints: caller is not the operator"
    tip: uint256 = self._append(self._tip, seq, head)
    self._tip = tip
    return tip & _MASK_64


@external
def post_batch(heads: DynArray[ChainHead, MAX_BATCH]) -> uint256:
    """
    @dev Appends several checkpoints in order, as successive `post` calls would,
         for one transaction's base cost (say a keeper catching up after a pause
         with heads at regular intervals of the journal).
    @notice Reverts as a whole if any of them would revert as a `post`, or if
            `heads` is empty.
    @param heads The checkpoints, in strictly increasing `seq` order.
    @return uint256 The index of the last checkpoint appended.
    """
    assert msg.sender == self.operator, "checkpoints: caller is not the operator"
    assert len(heads) != 0, "checkpoints: empty batch"
    tip: uint256 = self._tip
    for point: ChainHead in heads:
        tip = self._append(tip, point.seq, point.head)
    self._tip = tip
    return tip & _MASK_64


@external
@view
def count() -> uint256:
    """
    @dev Returns the number of posted checkpoints, which is also the latest's index.
    @return uint256 The checkpoint count.
    """
    return self._tip & _MASK_64


@external
@view
def latest() -> (uint256, uint64, bytes32, uint64):
    """
    @dev Returns the latest checkpoint; the genesis `(0, 0, 0x00..00, 0)` before
         the first post.
    @return uint256 The checkpoint's index.
    @return uint64 The journal sequence number its head follows.
    @return bytes32 The journal's chain head after entry `seq`.
    @return uint64 The block time it was posted at.
    """
    index: uint256 = self._tip & _MASK_64
    point: Checkpoint = self._checkpoint(index)
    return index, point.seq, point.head, point.timestamp


@external
@view
def checkpoint(index: uint256) -> (uint64, bytes32, uint64):
    """
    @dev Returns the checkpoint `index`; index 0 is the genesis.
    @notice Reverts for an index above `count()`.
    @param index The checkpoint's index.
    @return uint64 The journal sequence number its head follows.
    @return bytes32 The journal's chain head after entry `seq`.
    @return uint64 The block time it was posted at.
    """
    assert index <= self._tip & _MASK_64, "checkpoints: no such checkpoint"
    point: Checkpoint = self._checkpoint(index)
    return point.seq, point.head, point.timestamp


@external
@view
def checkpoints(first: uint256, limit: uint256) -> DynArray[Checkpoint, MAX_PAGE]:
    """
    @dev Returns the checkpoints from index `first` on, at most `limit` of them
         and none above `count()`, so a verifier reads the history in pages.
    @notice Reverts if `limit` exceeds MAX_PAGE.
    @param first The index of the first checkpoint returned.
    @param limit The largest number of checkpoints returned.
    @return DynArray The checkpoints `first`, `first + 1`, ... in order.
    """
    assert limit <= MAX_PAGE, "checkpoints: page too large"
    page: DynArray[Checkpoint, MAX_PAGE] = []
    count: uint256 = self._tip & _MASK_64
    if first > count:
        return page
    for index: uint256 in range(first, min(first + limit, count + 1), bound=MAX_PAGE):
        page.append(self._checkpoint(index))
    return page


@internal
def _append(tip: uint256, seq: uint64, head: bytes32) -> uint256:
    """
    @dev Stores the checkpoint after the one `tip` describes and logs it.
    @param tip The packed count and latest seq before this checkpoint.
    @param seq The journal sequence number `head` follows.
    @param head The journal's chain head after entry `seq`.
    @return uint256 The packed count and latest seq after it.
    """
    assert head != empty(bytes32), "checkpoints: zero head"
    assert convert(seq, uint256) > tip >> _SEQ_OFFSET, "checkpoints: seq not above the latest"
    index: uint256 = (tip & _MASK_64) + 1
    timestamp: uint64 = convert(block.timestamp, uint64)
    self._heads[index] = head
    self._stamps[index] = convert(seq, uint256) | (convert(timestamp, uint256) << _TIME_OFFSET)
    log CheckpointPosted(index=index, seq=seq, head=head, timestamp=timestamp)
    return index | (convert(seq, uint256) << _SEQ_OFFSET)


@internal
@view
def _checkpoint(index: uint256) -> Checkpoint:
    """
    @dev Unpacks the stored checkpoint `index` (all zeros for the genesis).
    @param index The checkpoint's index, at most `count()`.
    @return Checkpoint The checkpoint.
    """
    stamp: uint256 = self._stamps[index]
    return Checkpoint(
        seq=convert(stamp & _MASK_64, uint64),
        head=self._heads[index],
        timestamp=convert(stamp >> _TIME_OFFSET, uint64),
    )
