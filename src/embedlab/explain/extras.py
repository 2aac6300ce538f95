"""Optional libraries of the ``explain`` extra, imported only when a method needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from embedlab.errors import ConfigError


def require(module: str, method: str) -> ModuleType:
    """Import ``module`` or fail in one line naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ConfigError(f"method '{method}' needs the '{package}' package: "
                          "pip install 'embedlab[explain]'") from None
