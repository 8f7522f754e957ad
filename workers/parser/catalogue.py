"""The formats, as data: syzkaller's oops groups (spec §3.1, §3.2) and their formats (spec §14), in
the spec's table order. Everything else in the parser interprets this table.

Spec: ../shared/reference/syzkaller-report-rules.md. Patterns use the spec's tokens (§0), expanded by
`rx`: {PC} a bracketed address, {FUNC} a captured symbol followed by "." or "+", {FUNC:name} the
same as a named capture, {SRC} a captured file:line, {TASK} up to 100 characters across lines,
{LINES} a lazy skip to a later line. Templates name captures ({type}) and the stack rule's frames
({FRAME}, {FRAME1}, {FRAME2}). Two backtracking wildcards in a row (`.*A.*B`) are written
`(?>.*?A).*B`: the same yes/no answer and match start, in linear time on long lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# §0 tokens.
PC = r"\[<?(?:0x)?[0-9a-f]+>?\]"
FUNC = r"([a-zA-Z0-9_]+)(?:\.|\+)"
SRC = r"([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)"
TASK = r"(?s:.{0,100}?)"
LINES = r"(?:.*\n)+?"
WS_TO_END = r"[ \t\n\v\f\r]*(?:\n|\Z)"  # §14 1.36/2.29/3.12: only whitespace to a newline or the end
_NAMED_FUNC = re.compile(r"\{FUNC:(\w+)\}")


def _expand(pattern: str) -> str:
    pattern = _NAMED_FUNC.sub(r"(?P<\1>[a-zA-Z0-9_]+)(?:\\.|\\+)", pattern)
    for token, value in (("{PC}", PC), ("{FUNC}", FUNC), ("{SRC}", SRC), ("{TASK}", TASK),
                         ("{WS_TO_END}", WS_TO_END)):
        pattern = pattern.replace(token, value)
    return pattern


def rx(pattern: str) -> re.Pattern[str] | MultiLine:
    """Compile a pattern written with the spec's tokens (ASCII classes, as in the original, §17)."""
    if "{LINES}" in pattern:
        return MultiLine(pattern)
    return re.compile(_expand(pattern), re.A)


class MultiLineMatch:
    def __init__(self, start: int, groups: dict[str, str | None], positional: list[str | None]) -> None:
        self._start = start
        self._groups = groups
        self._positional = positional

    def start(self) -> int:
        return self._start

    def groupdict(self) -> dict[str, str | None]:
        return self._groups

    def groups(self) -> tuple[str | None, ...]:
        return tuple(self._positional)


class MultiLine:
    """A pattern with {LINES} gaps, `A{LINES}.*B{LINES}.*C`, matched in linear time.

    Python's backtracking would retry every gap length for every earlier choice (quadratic or
    worse when the last piece is missing). Because no piece crosses a line end, the leftmost-first
    match is found greedily: A's leftmost match, then the first later line where B matches from the
    line start, then the first line after that where C does; if a piece finds no line, no later
    choice can succeed either (it would leave fewer lines), so the pattern does not match.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        pieces = pattern.split("{LINES}")
        self.pieces = [re.compile(_expand(p), re.A) for p in pieces]

    def search(self, text: str, pos: int = 0) -> MultiLineMatch | None:
        first = self.pieces[0].search(text, pos)
        if first is None:
            return None
        groups: dict[str, str | None] = dict(first.groupdict())
        positional = list(first.groups())
        end = first.end()
        for piece in self.pieces[1:]:
            at = text.find("\n", end)  # the rest of the current line and its newline
            m = None
            while at >= 0:
                m = piece.match(text, at + 1)
                if m is not None:
                    break
                at = text.find("\n", at + 1)
            if m is None:
                return None
            groups.update(m.groupdict())
            positional += m.groups()
            end = m.end()
        return MultiLineMatch(first.start(), groups, positional)


COLLECT = None  # §6.5 step: collect frames up to the next stack start (a FIND step is a `Find`)


_META = set("\\.^$*+?{}[]()|")


def _literal_prefix(pattern: str) -> str:
    out = []
    for c in pattern:
        if c in _META:
            break
        out.append(c)
    literal = "".join(out)
    # A quantifier after the prefix may make its last character optional.
    return literal[:-1] if len(literal) < len(pattern) and pattern[len(literal)] in "*?{" else literal


def _top_branches(pattern: str) -> list[str]:
    """The alternatives of a pattern at nesting depth 0 (a pattern that is one group is unwrapped)."""
    depth, out, cur, k = 0, [], [], 0
    while k < len(pattern):
        c = pattern[k]
        if c == "\\":
            cur.append(pattern[k:k + 2])
            k += 2
            continue
        depth += c in "([" and 1 or 0
        depth -= c in ")]" and 1 or 0
        if c == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        k += 1
    out.append("".join(cur))
    if len(out) == 1 and out[0].startswith("(") and out[0].endswith(")") and _top_branches(out[0][1:-1]) != [
            out[0][1:-1]]:
        return _top_branches(out[0][1:-1])
    return out


class Find:
    """A FIND step (§6.5): a one-line pattern and literals one of which every match contains, so
    that the text is scanned with str.find and the regex runs on candidate lines only."""

    def __init__(self, pattern: str, hints: tuple[str, ...] = ()) -> None:
        self.regex = rx(pattern)
        if not hints:
            hints = tuple(_literal_prefix(b) for b in _top_branches(self.regex.pattern))
            assert all(hints), f"give the hints of {pattern!r}"
        self.hints = hints

    def search(self, line: str):
        return self.regex.search(line) if any(h in line for h in self.hints) else None

    def search_text(self, text: str, pos: int, end: int):
        """The first match in text[pos:end] (whole lines; no match crosses a line end)."""
        while pos < end:
            at = min((a for a in (text.find(h, pos, end) for h in self.hints) if a >= 0), default=-1)
            if at < 0:
                return None
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            m = self.regex.search(text, max(line_start, pos), line_end)
            if m is not None:
                return m
            pos = line_end + 1
        return None

# §14 preamble: the RIP-line and the Call-Trace line.
RIP_LINE = (r"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{PC} +){0,2}{FUNC}|(?:[0-9]+:)?0x[0-9a-f]+"
            r"|(?:[0-9]+:)?{PC} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))")
RIP_HINTS = ("IP", "pc ", "PC is at")
RIP = Find(RIP_LINE, RIP_HINTS)
CALL_TRACE = Find(r"Call Trace:|Call trace:|Backtrace:")


@dataclass(frozen=True)
class Stack:
    """A stack rule (§6): steps (FIND regexes and COLLECTs), fallback steps, extra skips, extractor."""

    steps: tuple
    fallback: tuple | None = None
    skip: tuple[str, ...] = ()
    extractor: str | None = None  # None (first surviving candidate) | "stall" (§8.1) | "hung" (§8.2)

    def with_(self, *, skip: tuple[str, ...] = (), extractor: str | None = None) -> Stack:
        return Stack(self.steps, self.fallback, skip, extractor)


@dataclass
class Format:
    """One title format (§5.1)."""

    section: str  # the spec's number, "1.13"
    title: re.Pattern[str] | MultiLine
    template: str
    report: re.Pattern[str] | MultiLine | None = None
    alts: tuple[str, ...] = ()
    stack: Stack | None = None
    nstc: bool = False  # no stack-trace check (§10.2)
    corr: bool = False  # always corrupted (§10.1.3)
    kind: str = ""  # the app's class of the report (filters, clustering)
    skip_re: re.Pattern[str] | None = field(default=None, init=False)
    # The title pattern never crosses a line end: its matches on W's first line are found there alone.
    single_line: bool = field(default=False, init=False)

    # The literal text every title match starts with (a cheap test before the regex).
    literal: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.literal = _literal_prefix(self.title.pattern)
        self.single_line = isinstance(self.title, re.Pattern) and "\n" not in self.title.pattern \
            and "(?s" not in self.title.pattern
        if self.stack is not None and self.stack.skip:
            self.skip_re = re.compile("|".join(f"(?:{s})" for s in self.stack.skip), re.A)


@dataclass
class Group:
    """One oops group (§3.1): a header substring, lines that look like it but are not, formats."""

    header: str
    suppressions: tuple[re.Pattern[str], ...]
    formats: list[Format]
    kind: str


def F(section: str, title: str, template: str, report: str | None = None, **kw) -> Format:  # noqa: N802
    return Format(section, rx(title), template, rx(report) if report else None, **kw)


# §14 stack rules.
WSR = Stack((Find(RIP_LINE + r"|--- interrupt: [0-9]+ at {FUNC}", (*RIP_HINTS, "--- interrupt: ")), COLLECT),
            fallback=(CALL_TRACE, COLLECT))
SOR = Stack((RIP, CALL_TRACE, COLLECT))
CTR = Stack((CALL_TRACE, COLLECT))
RIP_ONLY = Stack((RIP,))  # 8.1, 13.1, 15.1: the first RIP-line's function, no fallback
KFENCE_STACK = Stack((Find(r"BUG: KFENCE: [a-z\- ]+ in {FUNC}"), COLLECT))  # 1.9-1.12
KMSAN_STACK = Stack((COLLECT, Find(r"(Local variable .* created at:|Uninit was created at:)"), COLLECT))
LOCK_AT = Find(r"at: (?:{PC} +)?{FUNC}")
BAD_ACCESS = ("bad-access in {FRAME}",)
INVALID_FREE = ("invalid-free in {FRAME}",)
STALL = ("stall in {FRAME}",)
HANG = ("hang in {FRAME}",)
STACK_OVERFLOW = ("stack-overflow in {FRAME}",)
USB_SKIP = ("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")


def _suppress(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.A) for p in patterns)


_BUG = [
    F("1.1", r"BUG: KASAN:", "KASAN: {type} {rw} in {FRAME}",
      r"BUG: KASAN: (?P<type>[a-z\-]+) in {FUNC}{LINES}.*(?P<rw>Read|Write) (?:of size|at addr) [0-9a-f]+",
      alts=BAD_ACCESS, kind="KASAN",
      stack=Stack((Find(r"BUG: KASAN: [a-z\-]+ in {FUNC}"), CALL_TRACE, COLLECT),
                  skip=("kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"))),
    F("1.2", r"BUG: KASAN:", "KASAN: invalid-free in {FRAME}",
      r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {FUNC}",
      alts=INVALID_FREE, kind="KASAN",
      stack=Stack((Find(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {FUNC}"),
                   CALL_TRACE, COLLECT), skip=("slab_", "kfree", "vunmap", "vfree"))),
    F("1.3", r"BUG: KASAN: (?P<type>[a-z\-]+) on address{LINES}.*(?P<rw>Read|Write) of size (?P<size>[0-9]+)",
      "KASAN: {type} {rw}", kind="KASAN"),
    F("1.4", r"BUG: KASAN: (?P<rest>.*)", "KASAN: {rest}", corr=True, kind="KASAN"),
    F("1.5", r"BUG: KMSAN: kernel-usb-infoleak", "KMSAN: kernel-usb-infoleak in {FRAME1}",
      r"BUG: KMSAN: kernel-usb-infoleak in {FUNC}", alts=("KMSAN origin in {FRAME2}",), nstc=True, kind="KMSAN",
      stack=KMSAN_STACK.with_(skip=("alloc_skb", *USB_SKIP))),
    F("1.6", r"BUG: KMSAN:", "KMSAN: {type} in {FRAME1}", r"BUG: KMSAN: (?P<type>[a-z\-]+) in {FUNC}",
      alts=("bad-access in {FRAME1}",), nstc=True, kind="KMSAN",
      stack=KMSAN_STACK.with_(skip=("alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$",
                                    "^crypto_", "^cipher_", "^drbg_", "^rng_"))),
    F("1.7", r"BUG: KCSAN: data-race", "KCSAN: {rest}", r"BUG: KCSAN: (?P<rest>.*)", nstc=True, kind="KCSAN"),
    F("1.8", r"BUG: KCSAN:", "KCSAN: {rest}", r"BUG: KCSAN: (?P<rest>.*)", nstc=True, kind="KCSAN"),
    F("1.9", r"BUG: KFENCE: (?P<kind>use-after-free|out-of-bounds) (?P<rw>read|write) in {FUNC}",
      "KFENCE: {kind} {rw} in {FRAME}", alts=BAD_ACCESS, stack=KFENCE_STACK, kind="KFENCE"),
    F("1.10", r"BUG: KFENCE: invalid free in {FUNC}", "KFENCE: invalid free in {FRAME}", alts=INVALID_FREE,
      stack=KFENCE_STACK, nstc=True, kind="KFENCE"),
    F("1.11", r"BUG: KFENCE: invalid (?P<rw>read|write) in {FUNC}", "KFENCE: invalid {rw} in {FRAME}",
      alts=BAD_ACCESS, stack=KFENCE_STACK, kind="KFENCE"),
    F("1.12", r"BUG: KFENCE: memory corruption in {FUNC}", "KFENCE: memory corruption in {FRAME}",
      stack=KFENCE_STACK, nstc=True, kind="KFENCE"),
    F("1.13", r"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address"
              r"|Unable to handle kernel data access)",
      "BUG: unable to handle kernel paging request in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="BUG"),
    F("1.14", r"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference"
              r"|Kernel NULL pointer dereference)",
      "BUG: unable to handle kernel NULL pointer dereference in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="BUG"),
    F("1.15", r"BUG: (?:unable to handle kernel|Unable to handle kernel)", "BUG: unable to handle kernel",
      corr=True, kind="BUG"),
    F("1.16", r"BUG: (?P<lk>spinlock|rwlock) (?P<what>lockup suspected|already unlocked|recursion"
              r"|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
      "BUG: {lk} {what} in {FRAME}", stack=CTR.with_(skip=("spin_", "_lock", "_unlock")), kind="lockdep"),
    F("1.17", r"BUG: soft lockup", "BUG: soft lockup in {FRAME}", alts=STALL,
      stack=SOR.with_(extractor="stall"), kind="lockup"),
    F("1.18", r"BUG: .*still has locks held!", "BUG: still has locks held in {f}",
      r"BUG: .*still has locks held!{LINES}.*{PC} +{FUNC:f}", kind="lockdep"),
    F("1.19", r"BUG: scheduling while atomic", "BUG: scheduling while atomic in {FRAME}",
      stack=CTR.with_(skip=("schedule",)), kind="BUG"),
    F("1.20", r"BUG: lock held when returning to user space", "BUG: lock held when returning to user space in {f}",
      r"BUG: lock held when returning to user space{LINES}.*leaving the kernel with locks still held"
      r"{LINES}.*at: (?:{PC} +)?{FUNC:f}", nstc=True, kind="lockdep"),
    F("1.21", r"BUG: bad unlock balance detected!", "BUG: bad unlock balance in {FRAME}",
      stack=Stack((Find(r"{PC} +{FUNC}", ("]",)), CALL_TRACE, COLLECT)), kind="lockdep"),
    F("1.22", r"BUG: held lock freed!", "BUG: held lock freed in {f}",
      r"BUG: held lock freed!{LINES}.*{PC} +{FUNC:f}", kind="lockdep"),
    F("1.23", r"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", nstc=True, kind="BUG"),
    F("1.24", r"BUG: non-zero nr_ptes on freeing mm", "BUG: non-zero nr_ptes on freeing mm", nstc=True, kind="BUG"),
    F("1.25", r"BUG: non-zero nr_pmds on freeing mm", "BUG: non-zero nr_pmds on freeing mm", nstc=True, kind="BUG"),
    F("1.26", r"BUG: Dentry .* still in use", "BUG: Dentry still in use in {op}",
      r"BUG: Dentry .* still in use \([0-9]+\) \[(?P<op>unmount) of (?P<fs>[^\]]+)\]",
      alts=("BUG: Dentry still in use [{op} of {fs}]",), kind="BUG"),
    F("1.27", r"BUG: Bad page (?P<k>state|cache)", "BUG: Bad page {k} in {FRAME}", kind="BUG",
      stack=Stack((Find(r"page last allocated"), COLLECT),
                  skip=("(?:free|put|get|update|release)_page", "free_unref", "^_*folio", "truncate_inode_pages",
                        "page_frag_free", "alloc", "vmap", "page_owner"))),
    F("1.28", r"BUG: Bad page map", "BUG: Bad page map", kind="BUG"),
    F("1.29", r"BUG: workqueue lockup", "BUG: workqueue lockup", nstc=True, kind="lockup"),
    F("1.30", r"BUG: sleeping function called from invalid context at (?P<where>.*)",
      "BUG: sleeping function called from invalid context in {FRAME}", stack=CTR, kind="BUG"),
    F("1.31", r"BUG: using (?P<fn>[a-z_]+)\(\) in preemptible", "BUG: using {fn}() in preemptible code in {FRAME}",
      stack=CTR.with_(skip=("dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu")),
      kind="BUG"),
    F("1.32", r"BUG: workqueue leaked lock or atomic", "BUG: workqueue leaked lock or atomic in {f}",
      r"BUG: workqueue leaked lock or atomic{LINES}.*last function: (?P<f>[a-zA-Z0-9_]+)\n", nstc=True,
      kind="lockdep"),
    F("1.33", r"BUG: memory leak", "memory leak in {FRAME}", kind="leak",
      stack=Stack((Find(r"backtrace:|backtrace \(crc [0-9a-f]*\):"), COLLECT),
                  skip=("kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get", "list_lru_init",
                        "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup"))),
    F("1.34", r"BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in {FRAME}",
      alts=STACK_OVERFLOW, stack=SOR.with_(extractor="stall"), kind="stack"),
    F("1.35", r"BUG: Invalid wait context", "WARNING: locking bug in {FRAME}",
      stack=CTR.with_(skip=("lock_sock", "release_sock")), kind="lockdep"),
    F("1.36", r"BUG:{WS_TO_END}", "BUG: corrupted", corr=True, kind="BUG"),
]


def _warning_in(section: str, path: str, words: str, template: str, skip: tuple[str, ...] = ()) -> Format:
    # 2.1-2.5: a file on the WARNING line, then (later on it) a space and a function word or "at".
    return F(section, rf"WARNING: (?>.*?{path}).* (?:{words})", template, stack=WSR.with_(skip=skip), kind="WARNING")


_WARNING = [
    _warning_in("2.1", r"lib/debugobjects\.c", "debug_print|debug_check|at", "WARNING: ODEBUG bug in {FRAME}",
                ("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_", "vunmap", "vfree", "__free_",
                 "debug_check", "kobject_")),
    _warning_in("2.2", r"mm/usercopy\.c", "usercopy_warn|at", "WARNING: bad usercopy in {FRAME}", ("usercopy", "__check")),
    _warning_in("2.3", r"lib/kobject\.c", "kobject_|at", "WARNING: kobject bug in {FRAME}", ("kobject_",)),
    _warning_in("2.4", r"fs/proc/generic\.c", "proc_register|at", "WARNING: proc registration bug in {FRAME}",
                ("proc_",)),
    _warning_in("2.5", r"lib/refcount\.c", "refcount_|at", "WARNING: refcount bug in {FRAME}", ("refcount", "kobject_")),
    F("2.6", r"WARNING: (?>.*?kernel/locking/lockdep\.c).*lock_", "WARNING: locking bug in {FRAME}",
      stack=WSR.with_(skip=("lock_sock", "release_sock")), kind="lockdep"),
    F("2.7", r"WARNING: .*still has locks held!", "WARNING: still has locks held in {f}",
      r"WARNING: .*still has locks held!{LINES}.*at: {FUNC:f}", kind="lockdep"),
    F("2.8", r"WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in {FRAME}", stack=WSR,
      kind="lockdep"),
    F("2.9", r"WARNING: lock held when returning to user space",
      "WARNING: lock held when returning to user space in {f}",
      r"WARNING: lock held when returning to user space{LINES}.*leaving the kernel with locks still held"
      r"{LINES}.*at: (?:{PC} +)?{FUNC:f}", nstc=True, kind="lockdep"),
    F("2.10", r"WARNING: (?>.*?mm/)(?>.*?\.c).* k?.?malloc", "WARNING: kmalloc bug in {FRAME}",
      stack=WSR.with_(skip=("kmalloc", "krealloc", "slab", "kmem")), kind="WARNING"),
    F("2.11", r"WARNING: (?>.*?mm/vmalloc.c).*__vmalloc_node", "WARNING: zero-size vmalloc in {FRAME}", stack=WSR,
      kind="WARNING"),
    F("2.12", r"WARNING: .* usb_submit_urb", "WARNING in {FRAME}/usb_submit_urb", stack=WSR.with_(skip=USB_SKIP),
      kind="WARNING"),
    F("2.13", r"WARNING: {SRC} at 0x[0-9]+, CPU#[0-9]+", "WARNING in {FRAME}", stack=WSR, kind="WARNING"),
    F("2.14", r"WARNING: .* at {SRC} {FUNC}", "WARNING in {FRAME}", stack=WSR, kind="WARNING"),
    F("2.15", r"WARNING: {SRC} at {FUNC}", "WARNING in {FRAME}", stack=WSR, kind="WARNING"),
    F("2.16", r"WARNING: \[.*\] {SRC} at {FUNC}.*", "WARNING in {FRAME}", stack=WSR, kind="WARNING"),
    F("2.17", r"WARNING: possible circular locking dependency detected", "possible deadlock in {FRAME}",
      r"WARNING: possible circular locking dependency detected{LINES}.*is trying to acquire lock", kind="lockdep",
      stack=Stack((LOCK_AT, LOCK_AT, COLLECT),
                  skip=("process_one_work", "flush_workqueue", "drain_workqueue", "destroy_workqueue"))),
    F("2.18", r"WARNING: possible irq lock inversion dependency detected", "possible deadlock in {f}",
      r"WARNING: possible irq lock inversion dependency detected{LINES}.*just changed the state of lock"
      r"{LINES}.*at: (?:{PC} +)?{FUNC:f}", kind="lockdep"),
    F("2.19", r"WARNING: (?>.*?-safe -> ).*-unsafe lock order detected", "possible deadlock in {FRAME}",
      stack=Stack((Find(r"which became .* at:"), COLLECT)), kind="lockdep"),
    F("2.20", r"WARNING: possible recursive locking detected", "possible deadlock in {f}",
      r"WARNING: possible recursive locking detected{LINES}.*is trying to acquire lock{LINES}.*at: (?:{PC} +)?{FUNC:f}",
      kind="lockdep"),
    F("2.21", r"WARNING: inconsistent lock state", "inconsistent lock state in {FRAME}",
      r"WARNING: inconsistent lock state{LINES}.*takes{LINES}.*at: (?:{PC} +)?{FUNC:f}", stack=CTR, kind="lockdep"),
    F("2.22", r"WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in {FRAME}",
      r"WARNING: suspicious RCU usage{LINES}.*?{SRC}", stack=CTR.with_(skip=("rcu", "kmem", "slab")), kind="lockdep"),
    F("2.23", r"WARNING: kernel stack regs at [0-9a-f]+ in \S* has bad '(?P<v>[^']+)' value",
      "WARNING: kernel stack regs has bad '{v}' value", nstc=True, kind="WARNING"),
    F("2.24", r"WARNING: kernel stack frame pointer at [0-9a-f]+ in \S* has bad value",
      "WARNING: kernel stack frame pointer has bad value", nstc=True, kind="WARNING"),
    F("2.25", r"WARNING: bad unlock balance detected!", "WARNING: bad unlock balance in {FRAME}",
      stack=Stack((Find(r"{PC} +{FUNC}", ("]",)), CALL_TRACE, COLLECT)), kind="lockdep"),
    F("2.26", r"WARNING: held lock freed!", "WARNING: held lock freed in {f}",
      r"WARNING: held lock freed!{LINES}.*at:(?: {PC})? +{FUNC:f}", kind="lockdep"),
    F("2.27", r"WARNING: kernel stack regs .* has bad 'bp' value", "WARNING: kernel stack regs has bad value",
      nstc=True, kind="WARNING"),
    F("2.28", r"WARNING: kernel stack frame pointer .* has bad value", "WARNING: kernel stack regs has bad value",
      nstc=True, kind="WARNING"),
    F("2.29", r"WARNING:{WS_TO_END}", "WARNING: corrupted", corr=True, kind="WARNING"),
]


def _old_lockdep(section: str, header: str, middle: str, template: str) -> Format:
    # 3.1-3.5: pre-4.x `[ INFO: ... ]` headers; the `at:` line carries a bracketed address.
    return F(section, rf"INFO: {header}", template,
             rf"INFO: {header} \]{{LINES}}.*{middle}{{LINES}}.*at: {{PC}} +{{FUNC:f}}", kind="lockdep")


_INFO = [
    _old_lockdep("3.1", "possible circular locking dependency detected", "is trying to acquire lock",
                 "possible deadlock in {f}"),
    _old_lockdep("3.2", "possible irq lock inversion dependency detected", "just changed the state of lock",
                 "possible deadlock in {f}"),
    _old_lockdep("3.3", "SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", "is trying to acquire",
                 "possible deadlock in {f}"),
    _old_lockdep("3.4", "possible recursive locking detected", "is trying to acquire lock", "possible deadlock in {f}"),
    _old_lockdep("3.5", "inconsistent lock state", "takes", "inconsistent lock state in {f}"),
    F("3.6", r"INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall",
      "INFO: rcu detected stall in {FRAME}", alts=STALL, kind="stall",
      stack=Stack((Find(r"apic_timer_interrupt"), RIP, COLLECT),
                  fallback=(Find(r"apic_timer_interrupt|Exception stack|el1h_64_irq"), COLLECT),
                  skip=("apic_timer_interrupt", "rcu"), extractor="stall")),
    F("3.7", r"INFO: trying to register non-static key", "INFO: trying to register non-static key in {FRAME}",
      stack=CTR.with_(skip=("stack", "lock", "IRQ")), kind="lockdep"),
    F("3.8", r"INFO: suspicious RCU usage", "INFO: suspicious RCU usage in {FRAME}",
      r"INFO: suspicious RCU usage{LINES}.*?{SRC}", stack=CTR.with_(skip=("rcu", "kmem", "slab")), kind="lockdep"),
    F("3.9", r"INFO: task {TASK} blocked (?:in I/O wait )?for more than [0-9]+ seconds", "INFO: task hung in {FRAME}",
      alts=HANG, stack=CTR.with_(extractor="hung"), kind="hang"),
    F("3.10", r"INFO: task {TASK} can't die for more than .* seconds", "INFO: task can't die in {FRAME}",
      alts=HANG, stack=CTR.with_(skip=("schedule",)), kind="hang"),
    F("3.11", r"INFO: (?P<k>Freed|Allocated) in (?P<rest>.*)", "INFO: {k} in {rest}", corr=True, kind="KASAN"),
    F("3.12", r"INFO:{WS_TO_END}", "INFO: corrupted", corr=True, kind="INFO"),
]

_PANIC = [
    F("7.1", r"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in {f}",
      r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {FUNC:f}", nstc=True, kind="stack"),
    F("7.2", r"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in {FRAME}",
      r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
      stack=CTR.with_(skip=("stack_chk",)), kind="stack"),
    F("7.3", r"Kernel panic - not syncing: corrupted stack end", "kernel panic: corrupted stack end in {FRAME}",
      r"Kernel panic - not syncing: corrupted stack end detected inside scheduler", alts=STACK_OVERFLOW,
      stack=CTR.with_(skip=("schedule", "retint_kernel"), extractor="stall"), kind="stack"),
    F("7.4", r"Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in {FRAME}",
      alts=STACK_OVERFLOW, stack=CTR.with_(skip=("bad_stack",), extractor="stall"), kind="stack"),
    F("7.5", r"Kernel panic - not syncing: Attempted to kill init!", "kernel panic: Attempted to kill init!",
      kind="panic"),
    F("7.6", r"Kernel panic - not syncing: Couldn't open N_TTY ldisc for \S+ --- error -[0-9]+",
      "kernel panic: Couldn't open N_TTY ldisc", kind="panic"),
    F("7.7", r"Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception", corr=True, kind="panic"),
    F("7.8", r"Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set", corr=True,
      kind="panic"),
    F("7.9", r"Kernel panic - not syncing: hung_task: blocked tasks", "kernel panic: hung_task: blocked tasks",
      corr=True, kind="panic"),
    F("7.10", r"Kernel panic - not syncing: (?P<msg>.*)", "kernel panic: {msg}", kind="panic"),
]

_UBSAN_STACK = CTR.with_(skip=("ubsan", "overflow"))

# §3.1: the groups, in table order (the order decides which group a line belongs to).
GROUPS: list[Group] = [
    Group("BUG:", _suppress(r"ODEBUG:", r"Boot_DEBUG:", r"xlog_status:", r"DEBUG:",
                            r"BUG: no syscalls can create resource"), _BUG, "BUG"),
    Group("WARNING:", _suppress(  # §3.2
        r"WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
        r"WARNING: workqueue cpumask: online intersect > possible intersect",
        r"WARNING: [Tt]he mand mount option",
        r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1",
        r"WARNING: Unprivileged eBPF is enabled with eIBRS",
        r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size \((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\)",
        r"WARNING: See https.* for mitigation options.",
        r"WARNING: kernel not compiled with CPU_SRSO",
        r"EXT4-[Ff][Ss](?: \(.*\))?:",
        r"(?i)warning: .* uses (?:deprecated v2 capabilities|wireless extensions)",
        r"XFS \(\w+\): WARNING",
    ), _WARNING, "WARNING"),
    Group("INFO:", _suppress(
        r"INFO: lockdep is turned off", r"INFO: Stall ended before state dump start", r"INFO: NMI handler",
        r"INFO: recovery required on readonly filesystem", r"(?:handler|interrupt).*took too long",
        r"INFO: sys_.* is not present in /proc/kallsyms", r"INFO: no syscalls can create resource",
        r"rmt_storage:INFO:", r"_INFO:",
    ), _INFO, "INFO"),
    Group("Unable to handle kernel", (), [
        F("4.1", r"Unable to handle kernel (?P<what>paging request|NULL pointer dereference|access to user memory)",
          "BUG: unable to handle kernel {what} in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="BUG"),
    ], "BUG"),
    Group("general protection fault", _suppress(r"general protection fault .* error:\d+ in "), [
        F("5.1", r"general protection fault.*:", "general protection fault in {FRAME}", alts=BAD_ACCESS, stack=SOR,
          kind="GPF"),
    ], "GPF"),
    Group("stack segment: ", (), [F("6.1", r"stack segment: ", "stack segment fault in {FRAME}", stack=SOR, kind="GPF")],
          "GPF"),
    Group("Kernel panic", (), _PANIC, "panic"),
    Group("PANIC: double fault", (), [
        F("8.1", r"PANIC: double fault", "PANIC: double fault in {FRAME}", stack=RIP_ONLY, kind="double fault"),
    ], "double fault"),
    Group("rust_kernel: panicked", (), [
        F("9.1", r"rust_kernel: panicked", "{msg} in {FRAME}", r"rust_kernel: panicked at .*\n(?P<msg>.+)\n",
          stack=CTR.with_(skip=(re.escape("__rustc::rust_begin_unwind"),)), kind="rust panic"),
    ], "rust panic"),
    Group("kernel BUG", (), [
        F("10.1", r"kernel BUG at mm/usercopy.c", "BUG: bad usercopy in {FRAME}",
          stack=CTR.with_(skip=("usercopy", "__check")), kind="BUG"),
        F("10.2", r"kernel BUG at lib/list_debug.c", "BUG: corrupted list in {FRAME}", alts=BAD_ACCESS, stack=CTR,
          kind="BUG"),
        F("10.3", r"kernel BUG at (?P<where>.*)", "kernel BUG in {FRAME}", stack=SOR.with_(skip=("^skb_",)), kind="BUG"),
    ], "BUG"),
    Group("Kernel BUG", (), [F("11.1", r"Kernel BUG (?P<rest>.*)", "kernel BUG {rest}", kind="BUG")], "BUG"),
    Group("BUG kmalloc-", (), [
        F("12.1", r"BUG kmalloc-.*: Object already free", "BUG: Object already free", kind="SLUB"),
    ], "SLUB"),
    Group("divide error:", (), [
        F("13.1", r"divide error: ", "divide error in {FRAME}", stack=RIP_ONLY, kind="divide error"),
    ], "divide error"),
    Group("divide_error:", (), [
        F("14.1", r"divide_error: ", "divide error in {FRAME}", stack=RIP_ONLY, kind="divide error"),
    ], "divide error"),
    Group("invalid opcode:", (), [
        F("15.1", r"invalid opcode: ", "invalid opcode in {FRAME}", stack=RIP_ONLY, kind="invalid opcode"),
    ], "invalid opcode"),
    Group("int3:", (), [F("16.1", r"int3: ", "int3 in {FRAME}", stack=SOR, kind="int3")], "int3"),
    Group("UBSAN:", (), [
        F("17.1", r"UBSAN:", "UBSAN: undefined-behaviour in {FRAME}", r"UBSAN: Undefined behaviour in",
          stack=_UBSAN_STACK, kind="UBSAN"),
        F("17.2", r"UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in {FRAME}",
          alts=BAD_ACCESS, stack=_UBSAN_STACK, kind="UBSAN"),
        F("17.3", r"UBSAN:", "UBSAN: {kind} in {FRAME}", r"UBSAN: (?P<kind>.*?) in", stack=_UBSAN_STACK, kind="UBSAN"),
    ], "UBSAN"),
    Group("Booting the kernel.", _suppress(r"Parsing ELF|Decompressing Linux|Unknown parameter '"), [
        F("18.1", r"^Booting the kernel", "unexpected kernel reboot", nstc=True, kind="reboot"),
    ], "reboot"),
    Group("unregister_netdevice: waiting for", (), [
        F("19.1", r"unregister_netdevice: waiting for .* to become free",
          "unregister_netdevice: waiting for DEV to become free", nstc=True, kind="hang"),
    ], "hang"),
    Group("VFS: Close: file count is 0", (), [
        F("20.1", r"VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)", nstc=True,
          kind="BUG"),
    ], "BUG"),
    Group("VFS: Busy inodes after unmount", (), [
        F("21.1", r"VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount (use-after-free)", nstc=True,
          kind="BUG"),
    ], "BUG"),
    Group("Internal error:", (), [
        F("22.1", r"Internal error:", "Internal error in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("Unhandled fault:", (), [
        F("23.1", r"Unhandled fault:", "Unhandled fault in {FRAME}", alts=BAD_ACCESS, stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("Alignment trap:", (), [
        F("24.1", r"Alignment trap:", "Alignment trap in {FRAME}", stack=SOR, kind="Oops"),
    ], "Oops"),
    Group("trusty: panic", (), [
        F("25.1", r"trusty: panic.* ASSERT FAILED", "trusty: ASSERT FAILED: {msg}",
          r"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (?P<msg>.+)", nstc=True, kind="panic"),
        F("25.2", r"trusty: panic(?>.*? ASSERT FAILED).*: *(?P<msg>.*)", "trusty: ASSERT FAILED: {msg}", corr=True,
          kind="panic"),
        F("25.3", r"trusty: panic", "trusty: panic: {msg}", r"trusty: panic \(.*?\): (?P<msg>.+)", nstc=True,
          kind="panic"),
    ], "panic"),
    Group("fatal error:", _suppress(r"ALSA", r"fatal error: cannot create timer"), [
        F("26.1", r"fatal error:", "go runtime error", nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
    Group("SYZFAIL:", (), [F("27.1", r"SYZFAIL:(?P<rest>.*)", "SYZFAIL:{rest}", nstc=True, kind="SYZFAIL")], "SYZFAIL"),
    Group("SYZFATAL:", (), [
        F("28.1", r"SYZFATAL:(?P<rest>.*)", "SYZFATAL:{rest}", alts=("SYZFATAL",), nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
    Group("panic:", _suppress(r"_panic:", r"xlog_status:", r"ddb\.onpanic:", r"evtlog_status:"), [
        F("29.1", r"panic: Sentry detected .* stuck task", "panic: Sentry detected stuck tasks", nstc=True,
          kind="SYZFAIL"),
        F("29.2", r"panic:(?P<rest>.*)", "panic:{rest}", nstc=True, kind="SYZFAIL"),
    ], "SYZFAIL"),
]

HEADERS = tuple(g.header for g in GROUPS)

# §4.2: lines that start a second report although they are not oops lines ...
STACK_NOTICES = ("vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure", "FAULT_FLAG_ALLOW_RETRY missing")
# ... and oops lines that never start one (they follow from the report before them).
NON_STARTING = ("invalid opcode: 0000", "Kernel panic - not syncing", "unregister_netdevice: waiting for",
                "PANIC: double fault", "Internal error:")
