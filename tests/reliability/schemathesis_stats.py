"""Counts of a Schemathesis run (printed at the end of the pytest session by the folder's conftest)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    operations: set[str] = field(default_factory=set)
    examples: int = 0
    server_errors: int = 0
    failures: int = 0
    statuses: Counter = field(default_factory=Counter)
    roles: Counter = field(default_factory=Counter)
    request_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def record(self, operation: str, role: str, status: int, seconds: float) -> None:
        self.operations.add(operation)
        self.examples += 1
        self.roles[role] += 1
        self.request_seconds += seconds
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors += 1

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"schemathesis: {len(self.operations)} operations, {self.examples} examples (Hypothesis calls, "
                f"shrinking included), {self.server_errors} server errors, {self.failures} failing checks, "
                f"{time.monotonic() - self.started:.1f} s wall; statuses {statuses}")


STATS = Stats()
