"""Symbolizer: kernel stack traces to source lines, like scripts/decode_stacktrace.sh, from an index.

Public API (no Django here; the app's Celery tasks call these):
- `identify(path) -> Identity(build_id, release, arch, banner)` for a vmlinux/.ko (also .xz/.gz/.zst)
- `build_index(vmlinux_path, index_dir, progress=callable(done, total)) -> IndexInfo` (atomic, ~30 s
  for a distribution kernel); `Index(index_dir)` loads one (memory-mapped, ~0.1 s)
- `Symbolizer(Index | index_dir | vmlinux, modules_dir=None, cache_dir=None, lazy=False)`: modules_dir
  is a folder of .ko(.xz/.gz/.zst) or a tarball of one; module indexes are built into cache_dir on
  first use; `lazy=True` with a vmlinux that has no index yet answers CU by CU (`LazyIndex`)
- `decode_frames(text, symbolizer) -> list[DecodedFrame]` (function, offset/size, module, locations
  innermost first, mismatch flag), `decode_log(text, symbolizer) -> str` (decode_stacktrace.sh's text
  plus decodecode blocks), `decode.build_mismatch(text, symbolizer)` (log from another release)
- `SymbolizeError`: every unusable input (bad ELF, truncated, missing file) raises this, with a message.
"""

from .decode import Symbolizer, decode_frames, decode_log, index_for
from .elffile import Identity, SymbolizeError, identify
from .frames import DecodedFrame, SourceLocation
from .index import IndexInfo, build_index
from .lazy import LazyIndex
from .lookup import Index, Location
from .modules import build_module_index

__all__ = ["DecodedFrame", "Identity", "Index", "IndexInfo", "LazyIndex", "Location", "SourceLocation", "SymbolizeError",
           "Symbolizer", "build_index", "build_module_index", "decode_frames", "decode_log", "identify",
           "index_for"]
