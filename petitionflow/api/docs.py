"""``/docs``: Swagger UI served from this process, from the files of the ``fastapi-offline`` wheel.

Nothing is loaded from another host: the page, its script, its style sheet and its icon come from
here, and its ``Content-Security-Policy`` allows nothing else (the one inline script by its hash).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def _assets_dir() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline").joinpath("static")))


def _policy(html: str) -> str:
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline
    )
    # Swagger UI sets style attributes as it renders, hence 'unsafe-inline' for styles only.
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


def install(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` over ``app.openapi_url``; build ``app`` with ``docs_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=_assets_dir()), name="docs-assets")
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} — API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},
    )
    html = bytes(page.body).decode()
    policy = _policy(html)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})
