"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc), their JavaScript and CSS served from
this server (no CDN), so the API docs work with no internet.

The assets (Swagger UI 5, which reads FastAPI's OpenAPI 3.1) come from the ``fastapi-offline``
package (in the ``serve`` extra; only its asset files are used), served under ``/docs-assets/``
as FastAPI documents for self-hosting (``get_swagger_ui_html`` with ``swagger_js_url`` /
``swagger_css_url``, ``get_redoc_html`` with ``redoc_js_url`` and no Google fonts). Without that
package both pages fall back to FastAPI's defaults, which load the assets from a CDN.
"""

from pathlib import Path

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

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        if assets is None:
            return get_swagger_ui_html(openapi_url=root + openapi_url, title=f"{title} - API docs")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url, title=f"{title} - API docs",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png")

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        if assets is None:
            return get_redoc_html(openapi_url=root + openapi_url, title=f"{title} - ReDoc")
        return get_redoc_html(
            openapi_url=root + openapi_url, title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False)

    @api.get(ASSETS + "/{name}", include_in_schema=False)
    async def swagger_asset(name: str) -> FileResponse:
        if assets is None or name not in FILES:
            raise HTTPException(404, f"no docs asset '{name}'")
        return FileResponse(assets / name, media_type=FILES[name],
                            headers={"Cache-Control": "public, max-age=86400"})

    return api
