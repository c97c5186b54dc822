"""A time budget for a tick, a clock advance's step or a worker's turn: no new unit of work starts once it is spent.

Units (a slot's billing job, a template's invoice, an item's bill run) are never cut in the middle: the budget is
checked before each one starts. The first check is always granted, so every turn makes progress however small
the budget (0 included: exactly one unit per turn, which tests use to watch work proceed step by step)."""
import time


class Budget:
    def __init__(self, seconds: int | None):
        self._deadline = None if seconds is None else time.monotonic() + seconds
        self._checked = False

    @classmethod
    def unlimited(cls) -> "Budget":
        return cls(None)

    def spent(self) -> bool:
        """Asked before each unit starts: True once the time is up (never on the first asking)."""
        first, self._checked = not self._checked, True
        return not first and self.exhausted()

    def exhausted(self) -> bool:
        """The time is up (whether or not any unit ran)."""
        return self._deadline is not None and time.monotonic() >= self._deadline
