"""``GET /``: the self-contained web page (no CDN, no build step)."""

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse


def read_page() -> str:
    return resources.files("embedlab.serve").joinpath("static/index.html").read_text("utf-8")


def router() -> APIRouter:
    page = read_page()
    api = APIRouter()

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    return api
