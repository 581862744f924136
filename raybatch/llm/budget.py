"""The batch's spending ledger: every paid call reserves its worst-case cost first, so a budget
is a hard cap even with many workers calling at once.

One ledger per job: in-process for the local executor, a named Ray actor for the Ray executor
(every worker of the job finds it by name)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Spending:
    """Totals of paid and cached calls."""

    calls: int = 0
    cached_calls: int = 0
    #: Of the cached calls, those answered from a near-duplicate request's answer.
    similar_hits: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    audio_minutes: float = 0.0
    cost_usd: float = 0.0
    refused: int = 0  # calls not made because the budget would have been exceeded

    def add(self, other: dict[str, Any]) -> None:
        for name, value in other.items():
            if name in self.__dataclass_fields__:
                setattr(self, name, getattr(self, name) + value)

    @classmethod
    def total(cls, usages: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
        """The sum of usage dicts (``None`` and unknown keys are skipped)."""
        spending = cls()
        for usage in usages:
            if usage:
                spending.add(usage)
        return spending.to_dict()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_usd"] = round(data["cost_usd"], 6)
        data["audio_minutes"] = round(data["audio_minutes"], 3)
        return data


class BudgetLedger:
    """Reservations against an optional cap (USD) and the totals of what was spent."""

    def __init__(self, budget_usd: float | None = None, secrets: dict[str, str] | None = None):
        self.budget_usd = budget_usd
        # The driver's API key, for workers whose environment lacks it (held in memory only).
        self._secrets = dict(secrets or {})
        self.reserved = 0.0
        self.spent = Spending()
        self._lock = threading.Lock()
        #: Why the endpoint is taken as down for the rest of the run (it failed every attempt).
        self.down: str | None = None

    def reserve(self, worst_case_usd: float) -> bool:
        """Hold ``worst_case_usd`` for a call about to be made; ``False`` when that could take
        the batch past its budget (the call must not be made)."""
        with self._lock:
            committed = self.spent.cost_usd + self.reserved
            if self.budget_usd is not None and committed + worst_case_usd > self.budget_usd + 1e-12:
                self.spent.refused += 1
                return False
            self.reserved += worst_case_usd
            return True

    def settle(self, reserved_usd: float, usage: dict[str, Any]) -> None:
        """Release a reservation and record what the call really used."""
        with self._lock:
            self.reserved = max(0.0, self.reserved - reserved_usd)
            self.spent.add(usage)

    def totals(self) -> dict[str, Any]:
        with self._lock:
            return {**self.spent.to_dict(), "budget_usd": self.budget_usd}

    def secret(self, name: str) -> str | None:
        return self._secrets.get(name)

    def mark_down(self, reason: str) -> bool:
        """The endpoint failed every attempt: later calls of the run are not made. ``True``
        for the first caller to learn it (it tells the user)."""
        with self._lock:
            first, self.down = self.down is None, self.down or reason
            return first

    def down_reason(self) -> str | None:
        return self.down

    def __repr__(self) -> str:  # never the secrets
        return f"BudgetLedger(budget_usd={self.budget_usd})"


_LOCAL: dict[str, BudgetLedger] = {}


def _actor_name(job_id: str) -> str:
    return f"raybatch-ledger-{job_id}"


class _RemoteLedger:
    """A Ray actor's ledger behind the same methods."""

    def __init__(self, handle: Any):
        self.handle = handle

    def reserve(self, worst_case_usd: float) -> bool:
        import ray

        return ray.get(self.handle.reserve.remote(worst_case_usd))

    def settle(self, reserved_usd: float, usage: dict[str, Any]) -> None:
        import ray

        ray.get(self.handle.settle.remote(reserved_usd, usage))

    def totals(self) -> dict[str, Any]:
        import ray

        return ray.get(self.handle.totals.remote())

    def secret(self, name: str) -> str | None:
        import ray

        return ray.get(self.handle.secret.remote(name))

    def mark_down(self, reason: str) -> bool:
        import ray

        return ray.get(self.handle.mark_down.remote(reason))

    def down_reason(self) -> str | None:
        import ray

        return ray.get(self.handle.down_reason.remote())


def _ray_ready() -> bool:
    try:
        import ray
    except ImportError:
        return False
    return ray.is_initialized()


def open_ledger(
    job_id: str, budget_usd: float | None, on_ray: bool, secrets: dict[str, str] | None = None
) -> Any:
    """Create the job's ledger (the driver does this before any worker needs it)."""
    if on_ray:
        import ray

        actor = ray.remote(num_cpus=0)(BudgetLedger).options(name=_actor_name(job_id), get_if_exists=True)
        return _RemoteLedger(actor.remote(budget_usd, secrets))
    _LOCAL[job_id] = BudgetLedger(budget_usd, secrets)
    return _LOCAL[job_id]


def find_ledger(job_id: str) -> Any:
    """The job's ledger from wherever this code runs (a local ledger when none was opened)."""
    if job_id in _LOCAL:
        return _LOCAL[job_id]
    if _ray_ready():
        import ray

        try:
            return _RemoteLedger(ray.get_actor(_actor_name(job_id)))
        except ValueError:
            pass
    return _LOCAL.setdefault(job_id, BudgetLedger(None))


def close_ledger(job_id: str, ledger: Any) -> None:
    """Forget the job's ledger (the Ray actor is killed)."""
    _LOCAL.pop(job_id, None)
    if isinstance(ledger, _RemoteLedger):
        import ray

        ray.kill(ledger.handle)
