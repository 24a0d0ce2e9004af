"""The API documentation pages (``/docs``, ``/redoc``), served without a CDN.

FastAPI's own pages load Swagger UI and ReDoc from cdn.jsdelivr.net, so on a machine without
internet access, where training servers usually run, they were blank. fastapi-offline ships
the same scripts; these routes serve them from the installed package, under ``STATIC_PATH``.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from reasoning_economics.errors import require

DOCS_PATH, REDOC_PATH = "/docs", "/redoc"
STATIC_PATH = "/static-offline-docs"
FASTAPI_DOCS_PATHS = frozenset({DOCS_PATH, f"{DOCS_PATH}/oauth2-redirect", REDOC_PATH})
"""FastAPI's CDN-backed pages, which ``add_offline_docs`` replaces (the caller drops them first)."""


def add_offline_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from fastapi-offline's files."""
    static = files(require("fastapi_offline", "server")) / "static"
    app.mount(STATIC_PATH, StaticFiles(directory=str(static)), name="offline-docs")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = f"{DOCS_PATH}/oauth2-redirect"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            with_google_fonts=False,
        )
