"""Symbol demangling for frame names (spec §6.6): Rust v0 (`_R...`), legacy Rust (`_ZN...17h<hash>E`)
and Itanium C++ (`_Z...`) names, printed without parameters and without crate hashes, the way
syzkaller's demangler prints them. A name that does not demangle is kept as it is.
"""

from __future__ import annotations

import functools
import re

_LEGACY_HASH = re.compile(r"17h[0-9a-f]{16}E\Z")
_LEGACY_ESCAPES = {"$SP$": "@", "$BP$": "*", "$RF$": "&", "$LT$": "<", "$GT$": ">", "$LP$": "(", "$RP$": ")",
                   "$C$": ",", "$u7e$": "~", "$u20$": " ", "$u27$": "'", "$u3d$": "=", "$u5b$": "[",
                   "$u5d$": "]", "$u7b$": "{", "$u7d$": "}", "$u3b$": ";", "$u2b$": "+", "$u22$": '"'}
_BASIC = {"a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32", "h": "u8", "i": "isize",
          "j": "usize", "l": "i32", "m": "u32", "n": "i128", "o": "u128", "s": "i16", "t": "u16", "u": "()",
          "v": "...", "x": "i64", "y": "u64", "z": "!", "p": "_"}


class _Fail(Exception):
    pass


@functools.lru_cache(maxsize=16384)
def demangle(name: str) -> str:
    """The readable form of a mangled symbol; unmangled or undecodable names come back unchanged."""
    if not name.startswith(("_R", "_Z")):
        return name
    try:
        if name.startswith("_R"):
            return _V0(name).symbol()
        if name.startswith("_ZN") and _LEGACY_HASH.search(name):
            return _legacy_rust(name)
        return _itanium(name)
    except (_Fail, IndexError, ValueError, RecursionError):
        return name


def _names(body: str) -> tuple[list[str], str]:
    parts = []
    while body and body[0].isdigit():
        k = 0
        while body[k].isdigit():
            k += 1
        length = int(body[:k])
        if length <= 0 or k + length > len(body):
            raise _Fail
        parts.append(body[k:k + length])
        body = body[k + length:]
    return parts, body


def _legacy_rust(name: str) -> str:
    parts, rest = _names(name[3:])
    if not parts or not rest.startswith("E") and rest:
        raise _Fail
    parts = parts[:-1]  # the h<hash> element
    out = []
    for part in parts:
        if part.startswith("_$"):
            part = part[1:]
        part = part.replace("..", "::")
        for k, v in _LEGACY_ESCAPES.items():
            part = part.replace(k, v)
        out.append(part)
    return "::".join(out)


def _itanium(name: str) -> str:
    # Enough for kernel symbols: plain `_Z<len><name>...` and nested `_ZN<len><name>...E...`.
    if name.startswith("_ZN"):
        body = name[3:]
        while body[:1] in ("K", "V", "r"):  # cv-qualifiers of member functions
            body = body[1:]
        parts, rest = _names(body)
        if not parts or not rest.startswith("E"):
            raise _Fail
        return "::".join(parts)
    parts, _rest = _names(name[2:])
    if len(parts) < 1:
        raise _Fail
    return parts[0]


class _V0:
    """Rust v0 mangling (RFC 2603), printed like rustc-demangle's alternate form."""

    def __init__(self, sym: str) -> None:
        self.s = sym
        self.i = 2
        while self.i < len(sym) and sym[self.i].isdigit():  # encoding version
            self.i += 1
        self.depth = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        if self.i >= len(self.s):
            raise _Fail
        c = self.s[self.i]
        self.i += 1
        return c

    def eat(self, c: str) -> bool:
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        value = 0
        while True:
            c = self.next()
            if c == "_":
                return value + 1
            if c.isdigit():
                d = ord(c) - 48
            elif c.islower():
                d = ord(c) - 97 + 10
            elif c.isupper():
                d = ord(c) - 65 + 36
            else:
                raise _Fail
            value = value * 62 + d

    def disambiguator(self) -> int:
        return self.base62() + 1 if self.eat("s") else 0

    def ident(self) -> tuple[str, int]:
        dis = self.disambiguator()
        puny = self.eat("u")
        start = self.i
        while self.peek().isdigit():
            self.i += 1
        if start == self.i:
            raise _Fail
        length = int(self.s[start:self.i])
        self.eat("_")
        text = self.s[self.i:self.i + length]
        if len(text) != length:
            raise _Fail
        self.i += length
        if puny:
            text = "punycode{" + text + "}"
        return text, dis

    def backref(self, fn):
        target = self.base62()
        saved = self.i
        self.i = target + 2 if target + 2 < saved else saved
        if self.i == saved:
            raise _Fail
        self.depth += 1
        if self.depth > 50:
            raise _Fail
        try:
            return fn()
        finally:
            self.depth -= 1
            self.i = saved

    def symbol(self) -> str:
        out = self.path()
        # An instantiating crate and vendor suffix may follow; neither is printed.
        return out

    def path(self, in_value: bool = True) -> str:
        """A path; generic arguments read `::<...>` in value position and `<...>` inside a type."""
        c = self.next()
        if c == "C":
            return self.ident()[0]
        if c == "M":
            self.disambiguator()
            self.path()
            return "<" + self.type() + ">"
        if c == "X":
            self.disambiguator()
            self.path()
            ty = self.type()
            return "<" + ty + " as " + self.path(False) + ">"
        if c == "Y":
            ty = self.type()
            return "<" + ty + " as " + self.path(False) + ">"
        if c == "N":
            ns = self.next()
            parent = self.path(in_value)
            name, dis = self.ident()
            if ns.isupper():
                kind = {"C": "closure", "S": "shim"}.get(ns, ns)
                return f"{parent}::{{{kind}{':' + name if name else ''}#{dis}}}"
            return f"{parent}::{name}" if name else parent
        if c == "I":
            base = self.path(in_value)
            args = []
            while not self.eat("E"):
                args.append(self.generic_arg())
            return base + ("::<" if in_value else "<") + ", ".join(args) + ">"
        if c == "B":
            return self.backref(lambda: self.path(in_value))
        raise _Fail

    def generic_arg(self) -> str:
        if self.eat("L"):
            self.base62()
            return "'_"
        if self.eat("K"):
            return self.const()
        return self.type()

    def const(self) -> str:
        if self.eat("B"):
            return self.backref(self.const)
        if self.eat("p"):
            return "_"
        ty = self.next()
        neg = self.eat("n")
        start = self.i
        while self.peek() != "_":
            self.next()
        digits = self.s[start:self.i]
        self.next()
        value = int(digits, 16) if digits else 0
        if ty == "b":
            return "true" if value else "false"
        if ty == "c":
            return repr(chr(value))
        return ("-" if neg else "") + str(value)

    def type(self) -> str:
        c = self.peek()
        if c in _BASIC:
            self.i += 1
            return _BASIC[c]
        self.i += 1
        if c == "R" or c == "Q":
            if self.eat("L"):
                self.base62()
            return ("&" if c == "R" else "&mut ") + self.type()
        if c == "P" or c == "O":
            return ("*const " if c == "P" else "*mut ") + self.type()
        if c == "A":
            ty = self.type()
            return f"[{ty}; {self.const()}]"
        if c == "S":
            return f"[{self.type()}]"
        if c == "T":
            items = []
            while not self.eat("E"):
                items.append(self.type())
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if c == "F":
            if self.eat("G"):
                self.base62()
            unsafe = self.eat("U")
            if self.eat("K") and not self.eat("C"):
                self.ident()  # the ABI name ("C" is extern "C")
            args = []
            while not self.eat("E"):
                args.append(self.type())
            ret = self.type()
            return ("unsafe " if unsafe else "") + "fn(" + ", ".join(args) + ")" + ("" if ret == "()" else " -> " + ret)
        if c == "D":
            if self.eat("G"):
                self.base62()
            bounds = []
            while not self.eat("E"):
                bound = self.path(False)
                bindings = []
                while self.eat("p"):
                    name = self.ident()[0]
                    bindings.append(f"{name} = {self.type()}")
                if bindings:  # associated types join the trait's own generic arguments
                    bound = bound[:-1] + ", " if bound.endswith(">") else bound + "<"
                    bound += ", ".join(bindings) + ">"
                bounds.append(bound)
            if self.eat("L"):
                self.base62()
            return "dyn " + " + ".join(bounds)
        if c == "B":
            return self.backref(self.type)
        self.i -= 1
        return self.path(False)
