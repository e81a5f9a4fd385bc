"""The HTTP doors: the native API under ``/v1`` and Open311 GeoReport v2 under ``/open311/v2``."""

from petitionflow.api.app import create_app
from petitionflow.api.server import serve

__all__ = ["create_app", "serve"]
