"""Stage D: a raw key into its id, the robot's `analyze` (spec §6), same in dmesg and kmsg mode.

`analyze(raw) -> (id, bisect)`: preprocess (§6.1), rewrite known reports (§6.2: simple S*,
composite C*, complex X* rules, first match wins), compute the bisect pattern (§6.3; only its
emptiness matters: an empty one keeps the candidate from being emitted), then normalise the key
text (§6.4: N1-N14, C1-C16, P1-P5, in that exact order). Regexes use explicit ASCII classes for
the spec's D/H/W (§0.2-2) and Python's Unicode-aware `\\b` for WB (§0.2-3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from workers.statkeys.lists import DEVICE_NAMES
from workers.statkeys.tables import BLOCK_DEVICE_NAMES

Rule = Callable[[str], "tuple[str, str | None] | None"]

# --- §6.1 preprocess ---------------------------------------------------------------------------
_DECODE_PREFIX = re.compile(r"^(?:kern  |user  |daemon):.{6}: ")  # 6.1-1 dmesg --decode prefix
_CALLER_ID = re.compile(r"\[ {0,4}[A-Z][0-9]{1,5}\] ")  # 6.1-2 first printk caller id -> one space
_LEADING_NON_LETTERS = re.compile(r"^[^A-Za-z]+")  # 6.1-3 also eats a message's leading digits


def preprocess(raw: str) -> str:
    """§6.1: T, the raw key without decode prefix, caller id and leading non-letters."""
    text = _DECODE_PREFIX.sub("", raw, count=1)
    text = _CALLER_ID.sub(" ", text, count=1)
    return _LEADING_NON_LETTERS.sub("", text, count=1)


# --- §6.2 known-pattern rewriting ----------------------------------------------------------------
# Simple rules: the key text (group 1, found by search) is also the bisect text.
# Each rule also names a literal its regex needs: the regex only runs on texts holding it.
SIMPLE_RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple((n, g, re.compile(p)) for n, g, p in (
    ("S1", 'INFO: rcu', r"(INFO: rcu[a-z _]* self-detected stall on CPU)"),
    ("S2", 'INFO: rcu', r"(INFO: rcu[a-z _]* detected stalls on CPUs/tasks:)"),
    ("S3", 'related general protection fault:', r"(related general protection fault:)"),
    ("S4", 'BUG: using __this_cpu_read() in preemptible', r"(BUG: using __this_cpu_read\(\) in preemptible)"),
    ("S5", 'BUG: unable to handle kernel', r"(BUG: unable to handle kernel)"),  # S6 and S7 (longer variants) are unreachable
    ("S8", 'BUG: workqueue leaked lock or atomic:', r"(BUG: workqueue leaked lock or atomic:)"),
    ("S9", 'BUG: scheduling while atomic:', r"(BUG: scheduling while atomic:)"),
    ("S10", 'BUG: Bad page map in process', r"(BUG: Bad page map in process)"),
    ("S11", 'BUG: Bad page state in process', r"(BUG: Bad page state in process)"),
    ("S12", 'BUG: Bad page cache in process', r"(BUG: Bad page cache in process)"),
    ("S13", 'BUG: soft lockup - CPU#', r"(BUG: soft lockup - CPU#[0-9]+ stuck for [0-9]+s!.*)"),
    ("S14", 'BUG: spinlock ', r"(BUG: spinlock .* on CPU#[0-9]+)"),
    ("S15", 'Out of memory: Kill process', r"(Out of memory: Kill process) [0-9]+ \("),
    ("S16", 'Writer stall state ', r"(Writer stall state [A-Za-z0-9_]*).+ g[0-9]+ c[0-9]+ f"),
    ("S17", 'BUG: workqueue lockup - pool', r"(BUG: workqueue lockup - pool)"),
    ("S18", 'rcu_sched kthread starved', r"(rcu_sched kthread starved) for [0-9]+ jiffies"),
    ("S19", 'Could not create tracefs', r"(Could not create tracefs)"),
    ("S20", 'used greatest stack depth:', r"(used greatest stack depth:)"),
    ("S21", ' [#', r"([A-Z]+[A-Za-z ]*): [a-f0-9]{4} \[#[0-9]+\] "),
    ("S22", 'BUG: KASAN: ', r"(BUG: KASAN: [a-z\-_ ]+ in [a-z_]+)\+"),
    ("S23", 'BUG: KFENCE: ', r"(BUG: KFENCE: [a-z\-_ ]+ in [a-z_]+)\+"),
    ("S24", 'cpu clock throttled', r"(cpu clock throttled)"),
    ("S25", 'Kernel panic - not syncing: No working init found', r"(Kernel panic - not syncing: No working init found.)  Try passing init= option to kernel. "),
    ("S26", 'Kernel panic - not syncing: No init found', r"(Kernel panic - not syncing: No init found.)  Try passing init= option to kernel. "),
))

# Composite rules: key text = the fixed parts joined, bisect = the last part.
_C1 = re.compile(r"BUG: .* still has locks held")
_C2 = re.compile(r"INFO: task .* (blocked for more than [0-9]+ seconds)")

_X1 = re.compile(r"WARNING:.* at .* ([A-Za-z.0-9_]+\+0x)")
_X1_SUFFIX = re.compile(r"([A-Za-z0-9_]+)\.(?:isra|constprop|part)\.[0-9]+\+0x")
_X2 = re.compile(r"(UBSAN: .+)|(BUG: using smp_processor_id\(\) in preemptible)")
_X2_ADDRESS = re.compile(r"^[0-9a-z]+>\] (.+)")
_X3_KEY = re.compile(r"(BUG: key )[0-9a-f]+ (not in .data)")
_X3_DENTRY = re.compile(r"(BUG: Dentry ).* (still in use) .* \[unmount of ")
_X4 = re.compile(r"^(?:backtrace|calltrace):([A-Za-z0-9_]+)")
_PTRVAL = r"(?:[0-9a-f]+|\(_*ptrval_*\))"
_X6 = re.compile(rf"kobject \({_PTRVAL}\): tried to init an initialized object")
_X6_SUB = re.compile(rf"kobject \({_PTRVAL}\)")
_X7 = re.compile(rf"BUG: Bad rss-counter state mm:{_PTRVAL} ")
_X8 = re.compile(r"Bad pagetable: [0-9a-f]+ \[#")
_X9 = re.compile(r"(INFO: Slab 0x\(____ptrval____\) objects=.*fp=0x).* (flags=.*)")
_X10 = re.compile(r"(.*) \]---(.*)")
_X11 = re.compile(r"segfault at .* ip .* sp .* error")


def _x1_warning(text: str) -> tuple[str, str] | None:
    """X1: `WARNING: ` + T from its first `at ` (drops `CPU: n PID: n`)."""
    m = _X1.search(text)
    if not m:
        return None
    fn = m.group(1)
    s = _X1_SUFFIX.search(fn)
    return "WARNING: " + text[text.find("at "):], "WARNING:.* at .* " + (s.group(1) if s else fn)


def _x2(text: str) -> tuple[str, None] | None:
    m = _X2.search(text) or _X2_ADDRESS.search(text)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None), None


def _x3(text: str) -> tuple[str, str] | None:
    m = _X3_KEY.search(text) or _X3_DENTRY.search(text)
    if not m:
        return None
    return m.group(1) + m.group(2), m.group(2)


def _x4_calltrace(text: str) -> tuple[str, str] | None:
    m = _X4.search(text)
    return (text, m.group(1) + "+0x") if m else None


def _x5_low_memory(text: str) -> tuple[str, None] | None:
    if "Corrupted low memory at" not in text:
        return None
    text = re.sub(r"\b[0-9a-f]+\b phys", "# phys", text, count=1)
    return re.sub(r"= \b[0-9a-f]+\b", "= #", text, count=1), None


def _x6_kobject(text: str) -> tuple[str, None] | None:
    return (_X6_SUB.sub("kobject (#)", text, count=1), None) if _X6.search(text) else None


def _x7_rss(text: str) -> tuple[str, None] | None:
    return (_X7.sub("BUG: Bad rss-counter state mm:# ", text, count=1), None) if _X7.search(text) else None


def _x8_pagetable(text: str) -> tuple[str, None] | None:
    return (_X8.sub("Bad pagetable: # [#", text, count=1), None) if _X8.search(text) else None


def _x9_slab(text: str) -> tuple[str, None] | None:
    m = _X9.search(text)
    return (m.group(1) + "(#) " + m.group(2), None) if m else None


def _x10_end_marker(text: str) -> tuple[str, None] | None:
    m = _X10.search(text) if " ]---" in text else None  # the test first: a failed search is quadratic
    return (m.group(1) + m.group(2), None) if m else None


def _x11_segfault(text: str) -> tuple[str, None] | None:
    return ("segfault at ip sp error", None) if _X11.search(text) else None


# Complex rules in the spec's order; a None bisect means bisect_of(key text).
COMPLEX_RULES: tuple[tuple[str, Rule], ...] = (
    ("X1", _x1_warning), ("X2", _x2), ("X3", _x3), ("X4", _x4_calltrace), ("X5", _x5_low_memory),
    ("X6", _x6_kobject), ("X7", _x7_rss), ("X8", _x8_pagetable), ("X9", _x9_slab),
    ("X10", _x10_end_marker), ("X11", _x11_segfault),
)


def rewrite(text: str) -> tuple[str, str]:
    """§6.2: (key text, bisect) of T; T itself and bisect_of(T) when no rule matches."""
    for _, needed, rx in SIMPLE_RULES:
        m = rx.search(text) if needed in text else None
        if m:
            return m.group(1), m.group(1)
    if _C1.search(text):  # C1
        return "BUG: still has locks held", "still has locks held"
    m = _C2.search(text)  # C2
    if m:
        return "INFO: task " + m.group(1), m.group(1)
    for _, rule in COMPLEX_RULES:
        r = rule(text)
        if r:
            key, bisect = r
            return key, bisect if bisect is not None else bisect_of(key)
    return text, bisect_of(text)


# --- §6.3 bisect pattern --------------------------------------------------------------------------
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")  # §0.2-8: ASCII whitespace only
_BISECT_STOP = (
    re.compile(r"([A-Za-z0-9_]+)\.(?:isra|constprop|part)\.[0-9]+\+0x"),
    re.compile(r"([A-Za-z0-9_]+\+0x)"),
    re.compile(r"([A-Za-z0-9_]+=)"),
)
_BISECT_PATH_NUMBER = re.compile(r"^([A-Za-z/._\-]*):[0-9]")
_BISECT_VARYING = re.compile(r"[^A-Za-z/:.()!_\-]")


def bisect_of(text: str) -> str:
    """§6.3: the robot's grep pattern for bisecting; only whether it is empty matters."""
    words = [w for w in _WHITESPACE.split(text) if w]
    if len(words) <= 1:
        return text if words else ""
    out: list[str] = []
    for word in words:
        stop = next((m for rx in _BISECT_STOP if (m := rx.search(word))), None)
        if stop:
            out.append(stop.group(1))
            break
        m = _BISECT_PATH_NUMBER.search(word)
        if m:
            out.append(m.group(1) + ":.*")
        elif _BISECT_VARYING.search(word):
            if not out or out[-1] != ".*":
                out.append(".*")
        else:
            out.append(word)
    while out and out[0] == ".*":
        out.pop(0)
    if out and out[-1] == ".*":
        out.pop()
    return " ".join(out)


# --- §6.4 normalisation ----------------------------------------------------------------------------
# N7/N8 as one regex plus a set lookup: a name is a run of `a-z _` from a word start directly
# followed by digits (names have no digits), so the run before the digits is the only candidate;
# the equivalent 412-way alternation costs ten times more.
_NAME_DIGITS = re.compile(r"\b([a-z_]+)[0-9]+")


def _device_rule(names: tuple[str, ...]) -> Callable[[re.Match[str]], str]:
    known = frozenset(names)
    return lambda m: m.group(1) + "#" if m.group(1) in known else m.group(0)


# (rule, literals one of which the text must hold for the rule to do anything (none: always run),
# regex, replacement).
NORMALISATION: tuple[tuple[str, tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (n, g, p if isinstance(p, re.Pattern) else re.compile(p), r) for n, g, p, r in (
    ("N1", (' ]',), r" \]$", ""),
    ("N2", ('/c/kernel-tests/src/',), r"/c/kernel-tests/src/[^/]+/", ""),
    ("N3", ('/c/',), r"/c/(?:wfg|yliu)/[^/]+/", ""),
    ("N4", ('/lkp/',), r"/lkp/[^/]+/linux[0-9]*/", ""),
    ("N5", ('/kernel-tests/linux',), r"/kernel-tests/linux[0-9]*/", ""),
    ("N6", ('.isra.', '.constprop.', '.part.'), r"\.(?:isra|constprop|part)\.[0-9]+", ""),
    ("N7", (), _NAME_DIGITS, _device_rule(BLOCK_DEVICE_NAMES)),  # block devices: nvme0n1 -> nvme#n1
    ("N8", (), _NAME_DIGITS, _device_rule(DEVICE_NAMES)),  # §10.4 device names: eth0 -> eth#
    ("N9", (), r"\b[0-9a-f]{8}\b", "#"),
    ("N10", (), r"\b[0-9a-f]{16}\b", "#"),
    ("N11", ('=',), r"=[0-9a-f]+\b", "=#"),
    ("N12", ('0x',), r"[+/]0x[0-9a-f]+\b", ""),
    ("N13", ('+', '/'), r"[+/][0-9a-f]+\b", ""),  # also path components that are hex words: /dec, /bad
    ("N14", (' (Tainted:',), r" \(Tainted:.+\)", ""),  # greedy: to the last `)`
    ("C1", ('\n', '\r'), r"(?:\r\n|\n|\r)\Z", ""),  # chomp
    ("C2", ('.',), r"\b[3-9]\.[0-9]+[\-a-z0-9.]+", "#"),  # kernel versions
    ("C3", ('-',), r"\b[1-9][0-9]-[A-Z][a-z]+-[0-9]{4}\b", "#"),  # dates
    ("C4", ('0x',), r"\b0x[0-9a-f]+\b", "#"),
    ("C5", (), r"\b[0-9a-f]{40}\b", "#"),  # SHA-1
    ("C6", (), r"\b[0-9][0-9.]*", "#"),  # numbers at a word start, dots swallowed
    ("C7", ('#x',), r"#x\b", "0x"),  # a bare `0x` that C6 turned into `#x`
    ("C8", ('\\', '"', '$'), r'[\\"$]', "~"),
    ("C9", ('\t',), r"\t", " "),
    ("C10", ('  ',), r" {2,}", " "),
    # C11, C12 and P1 as lookarounds: the same result (no two spaces in a row after C10), no template.
    ("C11", (' ',), r"(?<=[^A-Za-z0-9]) ", ""),  # a space after punctuation
    ("C12", (' ',), r" (?=[^A-Za-z])", ""),  # a space before anything but a letter
    ("C13", (' ',), r"^ ", ""),
    ("C14", ('  _',), r"  _", "_"),
    ("C15", (' ',), r" ", "_"),
    ("C16", (), r"[\-_.,;:#!*\[(]+$", ""),  # `]` and `)` are not in the set
    ("P1", (':',), r"(?<=[a-z]):[0-9]+\b", ":"),
    ("P2", ('#:[<#>]',), r"#:\[<#>\]\[<#>\]", ""),  # old `RIP: 0010:[<addr>]  [<addr>]`
    ("P3", ('RIP:#:',), r"RIP:#:", "RIP:"),
    ("P4", (), r"[^/A-Za-z0-9_][A-Za-z0-9_][0-9]+[^A-Za-z0-9_]", "#"),  # one-letter+digits eater
    ("P5", (), r"[^A-Za-z0-9_][A-Za-z0-9_][0-9]+[^/A-Za-z0-9_]", "#"),
))


_STEPS = tuple((needed[0] if len(needed) == 1 else needed or None, rx.sub, repl)
               for _, needed, rx, repl in NORMALISATION)


def normalise(text: str) -> str:
    """§6.4: key text -> id (every step replaces globally; the anchored ones can match once)."""
    for needed, sub, repl in _STEPS:
        if needed is None or (needed in text if type(needed) is str else any(n in text for n in needed)):
            text = sub(repl, text)
    return text


@lru_cache(maxsize=16384)
def analyze(raw: str) -> tuple[str, str]:
    """(id, bisect) of one raw key (§6); the same raw key always gives the same id."""
    key_text, bisect = rewrite(preprocess(raw))
    return normalise(key_text), bisect
