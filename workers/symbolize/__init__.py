"""Symbolizer: kernel stack traces to source lines, like scripts/decode_stacktrace.sh, from an index.

Public API (no Django here; the app's Celery tasks call these):
- `identify(path) -> Identity(build_id, release, arch, banner)` for a vmlinux/.ko (also .xz/.gz/.zst)
- `build_index(vmlinux_path, index_dir, progress=callable(done, total)) -> IndexInfo`
- `Symbolizer(vmlinux_or_index_dir, modules_dir=None, cache_dir=None)`
- `decode_frames(text, symbolizer) -> list[DecodedFrame]`, `decode_log(text, symbolizer) -> str`
- `SymbolizeError`: every unusable input (bad ELF, truncated, missing file) raises this, with a message.
"""

from .decode import Symbolizer, decode_frames, decode_log, index_for
from .elffile import Identity, SymbolizeError, identify
from .frames import DecodedFrame, SourceLocation
from .index import IndexInfo, build_index
from .lookup import Index, Location
from .modules import build_module_index

__all__ = ["DecodedFrame", "Identity", "Index", "IndexInfo", "Location", "SourceLocation", "SymbolizeError",
           "Symbolizer", "build_index", "build_module_index", "decode_frames", "decode_log", "identify",
           "index_for"]
