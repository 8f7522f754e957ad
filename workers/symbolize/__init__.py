"""Symbolizer: kernel stack traces to source lines, like scripts/decode_stacktrace.sh, from an index.

Public API (no Django here; the app's Celery tasks call these):
- `identify(path) -> Identity(build_id, release, arch, banner)` for a vmlinux/.ko (also .xz/.gz/.zst)
- `build_index(vmlinux_path, index_dir, progress=callable(done, total), workers=None) -> IndexInfo`
  (atomic; compile units read by one process per core; reuses the CUs a lazy reader kept in
  `store_dir_for(index_dir)`); `Index(index_dir)` maps one (one mmap, nothing parsed: ~1 ms)
- `Symbolizer(Index | index_dir | vmlinux, modules_dir=None, cache_dir=None, lazy=False)`: modules_dir
  is a folder of .ko(.xz/.gz/.zst) or a tarball of one; module indexes are built into cache_dir on
  first use; `lazy=True` with a vmlinux that has no index yet answers CU by CU (`LazyIndex`), keeping
  each CU it reads in `store_dir_for(index_dir)` (`CUStore`) for the next lazy reader and the build
- `decode_frames(text, symbolizer) -> list[DecodedFrame]` (function, offset/size, module, locations
  innermost first, mismatch flag), `decode_log(text, symbolizer) -> str` (decode_stacktrace.sh's text
  plus decodecode blocks), `decode.build_mismatch(text, symbolizer)` (log from another release)
- `SymbolizeError`: every unusable input (bad ELF, truncated, missing file) raises this, with a message.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> submodule. Resolved on first access (PEP 562) so that `from workers.symbolize import Index`
# loads the reader alone: a `triage decode` process must not pay for numpy and pyelftools.
_EXPORTS = {
    "Symbolizer": "decode", "decode_frames": "decode", "decode_log": "decode", "index_for": "decode",
    "Identity": "elffile", "SymbolizeError": "elffile", "identify": "elffile",
    "DecodedFrame": "frames", "SourceLocation": "frames",
    "IndexInfo": "index", "build_index": "index",
    "LazyIndex": "lazy", "Index": "lookup", "Location": "lookup", "build_module_index": "modules",
    "CUStore": "custore", "store_dir_for": "custore",
}
__all__ = ["CUStore", "DecodedFrame", "Identity", "Index", "IndexInfo", "LazyIndex", "Location", "SourceLocation",
           "SymbolizeError", "Symbolizer", "build_index", "build_module_index", "decode_frames", "decode_log",
           "identify", "index_for", "store_dir_for"]
assert sorted(__all__) == sorted(_EXPORTS)

if TYPE_CHECKING:
    from .custore import CUStore, store_dir_for
    from .decode import Symbolizer, decode_frames, decode_log, index_for
    from .elffile import Identity, SymbolizeError, identify
    from .frames import DecodedFrame, SourceLocation
    from .index import IndexInfo, build_index
    from .lazy import LazyIndex
    from .lookup import Index, Location
    from .modules import build_module_index


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
