"""Just-in-time credentials: tasks with deadlines, closing, elevations, audited revocation.

Every token of a chain carries its task id. A :class:`Tasks` registry on the shared
store makes the task the credential's lifetime:

* ``open(task, deadline=...)``: a :class:`~delegation.Delegator` given these tasks mints
  only for open tasks and clips every token's ``exp`` to the task deadline;
* ``close(task)``: revokes the task, so every chain of it fails on every verifier that
  shares the store (code ``revoked``), while other tasks are untouched;
* ``elevate(task, caps, approved_by=..., ttl=...)``: a short, explicitly approved widening
  beyond the recipients' registry baselines for one task, which expires by itself; tokens
  minted under it die with it, and the audit log marks them;
* ``revoke(kind, value)``: a revocation that is also recorded in the audit log.

Every change is appended to the audit sink (events ``task_open``, ``task_close``,
``elevate``, ``revoke``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._ids import check_agent_id, new_jti
from .audit import (
    AuditEvent,
    AuditSink,
    ElevateEvent,
    RevokeEvent,
    TaskCloseEvent,
    TaskOpenEvent,
)
from .capabilities import Capability
from .clock import Clock, or_system_clock
from .errors import (
    DelegationError,
    InvalidInput,
    StoreUnavailable,
    TaskAlreadyOpen,
    TaskDeadlineTooFar,
    TaskNotOpen,
    TaskUnknown,
)
from .limits import Limits
from .stores.base import KVStore, RevocationKind

__all__ = ["MAX_TASK_TTL", "Elevation", "TaskInfo", "Tasks"]

_RETAIN = 7 * 24 * 3600  # how long a task's record outlives its deadline (for audits)
MAX_TASK_TTL = 30 * 24 * 3600
"""The default longest task (30 days): a JIT credential lives for a task, not for years."""


@dataclass(frozen=True)
class TaskInfo:
    """A task's record: when it opened, its deadline, and whether it was closed."""

    task: str
    opened_at: float
    deadline: float
    owner: str | None = None
    purpose: str | None = None
    closed_at: float | None = None
    close_reason: str | None = None

    def is_open(self, now: float) -> bool:
        return self.closed_at is None and now < self.deadline

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Elevation:
    """An approved, self-expiring widening for one task."""

    id: str
    task: str
    caps: tuple[Capability, ...]
    approved_by: str
    reason: str
    granted_at: float
    until: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "caps": [c.to_wire() for c in self.caps],
            "approved_by": self.approved_by,
            "reason": self.reason,
            "granted_at": self.granted_at,
            "until": self.until,
        }


def _check_task_id(task: str) -> str:
    # The same rule as the task claim: 1-256 characters, no control or format characters
    # (nor unpaired surrogates, which are no Unicode text and no store can encode).
    if (
        not isinstance(task, str)
        or not 0 < len(task) <= 256
        or any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in task)
    ):
        raise InvalidInput(f"task id {task!r} must be 1-256 characters, no control characters")
    return task


class Tasks:
    """Task lifecycle on a shared store, with every change audited.

    >>> from delegation import MemoryStore, FixedClock
    >>> tasks = Tasks(MemoryStore(), clock=FixedClock(1000))
    >>> tasks.open("T-1", ttl=600).deadline
    1600.0
    >>> tasks.close("T-1"); tasks.get("T-1").is_open(1001)
    False
    """

    def __init__(
        self,
        store: KVStore,
        *,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
        limits: Limits | None = None,
        max_ttl: int = MAX_TASK_TTL,
    ) -> None:
        self.store = store
        self.audit = audit
        self.clock = or_system_clock(clock)
        self.limits = limits or Limits()
        self.max_ttl = max_ttl

    # --- lifecycle --- #

    def open(
        self, task: str, *, ttl: int, owner: str | None = None, purpose: str | None = None
    ) -> TaskInfo:
        """Open ``task`` until ``ttl`` seconds from now. Reopening a closed task is refused.

        Raises ``task_not_open`` for a closed task, ``task_already_open`` for an open one,
        ``task_deadline_too_far`` for a ttl over ``max_ttl``, ``invalid_input`` for a bad
        id or ttl.
        """
        _check_task_id(task)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise InvalidInput(f"task ttl must be a positive number of seconds, not {ttl!r}")
        if ttl > self.max_ttl:
            raise TaskDeadlineTooFar(
                f"task deadline {ttl}s from now is over the maximum of {self.max_ttl}s "
                f"({self.max_ttl / 86400:g} days)"
            )
        now = self.clock.now()
        old = self.get(task)
        if old is not None and old.closed_at is not None:
            raise TaskNotOpen(f"task {task} was closed; open a new task id")
        if old is not None and old.is_open(now):
            raise TaskAlreadyOpen(f"task {task} is already open (until {old.deadline:.0f})")
        info = TaskInfo(task, opened_at=now, deadline=now + ttl, owner=owner, purpose=purpose)
        self._save(info, now)
        self._audit(TaskOpenEvent(task=task, deadline=info.deadline, owner=owner, purpose=purpose))
        return info

    def close(self, task: str, *, reason: str | None = None) -> None:
        """Close ``task`` and revoke it: every chain of the task fails from now on.

        Raises ``task_unknown`` for a task never opened here (to revoke the chains of
        such a task anyway, use ``revoke("task", ...)``).
        """
        _check_task_id(task)
        now = self.clock.now()
        info = self.get(task)
        if info is None:
            raise TaskUnknown(
                f"task {task} was never opened on this store (to revoke its chains anyway, "
                "revoke the task)"
            )
        # Tokens of the task live at most the maximum lifetime: the revocation may lapse then.
        until = max(info.deadline, now + self.limits.max_token_lifetime) + self.limits.clock_skew
        self.store.revoke("task", task, until=until, now=now)
        closed = TaskInfo(**{**info.__dict__, "closed_at": now, "close_reason": reason})
        self._save(closed, now)
        self._audit(TaskCloseEvent(task=task, reason=reason))

    def get(self, task: str) -> TaskInfo | None:
        """The task's record, or None if it was never opened here."""
        record = self.store.get_record("task", task, now=self.clock.now())
        if record is None:
            return None
        try:
            return TaskInfo(**record)
        except TypeError:
            raise StoreUnavailable(f"task record {task} is damaged") from None

    def require_open(self, task: str) -> TaskInfo:
        """The open task's record; ``task_not_open`` when unknown, closed or past its deadline."""
        info = self.get(task)
        now = self.clock.now()
        if info is None:
            raise TaskNotOpen(f"task {task} is not open (open it first)")
        if info.closed_at is not None:
            raise TaskNotOpen(f"task {task} was closed")
        if now >= info.deadline:
            raise TaskNotOpen(f"task {task} is past its deadline")
        return info

    # --- elevation --- #

    def elevate(
        self,
        task: str,
        caps: Iterable[Capability],
        *,
        approved_by: str,
        ttl: int,
        reason: str,
    ) -> Elevation:
        """Approve a short widening for ``task``: minting may exceed baselines by ``caps``.

        It ends at ``ttl`` seconds from now or at the task deadline, whichever is first,
        and replaces any earlier elevation of the task. Audited as ``elevate``.
        """
        info = self.require_open(task)
        check_agent_id(approved_by, what="approver", error=InvalidInput)
        caps = tuple(caps)
        if not caps:
            raise InvalidInput("an elevation needs at least one capability")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("an elevation needs a reason (text)")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise InvalidInput(f"elevation ttl must be a positive number of seconds, not {ttl!r}")
        now = self.clock.now()
        elevation = Elevation(
            id=f"elv-{new_jti()}",
            task=task,
            caps=caps,
            approved_by=approved_by,
            reason=reason,
            granted_at=now,
            until=min(now + ttl, info.deadline),
        )
        self.store.put_record("elev", task, elevation.to_dict(), until=elevation.until, now=now)
        self._audit(ElevateEvent(**elevation.__dict__))
        return elevation

    def elevation(self, task: str) -> Elevation | None:
        """The task's active elevation, or None."""
        record = self.store.get_record("elev", task, now=self.clock.now())
        if record is None:
            return None
        try:
            return Elevation(
                **{**record, "caps": tuple(Capability.from_wire(c) for c in record["caps"])}
            )
        except (TypeError, KeyError, DelegationError):
            raise StoreUnavailable(f"elevation record of task {task} is damaged") from None

    # --- revocation --- #

    def revoke(
        self,
        kind: RevocationKind,
        value: str,
        *,
        until: float | None = None,
        reason: str | None = None,
    ) -> None:
        """Revoke a token id, jti, task or key thumbprint, and record it in the audit log."""
        if kind not in ("token", "jti", "task", "key"):
            raise InvalidInput(f"unknown revocation kind {kind!r} (token, jti, task, key)")
        if not value:
            raise InvalidInput("nothing to revoke: empty value")
        self.store.revoke(kind, value, until=until, now=self.clock.now())
        self._audit(RevokeEvent(kind=kind, value=value, until=until, reason=reason))

    # --- internals --- #

    def _save(self, info: TaskInfo, now: float) -> None:
        self.store.put_record(
            "task", info.task, info.to_dict(), until=info.deadline + _RETAIN, now=now
        )

    def _audit(self, event: AuditEvent) -> None:
        if self.audit is not None:
            self.audit.append(event)
