"""The endpoints, one router per idea; :func:`embedlab.serve.app.create_app` assembles them.

Each ``router(...)`` builds its endpoints for one app: the served models, the metrics and the
request models (which carry that app's limits) are given to it, not looked up globally.
"""

# No ``from __future__ import annotations`` in this package: FastAPI reads the endpoint
# annotations, and the request models are classes built per app.

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException
from fastapi import Path as PathParam

from embedlab.errors import unknown_name
from embedlab.serve.models import ServedModel


def served(models: Mapping[str, ServedModel], name: str) -> ServedModel:
    """The model served as ``name``; a 404 with the closest name otherwise."""
    try:
        return models[name]
    except KeyError:
        raise HTTPException(404, str(unknown_name("model", name, models))) from None


def model_name(models: Mapping[str, ServedModel]) -> Any:
    """The ``{name}`` path parameter: the served names are listed in the schema (docs, clients,
    fuzzers); any other name is a 404."""
    return PathParam(description="a served model's name (GET /v1/models lists them)",
                     json_schema_extra={"enum": list(models)})
