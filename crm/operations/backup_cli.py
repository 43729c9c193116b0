"""Commands for backups, restores and moving to PostgreSQL (filled in by issue 8)."""

from flask import Flask


def register(app: Flask) -> None:
    pass
