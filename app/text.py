"""The dashboard's text panes: Markdown without math, since a pane with math rendering on makes
the page load the MathJax bundle before its first render, and no text here has math."""

from __future__ import annotations

import panel as pn


def markdown(text: str = "", **options) -> pn.pane.Markdown:
    """A Markdown pane of ``text`` (``options`` as for :class:`panel.pane.Markdown`), math off."""
    return pn.pane.Markdown(text, disable_math=True, **options)
