"""What a door (bot/, sms/, wechat/) holds of the database: an opaque handle it passes to core
functions, and the executor it runs the dialogue engine's transactions on. The doors run no SQL:
every query is a function of the core package it belongs to, taking this handle."""

from sqlalchemy.engine import Engine as Database

from core.persistence.db import writer_executor

__all__ = ["Database", "writer_executor"]
