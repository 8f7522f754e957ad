"""The clusterer: clusters (bugs) and the rules that assign reports to them, merge and split them.

See the package docstring for the rules; the app stores what `Clusterer` holds after a batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.report import Report

from .signatures import frame_name, frame_signature
from .titles import corrupted_title, report_titles, title_key

CORRUPTED_KEY = "corrupted report"


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
