"""Errors a user can act on: each prints as one plain line saying where and what to do."""
from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot be opened, written or read; the message says where and what to do."""


class RayError(RuntimeError):
    """Ingest on Ray cannot start: Ray is not installed, or the cluster cannot be reached or is too small."""
