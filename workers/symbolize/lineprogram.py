"""The fast reader's .debug_line program: the file table named as addr2line names files, and the rows
decoded by a plain state machine (pyelftools takes about 70 us a row through `construct`)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .dwarfbytes import Corrupt, Unsupported, cstring, sleb, uleb
from .dwarfcodes import (
    F_BLOCK,
    F_DATA1,
    F_DATA2,
    F_DATA4,
    F_DATA8,
    F_DATA16,
    F_LINE_STRP,
    F_STRING,
    F_STRP,
    F_UDATA,
)

if TYPE_CHECKING:
    from .fastdwarf import FastDwarf


class LineProgram:
    """A .debug_line program: file table as addr2line names files, rows through `rows()`."""

    def __init__(self, fd: FastDwarf, offset: int, comp_dir: str) -> None:
        data = fd.s.get(".debug_line", b"")
        self.fd, self.data = fd, data
        u = fd._uint
        length = u(data, offset, 4)
        pos = offset + 4
        off_size = 4
        if length == 0xFFFFFFFF:
            length, pos, off_size = u(data, pos, 8), pos + 8, 8
        self.end = pos + length
        if self.end > len(data):
            raise Corrupt("truncated line program")
        version = u(data, pos, 2)
        pos += 2
        self.version = version
        self.addr_size = fd.default_addr_size
        if version >= 5:
            self.addr_size = data[pos]
            pos += 2
        header_length = u(data, pos, off_size)
        pos += off_size
        self.program = pos + header_length
        self.min_inst = data[pos]
        pos += 1
        if version >= 4:
            pos += 1  # maximum_operations_per_instruction (VLIW only)
        self.default_is_stmt = data[pos] != 0
        self.line_base = struct.unpack_from("b", data, pos + 1)[0]
        self.line_range = data[pos + 2]
        self.opcode_base = data[pos + 3]
        pos += 4
        self.std_lengths = list(data[pos:pos + self.opcode_base - 1])
        pos += self.opcode_base - 1
        if self.line_range == 0:
            raise Corrupt("line_range 0")
        if version >= 5:
            dirs, pos = self._entries(pos, off_size)
            files, pos = self._entries(pos, off_size)
            dir_names = [d.get(1, "") for d in dirs]
            paths = []
            for f in files:
                name = f.get(1, "")
                di = f.get(2, 0)
                directory = dir_names[di] if di < len(dir_names) else ""
                paths.append(_join(comp_dir, directory, name))
            self.file_base = 0
        else:
            dir_names = []
            while data[pos] != 0:
                end = data.index(b"\0", pos)
                dir_names.append(data[pos:end].decode("utf-8", "replace"))
                pos = end + 1
            pos += 1
            paths = []
            while data[pos] != 0:
                end = data.index(b"\0", pos)
                name = data[pos:end].decode("utf-8", "replace")
                di, pos = uleb(data, end + 1)
                _t, pos = uleb(data, pos)
                _s, pos = uleb(data, pos)
                directory = comp_dir if di == 0 else (dir_names[di - 1] if di - 1 < len(dir_names) else "")
                paths.append(_join(comp_dir, directory, name))
            self.file_base = 1
        self.files = paths

    def _entries(self, pos: int, off_size: int) -> tuple[list[dict[int, Any]], int]:
        data, u = self.data, self.fd._uint
        count = data[pos]
        pos += 1
        fmt = []
        for _ in range(count):
            ctype, pos = uleb(data, pos)
            form, pos = uleb(data, pos)
            fmt.append((ctype, form))
        n, pos = uleb(data, pos)
        # every entry takes at least one byte (all forms below do): a count beyond the program is crafted
        if n and (not fmt or n > self.end - pos):
            raise Corrupt(f"{n} line table entries in {max(self.end - pos, 0)} bytes")
        out = []
        s = self.fd.s
        for _ in range(n):
            entry: dict[int, Any] = {}
            for ctype, form in fmt:
                if form == F_STRING:
                    end = data.index(b"\0", pos)
                    v: Any = data[pos:end].decode("utf-8", "replace")
                    pos = end + 1
                elif form == F_LINE_STRP:
                    v = cstring(s.get(".debug_line_str", b""), u(data, pos, off_size))
                    pos += off_size
                elif form == F_STRP:
                    v = cstring(s.get(".debug_str", b""), u(data, pos, off_size))
                    pos += off_size
                elif form in (F_UDATA,):
                    v, pos = uleb(data, pos)
                elif form == F_DATA1:
                    v, pos = data[pos], pos + 1
                elif form == F_DATA2:
                    v, pos = u(data, pos, 2), pos + 2
                elif form == F_DATA4:
                    v, pos = u(data, pos, 4), pos + 4
                elif form == F_DATA8:
                    v, pos = u(data, pos, 8), pos + 8
                elif form == F_DATA16:
                    v, pos = None, pos + 16
                elif form == F_BLOCK:
                    ln, pos = uleb(data, pos)
                    v, pos = None, pos + ln
                else:
                    raise Unsupported(f"line table entry form {form:#x}")
                entry[ctype] = v
            out.append(entry)
        return out, pos

    def rows(self, rows: list[tuple[int, int, int, int]], keep: Callable[[int], bool]) -> None:
        """Append (address, file index or -1 at end_sequence, line, discriminator) like CUReader._rows."""
        data, pos, end = self.data, self.program, self.end
        u = self.fd._uint
        min_inst, line_base, line_range, opcode_base = self.min_inst, self.line_base, self.line_range, self.opcode_base
        std_lengths = self.std_lengths
        nfiles, file_base, v5 = len(self.files), self.file_base, self.version >= 5
        address, file, line, disc = 0, 1, 1, 0
        file_set = False
        keep_seq = None

        def emit(end_seq: bool) -> None:
            nonlocal keep_seq
            if keep_seq is None:
                keep_seq = keep(address)
            if keep_seq:
                if end_seq:
                    rows.append((address, -1, 0, 0))
                else:
                    # binutils starts a DWARF 5 sequence with file 0 until DW_LNS_set_file (see dwarfread)
                    f = file - file_base if file_set or not v5 else 0
                    rows.append((address, f if 0 <= f < nfiles else -2, line, disc))

        while pos < end:
            op = data[pos]
            pos += 1
            if op >= opcode_base:
                adj = op - opcode_base
                address += (adj // line_range) * min_inst
                line += line_base + adj % line_range
                emit(False)
                disc = 0
            elif op == 0:
                ln, pos = uleb(data, pos)
                if ln == 0:
                    continue
                sub = data[pos]
                nxt = pos + ln
                if sub == 1:
                    emit(True)
                    address, file, line, disc, file_set, keep_seq = 0, 1, 1, 0, False, None
                elif sub == 2:
                    address = u(data, pos + 1, ln - 1)
                elif sub == 4:
                    disc, _ = uleb(data, pos + 1)
                pos = nxt
            elif op == 1:
                emit(False)
                disc = 0
            elif op == 2:
                v, pos = uleb(data, pos)
                address += v * min_inst
            elif op == 3:
                v, pos = sleb(data, pos)
                line += v
            elif op == 4:
                file, pos = uleb(data, pos)
                file_set = True
            elif op == 8:
                address += ((255 - opcode_base) // line_range) * min_inst
            elif op == 9:
                address += u(data, pos, 2)
                pos += 2
            elif op in (6, 7, 10, 11):
                pass
            else:  # set_column, set_isa and unknown standard opcodes: skip their ULEB operands
                for _ in range(std_lengths[op - 1] if op - 1 < len(std_lengths) else 0):
                    _v, pos = uleb(data, pos)


def _join(comp_dir: str, directory: str, name: str) -> str:
    if name.startswith("/"):
        return name
    if directory and not directory.startswith("/") and comp_dir:
        directory = comp_dir + "/" + directory
    return directory + "/" + name if directory else name
