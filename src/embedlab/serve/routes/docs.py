"""``GET /docs``: Swagger UI, its JavaScript and CSS served from this server (no CDN), so the
API docs work with no internet.

The assets come from the ``swagger-ui-bundle`` package (in the ``serve`` extra), served under
``/docs-assets/`` as FastAPI documents for self-hosting (``get_swagger_ui_html`` with
``swagger_js_url`` / ``swagger_css_url``). Without that package ``/docs`` falls back to
FastAPI's default page, which loads the assets from a CDN.
"""

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = "/docs-assets"
#: the only files served from the bundle, with their media types
FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
         "favicon-32x32.png": "image/png"}


def bundle_dir() -> Path | None:
    """The Swagger UI files of the ``swagger-ui-bundle`` package, or None without it."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
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
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png")

    @api.get(ASSETS + "/{name}", include_in_schema=False)
    async def swagger_asset(name: str) -> FileResponse:
        if assets is None or name not in FILES:
            raise HTTPException(404, f"no docs asset '{name}'")
        return FileResponse(assets / name, media_type=FILES[name],
                            headers={"Cache-Control": "public, max-age=86400"})

    return api
