"""The token gate of a service started with ``TDSNN_TOKEN``, and the dashboard's login.

Every HTTP request and websocket needs the token, as ``Authorization: Bearer <token>`` or as
the HttpOnly, SameSite=Strict cookie that ``POST /login`` sets, so a browser can use the
dashboard. ``/login`` alone is open. A browser page without the token is sent to the login
page; anything else gets a 401 (a websocket is closed before it opens).
"""

from __future__ import annotations

import html
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.errors import error_response

COOKIE = "tdsnn_token"
LOGIN = "/login"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TDSNN Lab: sign in</title>
<style>body{{font-family:sans-serif;max-width:26em;margin:4em auto}}
input{{font-size:1em;padding:.3em;width:100%;margin:.4em 0}}.error{{color:#b00}}</style>
</head><body><h1>TDSNN Lab</h1><p>This service needs its token (TDSNN_TOKEN).</p>
<form method="post" action="{login}"><input type="hidden" name="next" value="{next}">
<label>Token <input type="password" name="token" autocomplete="current-password" autofocus>
</label><input type="submit" value="Sign in"></form><p class="error">{error}</p></body></html>
"""


class TokenGate:
    """ASGI middleware: requests without the token are refused (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] == LOGIN:
            return await self.app(scope, receive, send)
        if self._has_token(Headers(scope=scope)):
            return await self.app(scope, receive, send)
        refusal = error_response(
            401, "missing or wrong token", "header.authorization", {"WWW-Authenticate": "Bearer"}
        )
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            if "websocket.http.response" in scope.get("extensions", {}):
                return await refusal(scope, receive, send)  # the 401 itself
            return await send({"type": "websocket.close", "code": 1008})  # a bare 403
        headers = Headers(scope=scope)
        if scope["method"] == "GET" and "text/html" in headers.get("accept", ""):
            target = RedirectResponse(f"{LOGIN}?next={quote(_local(scope['path']))}", 303)
            return await target(scope, receive, send)
        return await refusal(scope, receive, send)

    def _has_token(self, headers: Headers) -> bool:
        bearer = headers.get("authorization", "").encode()
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE, "").encode()
        return secrets.compare_digest(bearer, b"Bearer " + self.token) or secrets.compare_digest(
            cookie, self.token
        )


def add_login(app: FastAPI, token: str) -> None:
    """Guard ``app`` with ``token`` and serve the login page at /login."""
    router = APIRouter(include_in_schema=False)

    @router.get(LOGIN, response_class=HTMLResponse)
    async def login_page(next: str = "/dashboard") -> HTMLResponse:
        return _page(next, "")

    @router.post(LOGIN, response_model=None)
    async def login(
        request: Request,
        token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/dashboard",
    ) -> HTMLResponse | RedirectResponse:
        if not secrets.compare_digest(token.encode(), token_bytes):
            return _page(next, "Wrong token.", status=401)
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    token_bytes = token.encode()
    app.include_router(router)
    app.add_middleware(TokenGate, token=token)


def _page(next: str, error: str, status: int = 200) -> HTMLResponse:
    body = PAGE.format(login=LOGIN, next=html.escape(_local(next)), error=html.escape(error))
    return HTMLResponse(body, status_code=status)


def _local(path: str) -> str:
    """``path`` if it is a path on this server, else /dashboard (no open redirects)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/dashboard"
