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

Modules: titles (title keys, corrupted titles), signatures (frame signatures and their similarity),
clusterer (Cluster, Clusterer), similar (similar-cluster proposals), measure (pairwise precision and
recall). Everything is imported from `workers.cluster`.
"""

from __future__ import annotations

from .clusterer import CORRUPTED_KEY, Assignment, Cluster, Clusterer, in_bucket
from .measure import pair_counts, pairwise_precision_recall, precision_recall
from .signatures import SIGNATURE_FRAMES, frame_name, frame_signature, signature_similarity
from .similar import similar
from .titles import CORRUPTED_FRAMES, corrupted_title, report_titles, title_key

__all__ = [
    "CORRUPTED_FRAMES", "CORRUPTED_KEY", "SIGNATURE_FRAMES", "Assignment", "Cluster", "Clusterer",
    "corrupted_title", "frame_name", "frame_signature", "in_bucket", "pair_counts",
    "pairwise_precision_recall", "precision_recall", "report_titles", "signature_similarity", "similar",
    "title_key",
]
