"""Sending one JSON body over HTTP both ways a client may: with its length declared, and chunked
(the server reads a chunked body without knowing its size, so both paths must refuse alike)."""

from __future__ import annotations

import httpx

JSON = {"content-type": "application/json"}


def post_declared_and_chunked(http: httpx.Client, path: str, body: bytes) -> tuple[httpx.Response, httpx.Response]:
    """``body`` POSTed to ``path`` with a Content-Length, then in two chunks."""
    declared = http.post(path, content=body, headers=JSON)
    chunked = http.post(path, content=iter([body[:1000], body[1000:]]), headers=JSON)
    return declared, chunked
