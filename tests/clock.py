"""The fake wall clock of the `wall` fixture (tests/conftest.py): it reads `now` until the test moves it, so "after
the lease ran out" is exact."""
from datetime import datetime


class Wall:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
