"""How followers of a notification log wait: woken at once when their own process stores
events, and polling every ``idle_seconds`` for what others store (other replicas, restarts)."""

from __future__ import annotations

import asyncio

from shared.eventstore import ServiceApplication


class Wakeup:
    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._event = asyncio.Event()

    def follow(self, app: ServiceApplication) -> None:
        """Wake on ``app``'s writes; call from the event loop that will wait."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._event.set)

        app.on_recorded(wake)

    async def idle(self, stop: asyncio.Event) -> None:
        """Returns on the next write, on ``stop``, or after ``idle_seconds``."""
        waits = [asyncio.ensure_future(self._event.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(
                waits, timeout=self.idle_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for wait in waits:
                wait.cancel()
            self._event.clear()
