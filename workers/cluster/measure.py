"""Measuring a clustering against true labels: pairwise precision and recall (for the corpus scores
and tests, not for assigning)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from math import comb


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
