"""The API's routes, one APIRouter per resource, gathered into `api_router` for create_app to include."""
from __future__ import annotations

from fastapi import APIRouter

from bot.api.routes import aliases, ask, audit, clauses, documents, feedback, gaps, health, owners, verify, web

api_router = APIRouter()
# The order is the OpenAPI document's order of paths; for routing it would matter only if two routes
# could match one path, and none can.
for _module in (ask, clauses, verify, owners, health, web, documents, audit, feedback, gaps, aliases):
    api_router.include_router(_module.router)
