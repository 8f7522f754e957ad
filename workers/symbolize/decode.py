"""Symbolizing logs: decode_stacktrace.sh's rewriting of frame lines, answered from the indexes.

`Symbolizer` holds the vmlinux index (built on first use into a cache keyed by build-id) and module
indexes (built when a module frame first needs one). `decode_frames` gives structured frames for the
app; `decode_log` gives the text decode_stacktrace.sh would print (plus a decodecode block after every
Code: line, from workers.codedecode).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from workers.loglines import log_lines

from .elffile import SymbolizeError, identify, is_compressed, uncompressed
from .frames import (
    RAW_ADDRESS,
    DecodedFrame,
    SourceLocation,
    is_frame_line,
    is_raw_frame_line,
    kernel_offset,
    parse_symbol,
    split_line,
)
from .layout import FORMAT_VERSION
from .lookup import Index, Location

# The index builder (numpy, pyelftools), the lazy reader and the module indexer are imported where they
# are used: a decode with a ready index needs none of them, and importing them costs more than it.
if TYPE_CHECKING:
    from .index import IndexInfo, ProgressFn
    from .lazy import LazyIndex

BANNER_IN_LOG = re.compile(r"Linux version (\S+) \(")


def default_cache_dir() -> Path:
    env = os.environ.get("TRIAGE_SYMBOL_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "triage" / "symbols"


def _path_key(path: Path) -> str:
    import hashlib

    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{FORMAT_VERSION}".encode()).hexdigest()


def index_for(vmlinux: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None,
              progress: ProgressFn | None = None, lazy: bool = False) -> Index | LazyIndex:
    """The index of `vmlinux` (or of an index directory), building it into the cache if needed.

    With `lazy`, a vmlinux whose index is not built yet is answered CU by CU (LazyIndex) instead."""
    path = Path(vmlinux)
    if path.is_dir():
        return Index(path)
    if not path.exists():
        raise SymbolizeError(f"{path}: no such file")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    seen = cache / "paths" / (_path_key(path) + ".json")
    key = None
    if seen.exists():
        key = json.loads(seen.read_text()).get("key")
    if key is None:
        from .modules import module_cache_key

        ident = identify(path)
        key = ident.build_id or ("sha1-" + module_cache_key(path))
    index_dir = cache / "builds" / key
    if not (index_dir / "meta.json").exists() or json.loads((index_dir / "meta.json").read_text()).get(
            "format") != FORMAT_VERSION:
        from .custore import store_dir_for

        if lazy and not is_compressed(path):
            from .lazy import LazyIndex

            return LazyIndex(path, store_dir_for(index_dir))
        from .index import build_index

        build_index(path, index_dir, progress)
    seen.parent.mkdir(parents=True, exist_ok=True)
    seen.write_text(json.dumps({"key": key, "path": str(path)}))
    return Index(index_dir)


class Resolved(NamedTuple):
    address: int
    locations: list[Location]
    symbol_size: int | None
    mismatch: bool
    function: str | None = None


class Symbolizer:
    """Answers for one kernel build: its vmlinux index and (lazily) its modules' indexes."""

    def __init__(self, vmlinux: str | os.PathLike[str] | Index | LazyIndex,
                 modules_dir: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None,
                 progress: ProgressFn | None = None, lazy: bool = False) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.index: Index | LazyIndex = vmlinux if not isinstance(vmlinux, str | os.PathLike) else index_for(
            vmlinux, self.cache_dir, progress, lazy)
        self.modules_dir = modules_dir
        self._modules: dict[str, Index | None] = {}
        self.errors: dict[str, str] = {}
        self.kaslr: int | None = None

    @property
    def arch(self) -> str:
        return self.index.meta.get("arch") or "x86_64"

    def module(self, name: str) -> Index | None:
        if name in self._modules:
            return self._modules[name]
        from .modules import build_module_index, find_module, module_cache_key

        found = None
        try:
            ko = find_module(self.modules_dir, name, self.cache_dir / "ko")
        except SymbolizeError as exc:
            self.errors[name] = str(exc)
            ko = None
        if ko is None:
            self.errors.setdefault(name, f"module {name}: no {name}.ko in the modules folder")
        else:
            try:
                index_dir = self.cache_dir / "modules" / f"{name}-{module_cache_key(ko)}"
                if not (index_dir / "meta.json").exists() or json.loads(
                        (index_dir / "meta.json").read_text()).get("format") != FORMAT_VERSION:
                    build_module_index(ko, index_dir)
                found = Index(index_dir)
            except SymbolizeError as exc:
                self.errors[name] = str(exc)
        self._modules[name] = found
        return found

    def resolve(self, name: str, offset: int, size: int | None, module: str = "") -> Resolved | None:
        """`name+offset/size [module]` -> looked-up address and inline chain, as decode_stacktrace.sh does:
        the base is the first t/T symbol of that name and the address is base+offset (not minus one)."""
        index = self.module(module) if module else self.index
        if index is None:
            return None
        base = index.symbol_address(name)
        candidates = index.symbols_named(name)
        if base is None and not name.startswith(".") and index.meta.get("ppc64_elfv1"):
            candidates = index.symbols_named("." + name)  # ELFv1: the code symbol is the dot-name
            base = index.symbol_address("." + name)
        if base is None and candidates:
            base = candidates[0][0]  # weak symbols: not found by the script, still the right function
        if base is None:
            return None
        sym_size = next((s for a, s, _t in candidates if a == base), None)
        # the kernel prints the distance to the next symbol; ELF st_size may be smaller (padding)
        mismatch = size is not None and bool(candidates) and all(
            size != s and size not in index.kallsyms_sizes(a) for a, s, _t in candidates)
        addr = base + offset
        return Resolved(addr, index.lookup(addr), sym_size, mismatch)

    def resolve_address(self, address: int) -> Resolved | None:
        """A raw vmlinux address (as printed, KASLR offset removed when known)."""
        addr = address - (self.kaslr or 0)
        sym = self.index.symbol_at(addr)
        locs = self.index.lookup(addr)
        if sym is None or not locs:  # not a code address of this build (user space, a module, ...)
            return None
        name, start, size = sym if sym else (None, addr, 0)
        return Resolved(addr, locs, size or None, False, function=name)


def _format_code(index: Index | LazyIndex, locations: list[Location]) -> str:
    """addr2line -i output joined on one line as the script does (build directory stripped)."""
    parts = []
    disc = locations[0].discriminator if locations else 0
    for loc in locations:
        text = f"{index.relative(loc.file)}:{loc.line if loc.line else '?'}"
        if disc:  # addr2line repeats the innermost row's discriminator on every inlined level
            text += f" (discriminator {disc})"
        parts.append(text)
    return " ".join(parts)


def _derive_kaslr(lines: list[str], symbolizer: Symbolizer) -> int | None:
    """KASLR offset from `Kernel Offset:` or from a frame that shows both an address and a symbol."""
    for line in lines:
        off = kernel_offset(line)
        if off is not None:
            return off
    for line in lines:
        if not is_frame_line(line):
            continue
        split = split_line(line)
        parsed = parse_symbol(split.symbol) if split.symbol else None
        if split.address is None or split.module or not parsed or parsed[2] is None:
            continue
        base = symbolizer.index.symbol_address(parsed[1])
        if base is not None:
            return split.address - (base + parsed[2])
    return None


def decode_frames(text: str, symbolizer: Symbolizer) -> list[DecodedFrame]:
    """Every line decode_stacktrace.sh would rewrite, decoded, in log order."""
    lines = log_lines(text)
    symbolizer.kaslr = _derive_kaslr(lines, symbolizer)
    prefetch = getattr(symbolizer.index, "prefetch", None)
    if prefetch is not None:  # a lazy index: read the CUs of every frame at once, on every core
        prefetch(_vmlinux_addresses(lines, symbolizer))
    frames = []
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if is_frame_line(line) or is_raw_frame_line(line):
            frames.append(_decode_line(i, line, symbolizer))
    return frames


def _vmlinux_addresses(lines: list[str], symbolizer: Symbolizer) -> list[int]:
    """The vmlinux addresses the frame lines will look up (`func+off` outside modules)."""
    out = []
    for line in lines:
        if not is_frame_line(line):
            continue
        split = split_line(line.rstrip("\r"))
        parsed = parse_symbol(split.symbol) if split.symbol and not split.module else None
        if parsed is not None:
            base = symbolizer.index.symbol_address(parsed[1])
            if base is not None:
                out.append(base + (parsed[2] or 0))
    return out


def _decode_line(i: int, line: str, symbolizer: Symbolizer) -> DecodedFrame:
    split = split_line(line)
    frame = DecodedFrame(line=i, text=line, module=split.module or None, reliable=not split.unreliable)
    prefix = " ".join(split.words)
    tail = " (unreliable)" if split.unreliable else ""

    def emit(symbol: str) -> str:
        body = f"{symbol} {split.module}" + tail
        return f"{prefix} {body}" if prefix else body

    stripped = split.symbol.removeprefix("(").removesuffix(")")
    frame.reliable = frame.reliable and not any(w == "?" for w in split.words[-1:])
    if split.module and symbolizer.module(split.module) is None:
        frame.note = symbolizer.errors.get(split.module, "module not found")
        frame.text = emit(split.symbol)  # the script leaves the symbol as it was
        return frame
    if split.module and split.buildid:
        mod_index = symbolizer.module(split.module)
        built = mod_index.meta.get("build_id") if mod_index is not None else None
        if built and built != split.buildid:
            frame.mismatch = True
            frame.note = f"module {split.module} build id {split.buildid} is not the .ko's {built}"
    parsed = parse_symbol(split.symbol)
    after_segment = stripped.split(":", 1)[-1] if ":" in stripped else stripped  # printed on failure
    if parsed is None:
        frame.text = emit(after_segment)
        frame.note = "no symbol"
        return frame
    segment, name, offset, size = parsed
    frame.function, frame.offset, frame.size = name, offset, size
    resolved = symbolizer.resolve(name, offset or 0, size, split.module)
    index = symbolizer.module(split.module) if split.module else symbolizer.index
    if resolved is None and not split.module and RAW_ADDRESS.match(name):
        resolved = symbolizer.resolve_address(int(RAW_ADDRESS.match(name).group(1), 16))
        if resolved is None:  # the script leaves raw addresses alone: so do we when we cannot do better
            frame.text = line
            frame.note = "raw address outside this build's code"
            return frame
        frame.function = name = resolved.function or resolved.locations[-1].function or name
    if resolved is None:
        frame.note = "no such symbol in the build"
        frame.text = emit(after_segment)
        return frame
    frame.address, frame.symbol_size = resolved.address, resolved.symbol_size
    frame.mismatch = frame.mismatch or resolved.mismatch
    if not resolved.locations:
        frame.note = "no line information at this address"
        answer = index.no_line_answer(resolved.address) if index is not None else None
        # addr2line prints `file.c:?` / `??:?` here and the script keeps it; only `??:0` is a failure
        frame.text = emit(f"{segment}{name} ({answer})" if answer else after_segment)
        return frame
    assert index is not None
    last = len(resolved.locations) - 1
    # no DWARF function (assembly, static-call trampolines): the symbol table's name for the outermost
    frame.locations = [SourceLocation(loc.function or (name if k == last else None),
                                      index.relative(loc.file), loc.line, loc.discriminator)
                       for k, loc in enumerate(resolved.locations)]
    frame.text = emit(f"{segment}{name} ({_format_code(index, resolved.locations)})")
    return frame


def build_mismatch(text: str, symbolizer: Symbolizer) -> str | None:
    """Why the log cannot come from this build, when its `Linux version` banner names another release."""
    m = BANNER_IN_LOG.search(text)
    release = symbolizer.index.meta.get("release")
    if m and release and m.group(1) != release:
        return f"the log is from {m.group(1)}, this vmlinux is {release}"
    return None


def decode_log(text: str, symbolizer: Symbolizer,
               code_decoder: Callable[[str, str], str | None] | None = None,
               frames: list[DecodedFrame] | None = None) -> str:
    """The log with frame lines rewritten like decode_stacktrace.sh and a decodecode block after each
    Code: line (from `code_decoder(line, arch)`, default workers.codedecode.decode_code_line).
    `frames` may pass decode_frames(text, symbolizer) when the caller has it already."""
    by_line = {f.line: f for f in (frames if frames is not None else decode_frames(text, symbolizer))}
    out = []
    for i, raw in enumerate(log_lines(text)):
        if i in by_line:
            out.append(by_line[i].text)
            continue
        out.append(raw.rstrip("\r"))
        if "Code:" in raw:
            if code_decoder is None:  # imported only for a log that has Code: lines (capstone is heavy)
                from workers.codedecode import decode_code_line as code_decoder  # type: ignore[no-redef]
            try:
                block = code_decoder(raw.rstrip("\r"), symbolizer.arch)
            except Exception as exc:  # the disassembler is another module: never lose the log for it
                block = f"(Code: line not decoded: {type(exc).__name__}: {exc})"
            if block:
                out.append(block.rstrip("\n"))
    return "\n".join(out) + "\n"


def describe(info: IndexInfo) -> str:
    return (f"{info.release or '?'} {info.arch} build-id {info.build_id or '?'}: {info.cus} CUs, "
            f"{info.line_rows} line rows, {info.functions} functions, {info.symbols} symbols in "
            f"{info.seconds}s, max RSS {info.max_rss_mib} MiB")


__all__ = ["Symbolizer", "decode_frames", "decode_log", "index_for", "uncompressed", "describe"]
