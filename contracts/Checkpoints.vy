# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title perpdex Checkpoints: the engine journals' hash chains, committed on-chain
@custom:contract-name Checkpoints
@license MIT
@notice The matching engine journals every command it accepts in a hash chain:
        `head_n = keccak256(head_{n-1} || entry_n)` from a genesis head of 32
        zero bytes. The markets are split over engine shards (one shard, 0, for
        the embedded node; shards 0..N-1 in cluster mode), and each shard keeps a
        journal of its own, with its own chain and its own seqs. The operator
        posts `(seq, head)` pairs of each shard's chain here, in that shard's own
        log, so that anyone holding a shard's journal can recompute its chain and
        check that the log they were given is the one the exchange committed to.
        Each shard's checkpoints form a gapless, append-only sequence: checkpoint
        k + 1 is always posted after k, its `seq` is strictly above k's, its head
        is never zero, and no function changes or removes a stored checkpoint. A
        rewrite of history (a post at the same or an earlier `seq` of that shard)
        therefore reverts, and no post to one shard touches another's log.
        Index 0 of every shard is the implicit genesis checkpoint `(seq 0, zero
        head, time 0)`, so `latest(shard)` answers the genesis before its first post.
        This is a contract of its own rather than part of the Exchange: the
        Exchange's runtime code is close to the 24 KiB limit of EIP-170, and
        the checkpoint log shares none of its state, so it can also be
        redeployed or audited without touching custody.

        The operator also signs a receipt (EIP-712, this contract's domain) for
        every order it acknowledges: `Receipt(orderHash, shard, seq, head, time)`,
        its word that the order is entry `seq` of shard `shard`'s journal and that
        that chain's head after it is `head`. A head determines the whole journal
        up to its seq, so two such words for one shard and seq with different
        heads, or one that differs from the checkpoint posted at its shard and
        seq, cannot both be true. Anyone can prove either here
        (`prove_equivocation`, `prove_contradiction`); the fault is then on record
        for good, whichever shard it names, and the Exchange refuses every batch
        from then on (it reads `faulted`): traders can still cancel and withdraw.

        A shard is a `uint16`. The Exchange's 64 markets would fit a `uint8`, but
        a shard is the engine's unit of partition, not a market, and the shard is
        part of the receipt's EIP-712 type, which every stored receipt is signed
        under: widening it later would orphan them all. The wider type costs
        nothing: calldata and event topics are 32-byte words either way, and the
        storage key below has room for 192 bits of shard.
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator as eip712
from snekmate.utils import message_hash_utils

initializes: eip712

exports: eip712.eip712Domain


# @dev The largest batch of `post_batch`, and the largest page of `checkpoints`.
#      They only bound calldata and return data (Vyper reserves memory for them).
MAX_BATCH: public(constant(uint256)) = 64
MAX_PAGE: public(constant(uint256)) = 256

# @dev `_stamps[key]` packs a checkpoint's seq (bits 0..63) and block time
#      (64..127); `_tips[shard]` packs the shard's checkpoint count (0..63) and
#      its latest checkpoint's seq (64..127), so a post reads one word and
#      writes three. A checkpoint's key is its index (bits 0..63) with its
#      shard above (64..79): one keccak per slot, where a nested HashMap would
#      take two. An index fits 64 bits: each post's seq, a uint64, is strictly
#      above the last, so a shard's count never exceeds its latest seq.
_TIME_OFFSET: constant(uint256) = 64
_SEQ_OFFSET: constant(uint256) = 64
_SHARD_OFFSET: constant(uint256) = 64
_MASK_64: constant(uint256) = (1 << 64) - 1

# @dev `_fault_stamp` packs the proven fault's shard (bits 0..15), seq (16..79), block
#      time (80..143) and checkpoint index (144..207; an index is below 2**64, see
#      `_SHARD_OFFSET`), so recording a fault writes three words rather than six.
_FAULT_SEQ_OFFSET: constant(uint256) = 16
_FAULT_TIME_OFFSET: constant(uint256) = 80
_FAULT_INDEX_OFFSET: constant(uint256) = 144
_MASK_16: constant(uint256) = (1 << 16) - 1

# @dev The receipt's EIP-712 type, declared once in `perpdex.core.eip712` (a test checks
#      that both hash the same type string).
RECEIPT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Receipt(bytes32 orderHash,uint16 shard,uint64 seq,bytes32 head,uint64 time)"
)


# @dev A point of a shard's journal chain: the head after entry `seq`.
struct ChainHead:
    seq: uint64
    head: bytes32


# @dev A stored checkpoint, as the views return it.
struct Checkpoint:
    seq: uint64
    head: bytes32
    timestamp: uint64


# @dev A receipt as the operator signed it, with its signature (v is 27 or 28).
struct SignedReceipt:
    order_hash: bytes32
    shard: uint16
    seq: uint64
    head: bytes32
    time: uint64
    v: uint8
    r: uint256
    s: uint256


# @dev The proven fault: two heads the operator signed for one seq of one shard's
#      journal. `checkpoint` is the index of the contradicted checkpoint in that
#      shard's log, whose head is `other_head`; 0 when
#      `other_head` is a second receipt's (the genesis, index 0, is no posted checkpoint
#      and cannot be contradicted: no journal entry, hence no receipt, has seq 0).
struct Fault:
    shard: uint16
    seq: uint64
    head: bytes32
    other_head: bytes32
    checkpoint: uint256
    timestamp: uint64


# @dev Emitted once, when the first fault is proven (by `prove_equivocation` or
#      `prove_contradiction`).
event FaultProven:
    shard: indexed(uint16)
    seq: indexed(uint64)
    head: bytes32
    other_head: bytes32
    checkpoint: uint256
    prover: indexed(address)


# @dev Emitted for every checkpoint appended, by `post` and `post_batch` alike.
event CheckpointPosted:
    shard: indexed(uint16)
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

# @dev By shard: its packed count and latest seq (layout above, with the offsets).
_tips: HashMap[uint16, uint256]
# @dev By checkpoint key (`_key`: shard and index, 1 and up; index 0, never written,
#      reads as the genesis).
_heads: HashMap[uint256, bytes32]
_stamps: HashMap[uint256, uint256]

# @dev Set for good by the first proven fault, on any shard: one lie makes the operator's
#      matching untrustworthy everywhere, so the Exchange settles nothing once it is.
faulted: public(bool)
# @dev The first proven fault (all zeros while `faulted` is false), as `fault()` returns
#      it: the packed stamp (layout above, with the offsets) and the two heads.
_fault_stamp: uint256
_fault_head: bytes32
_fault_other_head: bytes32


@deploy
def __init__(operator: address):
    """
    @dev The deployer becomes the admin, whose only power is to replace the
         operator key; nobody can change a posted checkpoint.
    @param operator The key allowed to post checkpoints.
    """
    assert operator != empty(address), "checkpoints: zero operator"
    eip712.__init__("perpdex", "1")
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
def post(shard: uint16, seq: uint64, head: bytes32) -> uint256:
    """
    @dev Appends the checkpoint `(seq, head)` after the latest one of `shard`.
    @notice Reverts unless the caller is the operator, `seq` is strictly above
            the shard's latest checkpoint's seq and `head` is not zero. Other
            shards' logs are untouched.
    @param shard The engine shard whose journal `head` is a head of.
    @param seq The shard journal's sequence number that `head` follows.
    @param head The shard journal's chain head after entry `seq`.
    @return uint256 The new checkpoint's index in the shard's log (its first
            post is index 1).
    """
    assert msg.sender == self.operator, "checkpoints: caller is not the operator"
    tip: uint256 = self._append(shard, self._tips[shard], seq, head)
    self._tips[shard] = tip
    return tip & _MASK_64


@external
def post_batch(shard: uint16, heads: DynArray[ChainHead, MAX_BATCH]) -> uint256:
    """
    @dev Appends several checkpoints of one shard in order, as successive `post`
         calls would, for one transaction's base cost (say a keeper catching up
         after a pause with heads at regular intervals of the journal).
    @notice Reverts as a whole if any of them would revert as a `post`, or if
            `heads` is empty.
    @param shard The engine shard whose journal the heads are of.
    @param heads The checkpoints, in strictly increasing `seq` order.
    @return uint256 The index of the last checkpoint appended.
    """
    assert msg.sender == self.operator, "checkpoints: caller is not the operator"
    assert len(heads) != 0, "checkpoints: empty batch"
    tip: uint256 = self._tips[shard]
    for point: ChainHead in heads:
        tip = self._append(shard, tip, point.seq, point.head)
    self._tips[shard] = tip
    return tip & _MASK_64


@external
def prove_equivocation(first: SignedReceipt, second: SignedReceipt) -> bool:
    """
    @dev Records the operator's fault from two receipts it signed for one seq of
         one shard with different heads: at most one of them can be that shard's
         journal. Anyone may call.
    @notice Reverts unless both receipts name the same shard and seq, their heads
            differ and the current operator signed both (low-s signatures only, as
            the Exchange accepts orders). An honest operator signs one head per
            shard and seq, so it cannot be framed: the same receipt twice, receipts
            of different seqs or of different shards (two journals, each with its
            own seq 1, 2, ...), and a receipt signed by any other key all revert.
    @param first A receipt signed by the operator.
    @param second Another receipt signed by the operator, for the same shard and seq.
    @return bool True if this call recorded the fault; false if one was on record.
    """
    assert first.shard == second.shard, "checkpoints: receipts for different shards"
    assert first.seq == second.seq, "checkpoints: receipts for different seqs"
    assert first.head != second.head, "checkpoints: the receipts agree"
    self._require_operator_signed(first)
    self._require_operator_signed(second)
    return self._record_fault(first.shard, first.seq, first.head, second.head, 0)


@external
def prove_contradiction(receipt: SignedReceipt, index: uint256) -> bool:
    """
    @dev Records the operator's fault from a receipt it signed that differs from the
         checkpoint `index` it posted, in the receipt's shard's log, for the same
         seq. Anyone may call.
    @notice Reverts unless checkpoint `index` of the receipt's shard is posted (1 to
            `count(shard)`) at the receipt's seq, its head differs from the
            receipt's, and the current operator signed the receipt (low-s only). A
            receipt matching its checkpoint, one for a seq no checkpoint of its
            shard names, and one by any other key all revert; another shard's
            checkpoint is never compared (the shard is the receipt's, not the
            caller's to choose).
    @param receipt A receipt signed by the operator.
    @param index The index of the checkpoint at the receipt's seq in its shard's log
           (from the `CheckpointPosted` events or `checkpoints`).
    @return bool True if this call recorded the fault; false if one was on record.
    """
    shard: uint16 = receipt.shard
    assert index != 0 and index <= self._tips[shard] & _MASK_64, "checkpoints: no such checkpoint"
    point: Checkpoint = self._checkpoint(shard, index)
    assert point.seq == receipt.seq, "checkpoints: the checkpoint is at another seq"
    assert point.head != receipt.head, "checkpoints: the receipt matches the checkpoint"
    self._require_operator_signed(receipt)
    return self._record_fault(shard, receipt.seq, receipt.head, point.head, index)


@external
@view
def fault() -> Fault:
    """
    @dev Returns the first proven fault; all zeros while `faulted` is false.
    @return Fault The shard and seq both heads were signed for, the receipt's head,
            the other head (a second receipt's, or checkpoint `checkpoint`'s), the
            contradicted checkpoint's index (0: two receipts) and the block time of
            the proof.
    """
    stamp: uint256 = self._fault_stamp
    return Fault(
        shard=convert(stamp & _MASK_16, uint16),
        seq=convert((stamp >> _FAULT_SEQ_OFFSET) & _MASK_64, uint64),
        head=self._fault_head,
        other_head=self._fault_other_head,
        checkpoint=(stamp >> _FAULT_INDEX_OFFSET) & _MASK_64,
        timestamp=convert((stamp >> _FAULT_TIME_OFFSET) & _MASK_64, uint64),
    )


@external
@view
def count(shard: uint16) -> uint256:
    """
    @dev Returns the number of checkpoints posted for `shard`, which is also its
         latest's index.
    @param shard The engine shard.
    @return uint256 The shard's checkpoint count.
    """
    return self._tips[shard] & _MASK_64


@external
@view
def latest(shard: uint16) -> (uint256, uint64, bytes32, uint64):
    """
    @dev Returns the latest checkpoint of `shard`; the genesis `(0, 0, 0x00..00, 0)`
         before its first post.
    @param shard The engine shard.
    @return uint256 The checkpoint's index.
    @return uint64 The shard journal's sequence number its head follows.
    @return bytes32 The shard journal's chain head after entry `seq`.
    @return uint64 The block time it was posted at.
    """
    index: uint256 = self._tips[shard] & _MASK_64
    point: Checkpoint = self._checkpoint(shard, index)
    return index, point.seq, point.head, point.timestamp


@external
@view
def checkpoint(shard: uint16, index: uint256) -> (uint64, bytes32, uint64):
    """
    @dev Returns the checkpoint `index` of `shard`; index 0 is the genesis.
    @notice Reverts for an index above `count(shard)`.
    @param shard The engine shard.
    @param index The checkpoint's index in the shard's log.
    @return uint64 The shard journal's sequence number its head follows.
    @return bytes32 The shard journal's chain head after entry `seq`.
    @return uint64 The block time it was posted at.
    """
    assert index <= self._tips[shard] & _MASK_64, "checkpoints: no such checkpoint"
    point: Checkpoint = self._checkpoint(shard, index)
    return point.seq, point.head, point.timestamp


@external
@view
def checkpoints(shard: uint16, first: uint256, limit: uint256) -> DynArray[Checkpoint, MAX_PAGE]:
    """
    @dev Returns the checkpoints of `shard` from index `first` on, at most `limit`
         of them and none above `count(shard)`, so a verifier reads the history
         in pages.
    @notice Reverts if `limit` exceeds MAX_PAGE.
    @param shard The engine shard.
    @param first The index of the first checkpoint returned.
    @param limit The largest number of checkpoints returned.
    @return DynArray The checkpoints `first`, `first + 1`, ... in order.
    """
    assert limit <= MAX_PAGE, "checkpoints: page too large"
    page: DynArray[Checkpoint, MAX_PAGE] = []
    count: uint256 = self._tips[shard] & _MASK_64
    if first > count:
        return page
    for index: uint256 in range(first, min(first + limit, count + 1), bound=MAX_PAGE):
        page.append(self._checkpoint(shard, index))
    return page


@internal
def _append(shard: uint16, tip: uint256, seq: uint64, head: bytes32) -> uint256:
    """
    @dev Stores the checkpoint after the one `tip` describes in `shard`'s log and
         logs it.
    @param shard The engine shard.
    @param tip The shard's packed count and latest seq before this checkpoint.
    @param seq The shard journal's sequence number `head` follows.
    @param head The shard journal's chain head after entry `seq`.
    @return uint256 The shard's packed count and latest seq after it.
    """
    assert head != empty(bytes32), "checkpoints: zero head"
    assert convert(seq, uint256) > tip >> _SEQ_OFFSET, "checkpoints: seq not above the latest"
    # unchecked: the count is below 2**64 (its 64 bits of `tip`), and so is the sum, as
    # the index packs into 64 bits of `_tips` and of `_key`: a count is at most its
    # shard's latest seq (see `_SHARD_OFFSET`), which is below this uint64 `seq`.
    index: uint256 = unsafe_add(tip & _MASK_64, 1)
    key: uint256 = self._key(shard, index)
    timestamp: uint64 = convert(block.timestamp, uint64)
    self._heads[key] = head
    self._stamps[key] = convert(seq, uint256) | (convert(timestamp, uint256) << _TIME_OFFSET)
    log CheckpointPosted(shard=shard, index=index, seq=seq, head=head, timestamp=timestamp)
    return index | (convert(seq, uint256) << _SEQ_OFFSET)


@internal
@view
def _require_operator_signed(receipt: SignedReceipt):
    """
    @dev Reverts unless the current operator signed `receipt` in this contract's
         EIP-712 domain. snekmate's `_recover_vrs` reverts on a high `s` (a malleated
         signature) and on a signature nothing recovers from (a `v` other than 27 or
         28 included).
    @param receipt The signed receipt.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            RECEIPT_TYPEHASH,
            receipt.order_hash,
            receipt.shard,
            receipt.seq,
            receipt.head,
            receipt.time,
        )
    )
    digest: bytes32 = message_hash_utils._to_typed_data_hash(eip712._domain_separator_v4(), struct_hash)
    signer: address = ecdsa._recover_vrs(digest, convert(receipt.v, uint256), receipt.r, receipt.s)
    assert signer == self.operator, "checkpoints: receipt not signed by the operator"


@internal
def _record_fault(
    shard: uint16, seq: uint64, head: bytes32, other_head: bytes32, index: uint256
) -> bool:
    """
    @dev Puts the fault on record and logs it, unless one already is (on any shard):
         the first proof stands and a later one changes nothing (a racing prover's
         call still succeeds).
    @param shard The shard whose journal both heads were signed for.
    @param seq The seq both heads were signed for.
    @param head The receipt's head.
    @param other_head The other receipt's head, or the checkpoint's.
    @param index The contradicted checkpoint's index in the shard's log (0: two receipts).
    @return bool True if this call recorded the fault.
    """
    if self.faulted:
        return False
    self.faulted = True
    self._fault_stamp = (
        convert(shard, uint256)
        | (convert(seq, uint256) << _FAULT_SEQ_OFFSET)
        | (convert(convert(block.timestamp, uint64), uint256) << _FAULT_TIME_OFFSET)
        | (index << _FAULT_INDEX_OFFSET)
    )
    self._fault_head = head
    self._fault_other_head = other_head
    log FaultProven(
        shard=shard, seq=seq, head=head, other_head=other_head, checkpoint=index, prover=msg.sender
    )
    return True


@internal
@pure
def _key(shard: uint16, index: uint256) -> uint256:
    """
    @dev The storage key of checkpoint `index` of `shard`: the index in bits 0..63,
         the shard above, so no two (shard, index) pairs share a slot.
    @param shard The engine shard.
    @param index The checkpoint's index, below 2**64 (see `_SHARD_OFFSET`).
    @return uint256 The key of `_heads` and `_stamps`.
    """
    return (convert(shard, uint256) << _SHARD_OFFSET) | index


@internal
@view
def _checkpoint(shard: uint16, index: uint256) -> Checkpoint:
    """
    @dev Unpacks the stored checkpoint `index` of `shard` (all zeros for the genesis).
    @param shard The engine shard.
    @param index The checkpoint's index, at most `count(shard)`.
    @return Checkpoint The checkpoint.
    """
    key: uint256 = self._key(shard, index)
    stamp: uint256 = self._stamps[key]
    return Checkpoint(
        seq=convert(stamp & _MASK_64, uint64),
        head=self._heads[key],
        timestamp=convert(stamp >> _TIME_OFFSET, uint64),
    )
