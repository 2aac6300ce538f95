"""``GET /v1/models`` (the served models) and ``GET /v1/models/{name}`` (a model's card)."""

from collections.abc import Mapping

from fastapi import APIRouter

from embedlab.serve.errors import ERRORS
from embedlab.serve.models import ServedModel
from embedlab.serve.routes import model_name, served
from embedlab.serve.schemas import ModelCard, ModelList


def listing(m: ServedModel) -> dict:
    """One model's line in ``GET /v1/models``."""
    test = m.card["metrics"].get("test") or {}
    return {"name": m.name, "architecture": m.card["architecture"]["name"],
            "classes": m.card["classes"], "test_accuracy": test.get("accuracy"),
            "checksum": m.card["checksum"]["manifest_sha256"]}


def router(models: Mapping[str, ServedModel]) -> APIRouter:
    api = APIRouter()
    name_param = model_name(models)

    @api.get("/v1/models", response_model=ModelList, summary="the served models")
    async def list_models() -> dict:
        return {"models": [listing(m) for m in models.values()]}

    @api.get("/v1/models/{name}", response_model=ModelCard, summary="a model's card",
             responses={404: ERRORS[404]})
    async def model_card(name: str = name_param) -> dict:
        return served(models, name).card

    return api
