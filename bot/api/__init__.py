"""The HTTP API: thin routes that translate JSON to DutyDesk calls and errors to 4xx/5xx once.

app.py builds the app; routes/ holds one router per resource; schemas.py the JSON shapes; deps.py
the dependencies routes share; errors.py the API's own errors.
"""
from bot.api.app import Mount, allowed_hosts, create_app

__all__ = ["Mount", "allowed_hosts", "create_app"]
