"""One-bit sketches of chunk vectors: the sign of each dimension, 48 bytes for a 384-dimension vector.

Why: in server mode an app process keeps no copy of the vectors, and a date window of a few thousand chunks at
1M (a week) cost 0.7-1.8 s to search by reading all its vectors from the server. The sketches live in the
keyword index beside each chunk's date (index/lexical.py), written with the chunk and followed through the
change log like its terms; a window's sketches are read from SQLite, ranked by Hamming distance to the
question's, and only a shortlist's real vectors are read from the server and compared exactly (binary
quantisation with rescoring). On 4,000 real RealTime QA chunk vectors, a shortlist of 10x the results asked for
held 0.991 of the exact top 40 and 0.999 of the top 10 (docs/performance.md, "Server mode").
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

WORD_BYTES = 8


def sketch(vector: Sequence[float] | np.ndarray) -> bytes:
    """The vector's signs as bits, padded to whole 64-bit words."""
    bits = np.packbits(np.asarray(vector, dtype=np.float32) > 0).tobytes()
    return bits + b"\0" * (-len(bits) % WORD_BYTES)


def as_matrix(sketches: Sequence[bytes]) -> np.ndarray:
    """Equal-length sketches as one uint64 matrix, a row each."""
    if not sketches:
        return np.zeros((0, 1), dtype=np.uint64)
    return np.frombuffer(b"".join(sketches), dtype=np.uint64).reshape(len(sketches), -1)


def hamming(query: bytes, matrix: np.ndarray) -> np.ndarray:
    """Bits differing between the query's sketch and each row."""
    x = matrix ^ np.frombuffer(query, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):   # numpy >= 2
        return np.bitwise_count(x).sum(axis=1, dtype=np.int64)
    return np.unpackbits(x.view(np.uint8), axis=1).sum(axis=1, dtype=np.int64)


def shortlist(query: bytes, matrix: np.ndarray, n: int) -> np.ndarray:
    """Row numbers of the `n` rows nearest the query by Hamming distance (all rows when there are no more)."""
    if len(matrix) <= n:
        return np.arange(len(matrix))
    return np.argpartition(hamming(query, matrix), n)[:n]
