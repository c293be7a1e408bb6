"""The channel REST API (`/api/v1`), a FastAPI app mounted into the Reflex backend."""

from dashboard.api.app import create_api

__all__ = ["create_api"]
