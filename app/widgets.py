"""The dashboard's input widgets: each browser change reaches Python at once."""

from __future__ import annotations

from typing import TypeVar

from panel.reactive import Reactive

W = TypeVar("W", bound=Reactive)


def at_once(widget: W) -> W:
    """``widget`` without Panel's 50 ms wait before a browser change reaches its watchers.

    Panel waits to merge a burst of changes into one (keystrokes); a choice, a tab, a file or
    a slider's release is one change, and the wait was a sixth of a stimulus change's 300 ms.
    """
    widget._debounce = 0  # Panel's per-widget wait (ms), a class attribute of Reactive
    return widget
