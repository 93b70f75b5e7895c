"""Off-chain matching: books, matching, sequencer, journal, snapshots (docs/engine.md).

Input is typed commands (``commands``), fed through a ``Sequencer`` that numbers, stamps
and journals them; output is events to an injected ``EventSink`` (``events``).
"""

from perpdex.engine.clock import Clock, ManualClock, WallClock
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    CancelByClientId,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    RejectedFill,
    SetDeadMan,
    StpMode,
    Tick,
    market_order,
)
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.errors import (
    BadEntry,
    CancelReason,
    ChainMismatch,
    JournalError,
    RejectReason,
    SnapshotError,
    TornEntry,
)
from perpdex.engine.events import EventBus, EventSink
from perpdex.engine.file_journal import FileJournal
from perpdex.engine.journal import ChainHead, Journal
from perpdex.engine.order_state import OrderState, OrderStates
from perpdex.engine.replay import recover, replay
from perpdex.engine.sequencer import PositionSource, Sequencer
from perpdex.engine.snapshot import read_snapshot, snapshot_bytes, write_snapshot
from perpdex.engine.sqlite_journal import SqliteJournal
from perpdex.engine.verify import open_journal, verify_journal

__all__ = [
    "Amend",
    "BadEntry",
    "Cancel",
    "CancelAccount",
    "CancelAll",
    "CancelByClientId",
    "CancelReason",
    "ChainCancel",
    "ChainHead",
    "ChainMismatch",
    "Clock",
    "Command",
    "Engine",
    "EventBus",
    "EventSink",
    "FileJournal",
    "IndexPrice",
    "Journal",
    "JournalError",
    "ManualClock",
    "MarketConfig",
    "NewOrder",
    "OrderState",
    "OrderStates",
    "PositionSource",
    "RejectReason",
    "RejectedFill",
    "Sequencer",
    "SetDeadMan",
    "SnapshotError",
    "SqliteJournal",
    "StpMode",
    "Tick",
    "TornEntry",
    "WallClock",
    "market_order",
    "open_journal",
    "read_snapshot",
    "recover",
    "replay",
    "snapshot_bytes",
    "verify_journal",
    "write_snapshot",
]
