"""Commands about serving: the production start check (filled in by issue 8)."""

from flask import Flask


def register(app: Flask) -> None:
    pass
