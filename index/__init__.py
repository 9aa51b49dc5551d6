"""Articles -> stored, embedded, dated chunks. Never imports qa/."""
from index.articles import Article, Rejection
from index.ingest import IngestReport, ingest, remove
from index.settings import Settings, SettingsError
from index.store import Store, StoreError, make_store, open_store

__all__ = ["Article", "Rejection", "IngestReport", "ingest", "remove", "Settings", "SettingsError", "Store",
           "StoreError", "make_store", "open_store"]
