"""How the store pages its Chroma calls: Chroma caps the ids of one call, and a long `$in` filter is slow."""
from __future__ import annotations

from typing import Iterable

PAGE = 5000        # ids per get by id, rows per page of a full read
IN_BATCH = 500     # values per `$in` filter


def batches(items: list, size: int) -> Iterable[list]:
    """`items` in consecutive lists of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
