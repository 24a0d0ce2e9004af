"""The API documentation pages (``/docs``, ``/redoc``), served without a CDN.

FastAPI's own pages load Swagger UI and ReDoc from cdn.jsdelivr.net, so on a machine without
internet access, where training servers usually run, they were blank. fastapi-offline ships
the same scripts; these routes serve them from the installed package, under ``STATIC_PATH``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from reasoning_economics.errors import require

DOCS_PATH, REDOC_PATH = "/docs", "/redoc"
REDIRECT_PATH = f"{DOCS_PATH}/oauth2-redirect"
STATIC_PATH = "/static-offline-docs"
FASTAPI_DOCS_PATHS = frozenset({DOCS_PATH, REDIRECT_PATH, REDOC_PATH})
"""FastAPI's CDN-backed pages, which ``add_offline_docs`` replaces (the caller drops them first)."""


def add_offline_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from fastapi-offline's files."""
    static = files(require("fastapi_offline", "server")) / "static"
    app.mount(STATIC_PATH, StaticFiles(directory=str(static)), name="offline-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        url = _under_root(request)
        return get_swagger_ui_html(
            openapi_url=url(openapi_url),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=url(REDIRECT_PATH),
            swagger_js_url=url(f"{STATIC_PATH}/swagger-ui-bundle.js"),
            swagger_css_url=url(f"{STATIC_PATH}/swagger-ui.css"),
            swagger_favicon_url=url(f"{STATIC_PATH}/favicon.png"),
        )

    @app.get(REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        url = _under_root(request)
        return get_redoc_html(
            openapi_url=url(openapi_url),
            title=f"{app.title} - ReDoc",
            redoc_js_url=url(f"{STATIC_PATH}/redoc.standalone.js"),
            redoc_favicon_url=url(f"{STATIC_PATH}/favicon.png"),
            with_google_fonts=False,
        )


def _under_root(request: Request) -> Callable[[str], str]:
    """Paths as the browser must ask for them behind a proxy that mounts the app under a prefix."""
    root = request.scope.get("root_path", "")
    return lambda path: f"{root}{path}"
