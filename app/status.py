"""The page's busy indicator and error message: every piece of long or remote work runs
through :meth:`Status.run`, so failures read as messages and never blank the page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import panel as pn

from app.service import Problem
from app.text import markdown

log = logging.getLogger("tdsnn.dashboard")


class Status:
    """A spinner with what is being done, an error alert, and :meth:`apply` for changes to
    Bokeh models made after awaiting the service."""

    def __init__(self) -> None:
        self.doc = pn.state.curdoc
        self.spinner = pn.indicators.LoadingSpinner(value=False, size=24)
        self.message = markdown("", name="status-message", margin=(0, 10))
        self.alert = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            name="error",
            css_classes=["error-alert"],
            disable_math=True,  # as app.text.markdown: an Alert is a Markdown pane
        )
        self.panel = pn.Column(pn.Row(self.spinner, self.message), self.alert)
        self._running: list[str] = []

    async def run(self, message: str, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work`` with ``message`` shown as busy; True on success. A service problem or
        any other failure is shown in the alert instead of being raised. New work clears the
        last error (before its result can appear, so the page never shows both)."""
        self.alert.visible = False
        self._running.append(message)
        self._show_busy()
        try:
            await work()
        except Problem as exc:
            self.error(str(exc))
            return False
        except Exception as exc:  # the page must say what failed, not go blank
            log.exception("dashboard: %s failed", message)
            self.error(f"{message} failed: {type(exc).__name__}: {exc}")
            return False
        finally:
            self._running.remove(message)
            self._show_busy()
        return True

    async def apply(self, change: Callable[[], None]) -> None:
        """Run ``change`` holding the session document's lock (Bokeh models may only change
        under it; code resumed after an ``await`` does not hold it)."""
        if self.doc is None or self.doc.session_context is None:
            change()
            return
        done = asyncio.get_running_loop().create_future()

        def locked() -> None:
            try:
                change()
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(None)

        self.doc.add_next_tick_callback(locked)
        await done

    def error(self, text: str) -> None:
        self.alert.object = text
        self.alert.visible = True

    def _show_busy(self) -> None:
        self.spinner.value = bool(self._running)
        self.message.object = f"{self._running[-1]}…" if self._running else ""
