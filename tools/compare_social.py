#!/usr/bin/python3
"""Paired bootstrap of two social candidates' macro-recall.

Each argument is a file written by tools/train_models.py with
SA_TRAIN_SAVE_OOF=PATH (PATH.npz: out-of-fold logits of the training
file, offsets included; PATH.val.npz: the quantised model's TweetEval
validation logits; PATH.holdout.npz: the logits on the SemEval-2016
test rows of a model trained without them, compared only when both
candidates have one).  Prints, for B against A, the difference in
macro-recall on each, its 95% interval over 1,000 resamples of the rows
(the same resamples for both candidates; seed 0, so reruns agree), and
out-of-fold the difference in each of the five folds (row i in fold
i % 5, as the trainer).  Run from the repository root:

    /usr/bin/python3 tools/compare_social.py A B
"""

import os
import sys

import numpy as np


def recall_sums(pred, y, ncls=3):
    """Per row, one-hot of its class and whether it is right, so that a
    resample's per-class recall is a ratio of sums."""
    hit = np.zeros((len(y), ncls))
    hit[np.arange(len(y)), y] = (pred == y)
    cnt = np.zeros((len(y), ncls))
    cnt[np.arange(len(y)), y] = 1.0
    return hit, cnt


def macro_recall(hit, cnt, w):
    return np.mean((w @ hit) / (w @ cnt), axis=-1)


def compare(what, a, b, folds):
    ya, yb = a["y"], b["y"]
    assert (ya == yb).all()
    pa, pb = a["Z"].argmax(1), b["Z"].argmax(1)
    ha, c = recall_sums(pa, ya)
    hb, _ = recall_sums(pb, ya)
    one = np.ones(len(ya))
    ma, mb = macro_recall(ha, c, one), macro_recall(hb, c, one)
    rng = np.random.RandomState(0)
    n = len(ya)
    diffs = []
    for _ in range(1000):
        w = np.bincount(rng.randint(0, n, n), minlength=n).astype(np.float64)
        diffs.append(macro_recall(hb, c, w) - macro_recall(ha, c, w))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    line = "%s: A %.4f, B %.4f, B - A %+.4f (95%% interval %+.4f to %+.4f)" % (what, ma, mb, mb - ma, lo, hi)
    if folds:
        per = []
        for k in range(folds):
            m = (np.arange(n) % folds == k).astype(np.float64)
            per.append(macro_recall(hb, c, m) - macro_recall(ha, c, m))
        line += "; per fold %s" % " ".join("%+.4f" % x for x in per)
    print(line)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    A, B = sys.argv[1:]
    compare("out-of-fold", np.load(A + ".npz"), np.load(B + ".npz"), 5)
    compare("tweeteval val", np.load(A + ".val.npz"), np.load(B + ".val.npz"), 0)
    if os.path.exists(A + ".holdout.npz") and os.path.exists(B + ".holdout.npz"):
        compare("2016 hold-out", np.load(A + ".holdout.npz"), np.load(B + ".holdout.npz"), 0)


if __name__ == "__main__":
    main()
