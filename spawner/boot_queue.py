"""Lesson servers boot a few at a time: when a class starts at once, the others wait their turn.

A lesson server's boot (its container started, the Jupyter server importing, the lesson's kernel
starting) costs a few seconds of CPU. A hundred boots at once share the host's cores so thinly
that none of them answers before the hub's start timeout, and every learner's start fails; in
turns, the first learners are in their lesson within seconds and the last ones a little later.
``concurrent_boots`` is how many boot at once, for all lesson servers of the hub together; the
others wait in the order they asked, and their spawn page says how many are ahead. Claims of
warm pooled servers (``PoolClaim``: the server starts in a running container, then its kernel)
cost less but are not free either: they take turns in a queue of their own, as many at once, so
that a claim never waits behind a cold boot and a hundred claims do not share the cores at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from traitlets import Int, default
from traitlets.config import Configurable


class BootTurns:
    """One hub's boots: at most ``limit`` at once, the others first come, first served."""

    def __init__(self, limit: int):
        self.limit = limit
        self.booting = 0
        self._waiting: list[asyncio.Future] = []

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def ahead_of(self, turn: asyncio.Future) -> int:
        """How many boots come before ``turn``: those booting and those waiting before it."""
        try:
            return self.booting + self._waiting.index(turn)
        except ValueError:
            return 0

    @contextlib.asynccontextmanager
    async def turn(self, on_wait=None):
        """Boot inside this block; ``on_wait(ahead)`` is called while waiting, as the queue moves."""
        if self.booting >= self.limit or self._waiting:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                while not turn.done():
                    if on_wait is not None:
                        on_wait(self.ahead_of(turn))
                    await asyncio.wait({turn}, timeout=1)
            except BaseException:
                if turn in self._waiting:
                    self._waiting.remove(turn)
                elif turn.done() and not turn.cancelled():
                    self._release()  # handed the turn, then given up: pass it on
                raise
        else:
            self.booting += 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            nxt = self._waiting.pop(0)
            if not nxt.done():
                nxt.set_result(None)  # the turn passes on: ``booting`` stays the same
                return
        self.booting -= 1


class BootQueue(Configurable):
    """The ``concurrent_boots`` setting and the hub's one queue of boots."""

    concurrent_boots = Int(
        help="""How many lesson servers boot at the same time, for the whole hub (``0``: no
        limit). The others wait their turn in the order they asked, and their spawn page says
        how many servers start before theirs. Claims of warm pooled servers take turns in a
        queue of their own, as many at once: they never wait behind a cold boot. The
        default is twice the hub host's CPU count, at least 4. The wait counts toward the
        start timeout (``LMS_START_TIMEOUT``).""",
        config=True,
    )

    @default("concurrent_boots")
    def _default_concurrent_boots(self):
        return max(4, 2 * (os.cpu_count() or 1))

    _boot_turns: dict[tuple[bool, int], BootTurns] = {}  # (claims?, limit) -> its queue

    @contextlib.asynccontextmanager
    async def boot_turn(self, on_wait=None, claim: bool = False):
        """Boot inside this block (``claim``: claim a warm pooled server, in the claims'
        queue); ``on_wait(ahead)`` is called while waiting."""
        limit = self.concurrent_boots
        if limit <= 0:
            yield
            return
        turns = BootQueue._boot_turns.setdefault((claim, limit), BootTurns(limit))
        async with turns.turn(on_wait):
            yield


def boots_under_way() -> int:
    """Lesson servers of this hub booting now or waiting for their turn (none are counted
    with ``concurrent_boots = 0``)."""
    return sum(t.booting + t.waiting for t in BootQueue._boot_turns.values())
