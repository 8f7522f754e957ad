"""Similar-cluster proposals: pairs of clusters whose stacks look alike across titles (a KASAN read and
write in one function, a GPF and a KASAN report on one call path), for a person to merge."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .clusterer import Cluster
from .signatures import signature_similarity


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
