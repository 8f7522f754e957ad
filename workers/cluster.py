"""Clustering crash reports into bugs, the way syzbot groups crashes, plus "similar cluster" proposals.

Rules (all deterministic, no Django: the app loads clusters and aliases from its tables, calls
`Clusterer`, and stores what comes back):

- A report joins the open cluster whose titles (or alternative titles) intersect the report's title
  and alternative titles: syzbot's rule. Titles are compared by `title_key()`, which removes what
  changes from one boot or build to the next (offsets, addresses, numbers) and nothing else.
- A corrupted report (syzkaller's "... in corrupted", a cut or interleaved report) is filed by its
  title and kind plus its top non-generic frames (`corrupted_title`), a title no complete report
  has, so it never joins a real crash's cluster and two corrupted reports of different crashes stay
  apart. Only reports with neither frames nor a function in their title go to the one cluster
  flagged `corrupted`, `CORRUPTED_KEY`, whose titles are never indexed.
- Merges stick: `aliases` maps a title key to a cluster key and wins over the title index, so new
  crashes of a merged title follow the merge, also when old logs are analysed again; a crash whose
  title changed with a parser upgrade stays in its `previous` cluster (its new title is aliased).
- `similar()` proposes pairs of clusters whose stacks look alike across titles (a KASAN read and
  write in one function, a GPF and a KASAN report on one call path): a normalized edit distance over
  the top frames with generic frames skipped, as Fedora's satyr compares kernel oopses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import Any

from rapidfuzz.distance import Levenshtein

from workers.report import Frame, Report

CORRUPTED_KEY = "corrupted report"
SIGNATURE_FRAMES = 8  # satyr-like: the top of the stack says what crashed, the bottom is boilerplate
_STACK_GAP = 3  # lines between two frames of one stack: <IRQ>, </TASK> markers, not a new stack

# --- titles ---------------------------------------------------------------------------------------

_OFFSET = re.compile(r"\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b")
_NUM = re.compile(r"(?<![\w.])\d+(?![\w])")
# gcc clones of one function: foo.isra.0, foo.constprop.3, foo.part.1, foo.cold, foo.llvm.123
_CLONE = re.compile(r"\b([A-Za-z_]\w*)(?:\.(?:isra|constprop|part|cold|llvm|lto_priv)(?:\.\d+)?)+\b")
# powerpc ELFv1 dot-symbols (.vfs_write) name the same function as vfs_write elsewhere
_DOT_SYMBOL = re.compile(r"(?<![\w./])\.(?=[A-Za-z_])")
_SPACES = re.compile(r"\s+")


def title_key(title: str) -> str:
    """The part of a title that names the bug: equal keys mean the same cluster.

    Parser titles (syzbot-style) are already free of addresses; this also makes raw report lines
    such as `BUG: KASAN: ... in f+0x1c6/0x230 [m]` or `CPU: 1 PID: 51` stable across boots and builds.
    """
    key = _OFFSET.sub("", title)
    key = _HEX.sub("ADDR", key)
    key = _NUM.sub("NUM", key)
    key = _CLONE.sub(r"\1", key)
    key = _DOT_SYMBOL.sub("", key)
    return _SPACES.sub(" ", key).strip()


CORRUPTED_FRAMES = 3


def corrupted_title(report: Report) -> str | None:
    """The cluster title of a corrupted report: title, kind and its top non-generic frames (reliable
    ones, else the `?` ones an unwinder left); None when it has no frame and its title names no
    function (then only the corrupted-report bucket can hold it)."""
    frames = frame_signature(report, CORRUPTED_FRAMES)
    if not frames:
        frames = frame_signature(report, CORRUPTED_FRAMES, reliable_only=False)
    title = title_key(report.title)
    named = " in " in title and title.rsplit(" in ", 1)[1] not in ("", "corrupted")
    if not frames and not named:
        return None
    return f"{title} [{report.kind or 'corrupted'}]" + (" @ " + " ".join(frames) if frames else "")


def report_titles(report: Report) -> list[str]:
    """Title keys of a report, its own first then its alternative titles, without repeats (a
    corrupted report has one: `corrupted_title`)."""
    if report.corrupted:
        key = corrupted_title(report)
        return [key] if key else ["untitled"]
    seen: list[str] = []
    for t in [report.title, *report.alt_titles]:
        k = title_key(t)
        if k and k not in seen:
            seen.append(k)
    return seen or ["untitled"]  # reports the parser could not name still group together


# --- frames ---------------------------------------------------------------------------------------

# Frames that say how a crash was reported or how the task got into the kernel, not where it crashed;
# the same lists syzbot and satyr skip before naming the guilty frame.
_GENERIC = re.compile(
    r"^(?:"
    r"dump_stack\w*|show_stack\w*|show_regs\w*|print_report|print_address_description\w*|"
    r"kasan_\w+|__kasan_\w+|kfence_\w+|__kfence_\w+|check_memory_region\w*|__asan_\w+|__ubsan_\w+|"
    r"ubsan_\w+|__sanitizer_\w+|__warn|warn_slowpath\w*|__warn_printk|report_bug|handle_bug|"
    r"do_error_trap|do_trap\w*|do_int3\w*|exc_\w+|asm_exc_\w+|asm_sysvec_\w+|sysvec_\w+|"
    r"program_check_exception|program_check_common\w*|interrupt_return\w*|"
    r"__die\w*|die|oops_\w+|bad_page_fault|__bad_area\w*|bad_area\w*|do_page_fault|__do_page_fault|"
    r"do_user_addr_fault|do_kern_addr_fault|page_fault_oops|kernelmode_fixup_or_oops\w*|"
    r"no_context|spurious_kernel_fault|handle_page_fault|data_access_common\w*|"
    r"panic|nmi_panic|vpanic|_printk|printk\w*|vprintk\w*|"
    r"__might_sleep|__might_fault|__might_resched|lock_acquire|lock_release|lock_is_held_type|"
    r"__lock_acquire|__lock_release|lockdep_\w+|debug_check_\w+|"
    r"entry_SYSCALL\w*|do_syscall_\w+|__do_sys_\w+|__x64_sys_\w+|__ia32_sys_\w+|__arm64_sys_\w+|"
    r"system_call\w*|\w*syscall_exception|el0\w*|el1\w*|invoke_syscall|ret_from_fork\w*|"
    r"kthread|start_kernel|secondary_startup\w*|start_secondary|cpu_startup_entry|do_idle|"
    r"common_startup\w*|x86_64_start\w*|rest_init|kernel_init|"
    # checkers that report on behalf of their caller (syzbot names the caller: "refcount bug in f")
    r"refcount_warn_saturate|__refcount_\w+|refcount_\w+|usercopy_abort|__check_heap_object|"
    r"check_heap_object|__check_object_size|check_object_size|__fortify_\w+|fortify_\w+|"
    r"__list_\w+_valid\w*|__list_valid_\w+|list_\w+_corruption|"
    # the allocator and string helpers a bad access or bad free goes through
    r"kfree|kfree_sensitive|kmem_cache_free|__kmem_cache_free|slab_free\w*|__slab_free|do_slab_free|"
    r"free_debug_processing|__slab_err|slab_err|object_err|slab_bug|print_trailer|"
    r"kmalloc\w*|__kmalloc\w*|kmem_cache_alloc\w*|__kmem_cache_alloc\w*|slab_alloc\w*|"
    r"memcpy|memmove|memset|memcmp|strcpy|strncpy|strscpy|strlen|strnlen|__memcpy|__memset|__memmove"
    r")$"
)


def frame_name(frame: Frame) -> str | None:
    """The function of a frame as compared across builds and arches (no dot, no clone suffix)."""
    if not frame.function:
        return None
    name = _DOT_SYMBOL.sub("", frame.function.strip())
    return _CLONE.sub(r"\1", name)


def frame_signature(report: Report, limit: int = SIGNATURE_FRAMES, reliable_only: bool = True) -> tuple[str, ...]:
    """The top `limit` non-generic, reliable frames of a report (the faulting IP first if printed).

    Only the first stack counts: KASAN's "Allocated by" / "Freed by" stacks and the stacks after
    an interrupt frame start after a gap of lines and say where memory came from, not what crashed.
    """
    names: list[str] = []
    frames = [report.ip] if report.ip is not None else []
    previous_line: int | None = None
    for frame in report.frames:
        if frame.role != "frame":
            continue
        if previous_line is not None and frame.line - previous_line > _STACK_GAP:
            break
        previous_line = frame.line
        frames.append(frame)
    for frame in frames:
        if reliable_only and not frame.reliable:
            continue
        name = frame_name(frame)
        if not name or _GENERIC.match(name) or (names and names[-1] == name):
            continue
        names.append(name)
        if len(names) == limit:
            break
    return tuple(names)


def signature_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """1 - normalized Levenshtein distance between two frame sequences (1.0 = identical)."""
    if not a or not b:
        return 0.0
    return float(Levenshtein.normalized_similarity(list(a), list(b)))


# --- clusters -------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A bug: the reports that share a title (or were merged by a person).

    `titles` and `alt_titles` hold title keys (see `title_key`); `title` is what people read and
    may be renamed freely; `key` is the stable identifier the app stores (unique).
    """

    key: str
    title: str
    titles: set[str] = field(default_factory=set)
    alt_titles: set[str] = field(default_factory=set)
    corrupted: bool = False
    open: bool = True  # a closed (fixed) cluster takes no new crashes; syzbot opens "title (2)"
    signature: tuple[str, ...] = ()  # frame_signature of its first report, for similar()
    guilty: str | None = None  # function of the guilty frame of its first report that names one
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (sorted lists for sets), for a JSONField or an API."""
        return {"key": self.key, "title": self.title, "titles": sorted(self.titles),
                "alt_titles": sorted(self.alt_titles), "corrupted": self.corrupted, "open": self.open,
                "signature": list(self.signature), "guilty": self.guilty, "count": self.count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cluster:
        return cls(key=data["key"], title=data.get("title", data["key"]), titles=set(data.get("titles", ())),
                   alt_titles=set(data.get("alt_titles", ())), corrupted=bool(data.get("corrupted", False)),
                   open=bool(data.get("open", True)), signature=tuple(data.get("signature", ())),
                   guilty=data.get("guilty"), count=int(data.get("count", 0)))


def in_bucket(report: Report) -> bool:
    """Does the report go to the one corrupted-report cluster (corrupted and nothing to file it by)?"""
    return report.corrupted and corrupted_title(report) is None


@dataclass(frozen=True)
class Assignment:
    key: str
    created: bool  # a new cluster was opened for this report
    via: str  # "title" | "alt-title" | "alias" | "previous" | "new" | "corrupted"


class Clusterer:
    """Assigns reports to clusters; holds the clusters and aliases the app loaded from its tables.

    Usage from the app: `c = Clusterer(clusters, aliases)`; `a = c.assign_detail(report)`; when
    `a.created`, store `c.clusters[a.key]`; after the batch, store `c.clusters` that changed and
    `c.aliases`. The same inputs in the same order always give the same keys.
    """

    def __init__(self, clusters: Iterable[Cluster] = (), aliases: Mapping[str, str] | None = None) -> None:
        self.clusters: dict[str, Cluster] = {}
        self.aliases: dict[str, str] = dict(aliases or {})  # title key (or merged cluster key) -> key
        self._by_title: dict[str, set[str]] = defaultdict(set)
        self._by_alt: dict[str, set[str]] = defaultdict(set)
        for cluster in clusters:
            self._add(cluster)

    # -- index

    def _add(self, cluster: Cluster) -> None:
        cluster.titles = {title_key(t) for t in cluster.titles}
        cluster.alt_titles = {title_key(t) for t in cluster.alt_titles}
        self.clusters[cluster.key] = cluster
        self._index(cluster)

    def _index(self, cluster: Cluster) -> None:
        if cluster.corrupted:
            return  # never a home for real crashes
        for t in cluster.titles:
            self._by_title[t].add(cluster.key)
        for t in cluster.alt_titles:
            self._by_alt[t].add(cluster.key)

    def _unindex(self, cluster: Cluster) -> None:
        for t in cluster.titles:
            self._by_title[t].discard(cluster.key)
        for t in cluster.alt_titles:
            self._by_alt[t].discard(cluster.key)

    def resolve_alias(self, title: str) -> str | None:
        """The cluster a (merged) title was sent to, following chains of merges."""
        key = self.aliases.get(title_key(title))
        seen: set[str] = set()
        while key is not None and key not in self.clusters and key not in seen:
            seen.add(key)
            key = self.aliases.get(key)  # a cluster merged away leaves an alias of its key
        return key if key in self.clusters else None

    def _pick(self, keys: set[str], title: str) -> str | None:
        usable = sorted(k for k in keys if self.clusters[k].open)
        if not usable:
            return None
        exact = [k for k in usable if title_key(self.clusters[k].title) == title]
        return (exact or usable)[0]

    # -- assignment

    def find(self, report: Report) -> Assignment | None:
        """The existing cluster a report belongs to, or None; changes nothing."""
        if in_bucket(report):
            return Assignment(CORRUPTED_KEY, CORRUPTED_KEY not in self.clusters, "corrupted")
        titles = report_titles(report)
        for t in titles:  # merges made by people first: they must stick
            key = self.resolve_alias(t)
            if key is not None and self.clusters[key].open and not self.clusters[key].corrupted:
                return Assignment(key, False, "alias")
        for t in titles:  # then syzbot's order: own title before alternatives, titles before alts
            for index, via in ((self._by_title, "title"), (self._by_alt, "alt-title")):
                key = self._pick(index.get(t, set()), t)
                if key is not None:
                    return Assignment(key, False, via if t == titles[0] else "alt-title")
        return None

    def assign_detail(self, report: Report, previous: str | None = None) -> Assignment:
        """Like `assign`, saying how the cluster was found and whether it is new."""
        found = self.find(report)
        if found is None and previous is not None and not in_bucket(report):
            kept = self._previous(report, previous)
            if kept is not None:
                found = kept
        if found is not None and not found.created:
            cluster = self.clusters[found.key]
            if not in_bucket(report):
                self._grow(cluster, report)
            cluster.count += 1
            return found
        if in_bucket(report):
            cluster = Cluster(key=CORRUPTED_KEY, title=CORRUPTED_KEY, corrupted=True, count=1)
            self.clusters[CORRUPTED_KEY] = cluster
            return Assignment(CORRUPTED_KEY, True, "corrupted")
        titles = report_titles(report)
        cluster = Cluster(key=self._new_key(titles[0]),
                          title=report.title.strip() or "untitled", signature=frame_signature(report))
        self._add(cluster)
        self._grow(cluster, report)
        cluster.count = 1
        return Assignment(cluster.key, True, "new")

    def _previous(self, report: Report, previous: str) -> Assignment | None:
        # A re-analysis renamed the crash (a better parser): it stays in the cluster it was in, and
        # its new title becomes an alias of that cluster, so merges and history survive the upgrade.
        key = previous if previous in self.clusters else self.aliases.get(previous)
        if key is None or key not in self.clusters:
            return None
        cluster = self.clusters[key]
        if not cluster.open or cluster.corrupted:
            return None
        self.aliases[report_titles(report)[0]] = key
        return Assignment(key, False, "previous")

    def assign(self, report: Report, previous: str | None = None) -> str:
        """The key of the cluster the report joins (a new one is opened when none matches).

        `previous`: when analysing an old log again, the cluster this crash was in before. It is
        used only if the report's (new) title matches no cluster: the crash then stays where it was.
        """
        return self.assign_detail(report, previous).key

    def _grow(self, cluster: Cluster, report: Report) -> None:
        titles = report_titles(report)
        self._unindex(cluster)
        if titles:
            cluster.titles.add(titles[0])
            cluster.alt_titles.update(titles[1:])
        if not cluster.signature:
            cluster.signature = frame_signature(report)
        if cluster.guilty is None and report.guilty is not None and 0 <= report.guilty < len(report.frames):
            cluster.guilty = frame_name(report.frames[report.guilty])
        self._index(cluster)

    def _new_key(self, base: str) -> str:
        # syzbot names a second bug of the same title "title (2)"; the corrupted cluster's key is
        # reserved even before it exists
        def taken(key: str) -> bool:
            return key in self.clusters or key in self.aliases or key == CORRUPTED_KEY

        if not taken(base):
            return base
        n = 2
        while taken(f"{base} ({n})"):
            n += 1
        return f"{base} ({n})"

    # -- people's edits

    def merge(self, src: str, dst: str) -> dict[str, str]:
        """Merge cluster `src` into `dst`; returns the aliases added (title key -> dst).

        The aliases are what makes the merge stick: store them. `src` disappears from `clusters`.
        """
        if src == dst or src not in self.clusters or dst not in self.clusters:
            raise KeyError(f"cannot merge {src!r} into {dst!r}")
        a, b = self.clusters[src], self.clusters[dst]
        if a.corrupted or b.corrupted:
            raise ValueError("the corrupted-report cluster cannot be merged")
        self._unindex(a)
        self._unindex(b)
        b.titles |= a.titles
        b.alt_titles |= a.alt_titles
        b.count += a.count
        del self.clusters[src]
        added = {t: dst for t in sorted(a.titles)}
        added[src] = dst  # so aliases that pointed at src follow on to dst
        for t, k in self.aliases.items():
            if k == src:
                added[t] = dst
        self.aliases.update(added)
        self._index(b)
        return added

    def split(self, key: str, titles: Iterable[str], new_title: str | None = None) -> str:
        """Move `titles` of cluster `key` to a new cluster; returns its key. Sticks through aliases."""
        cluster = self.clusters[key]
        moved = {title_key(t) for t in titles} & cluster.titles
        if not moved or moved == cluster.titles:
            raise ValueError("a split must move some, not all, of the cluster's titles")
        self._unindex(cluster)
        cluster.titles -= moved
        self._index(cluster)
        first = sorted(moved)[0]
        new = Cluster(key=self._new_key(first), title=new_title or first, titles=moved)
        self._add(new)
        for t in moved:
            self.aliases[t] = new.key
        return new.key

    def rename(self, key: str, title: str) -> None:
        """Change what people read; the key and the matching titles stay."""
        self.clusters[key].title = title


# --- similar clusters -----------------------------------------------------------------------------


def similar(clusters: Iterable[Cluster], threshold: float = 0.75, head: int = 2,
            hub_share: float = 0.1) -> list[tuple[str, str, float]]:
    """Pairs of clusters (key_a < key_b, score) whose stacks look alike, best first.

    Score: 1 - normalized edit distance of the frame signatures (satyr's measure). Because every
    stack shares its syscall or workqueue tail, a pair must also share a crash point: the same first
    frame, or the first frame of one among the first `head` frames of the other (a GPF in a callee
    of the function a KASAN report names). That second case is refused when the shared frame is a
    hub, found near the top of more than `hub_share` of all clusters (a dispatcher such as
    lkdtm_do_action, or an ioctl switch, calls into many unrelated bugs). Corrupted clusters and
    signatures under two frames are left out.
    """
    usable = sorted((c for c in clusters if not c.corrupted and len(c.signature) >= 2), key=lambda c: c.key)
    by_top: dict[str, list[Cluster]] = defaultdict(list)
    for c in usable:
        for name in set(c.signature[:head]):
            by_top[name].append(c)
    hub_limit = max(3, int(hub_share * len(usable)))
    pairs: dict[tuple[str, str], float] = {}
    for c in usable:
        top = c.signature[0]
        for other in by_top.get(top, ()):
            if other.key == c.key:
                continue
            pair = (c.key, other.key) if c.key < other.key else (other.key, c.key)
            if pair in pairs:
                continue
            if other.signature[0] != top and len(by_top[top]) > hub_limit:
                continue
            score = signature_similarity(c.signature, other.signature)
            if score >= threshold:
                pairs[pair] = round(score, 4)
    return sorted(((a, b, s) for (a, b), s in pairs.items()), key=lambda p: (-p[2], p[0], p[1]))


# --- measuring ------------------------------------------------------------------------------------


def pair_counts(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[int, int, int]:
    """(pairs together in both, pairs together in `predicted`, pairs together in `truth`).

    Counts, not ratios, so that separate clusterings (one per arch, say) can be summed.
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted must label the same items")
    both: dict[tuple[Hashable, Hashable], int] = defaultdict(int)
    by_truth: dict[Hashable, int] = defaultdict(int)
    by_pred: dict[Hashable, int] = defaultdict(int)
    for t, p in zip(truth, predicted, strict=True):
        both[(t, p)] += 1
        by_truth[t] += 1
        by_pred[p] += 1
    return (sum(comb(n, 2) for n in both.values()), sum(comb(n, 2) for n in by_pred.values()),
            sum(comb(n, 2) for n in by_truth.values()))


def precision_recall(tp: int, pred_pairs: int, true_pairs: int) -> tuple[float, float]:
    """Pairwise precision and recall from `pair_counts` (summed); 1.0 when there are no pairs."""
    return (tp / pred_pairs if pred_pairs else 1.0, tp / true_pairs if true_pairs else 1.0)


def pairwise_precision_recall(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against true labels, item by item.

    Precision: of the pairs put in one cluster, the share that are truly the same crash; recall: of
    the pairs that are the same crash, the share put in one cluster. 1.0 when there are no pairs.
    """
    return precision_recall(*pair_counts(truth, predicted))
