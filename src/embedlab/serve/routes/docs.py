"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc), their JavaScript and CSS served from
this server (no CDN), so the API docs work with no internet.

The assets (Swagger UI 5, which reads FastAPI's OpenAPI 3.1) come from the ``fastapi-offline``
package (in the ``serve`` extra; only its asset files are used), served under ``/docs-assets/``
as FastAPI documents for self-hosting (``get_swagger_ui_html`` with ``swagger_js_url`` /
``swagger_css_url``, ``get_redoc_html`` with ``redoc_js_url`` and no Google fonts). Without that
package both pages fall back to FastAPI's defaults, which load the assets from a CDN.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = "/docs-assets"
#: the only files served from the bundle, with their media types
FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
         "redoc.standalone.js": "text/javascript", "favicon.png": "image/png"}


def bundle_dir() -> Path | None:
    """The asset files of the ``fastapi-offline`` package, or None without it."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).parent / "static"
    return path if all((path / name).is_file() for name in FILES) else None


def router(openapi_url: str, title: str) -> APIRouter:
    api = APIRouter()
    assets = bundle_dir()

    def local(request: Request, **names: str) -> dict[str, Any]:
        """The schema URL, and each asset's URL under this server (none without the package)."""
        root = request.scope.get("root_path", "").rstrip("/")
        urls: dict[str, Any] = {"openapi_url": root + openapi_url}
        if assets is not None:
            urls |= {key: f"{root}{ASSETS}/{name}" for key, name in names.items()}
        return urls

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(title=f"{title} - API docs", **local(
            request, swagger_js_url="swagger-ui-bundle.js", swagger_css_url="swagger-ui.css",
            swagger_favicon_url="favicon.png"))

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(title=f"{title} - ReDoc", with_google_fonts=False, **local(
            request, redoc_js_url="redoc.standalone.js", redoc_favicon_url="favicon.png"))

    @api.get(ASSETS + "/{name}", include_in_schema=False)
    async def swagger_asset(name: str) -> FileResponse:
        if assets is None or name not in FILES:
            raise HTTPException(404, f"no docs asset '{name}'")
        return FileResponse(assets / name, media_type=FILES[name],
                            headers={"Cache-Control": "public, max-age=86400"})

    return api
