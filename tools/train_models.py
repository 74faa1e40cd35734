#!/usr/bin/python3
"""Train the analyser's linear models and write models/NAME.samodel.

  social   three-class sentiment (negative, neutral, positive) of short
           social-media text, trained on
           sentiment_train/semeval_2013_2016_train.tsv, tuned on
           sentiment_dev/tweeteval_sentiment_val.tsv (regularisation and
           two class offsets; nothing else reads it);
  emotion  Ekman emotions plus neutral, trained on
           emotion_dev/goemotions_ekman_train.tsv (offsets tuned on
           five-fold out-of-fold logits of all of it, offsets="oof", or
           with offsets="heldout" on a held-out tenth; then retrained on
           all); the dev file is only read for the printed report.

Features are not computed here: tools/dump-features (built from the
analyser's own src/analyzer/features.c) writes them, so the C scorer sees
exactly what the model was trained on.  The social model is a softmax regression
(scikit-learn, SAGA, L2, classes balanced: each class's total weight
proportional to its share of the rows to the power 1 - balance, so 1 is
fully balanced, 0 the data's own proportions) on feature counts
divided by the square root of the row's number of features.  For both
models the weights are quantised to int8 with one scale per class, and every figure printed is that of the
quantised model as the C code computes it (integer sums, then
bias + scale * sum).

The emotion model (method "nbovr", its default since version 3) is
instead one-vs-rest NB-LR: one binary logistic regression per class on
the same features scaled by their naive Bayes log-count ratio for that
class, the scaling folded into the weights, so the C code scores it
exactly as a softmax model (one linear function per class, arg max) and
at the same cost.  Version 2's softmax is still available for comparison:
SA_TRAIN_METHOD=softmax SA_TRAIN_C=32 SA_TRAIN_OFFSETS=heldout.

Deterministic: single-threaded numerical libraries, fixed data order, no
random state; a rerun writes byte-identical files.  Training and its
packages (Debian: python3-numpy python3-scipy python3-sklearn) are never
needed to build or run the analyser.  Run from the repository root:

    /usr/bin/python3 tools/train_models.py [--data ../shared/data] [social|emotion ...]
"""

import os

# Single-threaded BLAS: the same sums in the same order on every run.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import struct
import subprocess
import sys

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression


FORMAT = 1
HEADER = 256

# Feature flags, as in src/analyzer/model_internal.h.
F_WORD, F_BIGRAM, F_NEG, F_CHAR, F_VADER, F_PUNCT, F_SOCIAL, F_NORM, F_AFFIX = 1, 2, 4, 8, 16, 32, 64, 128, 256

MODELS = {
    "social": dict(
        version=1,
        classes=["negative", "neutral", "positive"],
        lanes=4,
        flags=F_WORD | F_BIGRAM | F_NEG | F_VADER | F_PUNCT | F_SOCIAL | F_NORM,
        bits=16, neg_scope=3, char_min=3, char_max=5,
        C=[8.0], epochs=20, balance=1.0,
        train="sentiment_train/semeval_2013_2016_train.tsv",
        tune="sentiment_dev/tweeteval_sentiment_val.tsv",
    ),
    "emotion": dict(
        version=3,
        classes=["neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise"],
        lanes=8,
        flags=F_WORD | F_BIGRAM | F_NEG | F_AFFIX | F_VADER | F_PUNCT | F_SOCIAL | F_NORM,
        bits=17, neg_scope=3, char_min=3, char_max=5,
        C=[2.0], epochs=40, balance=1.0, offsets="oof", folds=5,
        method="nbovr", nb_alpha=0.5,
        train="emotion_dev/goemotions_ekman_train.tsv",
        tune=None,
        report="emotion_dev/goemotions_ekman_dev.tsv",
    ),
}


def read_tsv(path, classes):
    """Label lists and texts; LF records, TAB fields, no quoting."""
    with open(path, "rb") as fh:
        data = fh.read().decode("utf-8")
    labels = []
    for line in data.split("\n")[1:]:
        if not line:
            continue
        lab = line.split("\t", 1)[0]
        labels.append([classes.index(x) for x in lab.split(",")])
    return labels


class Feats:
    """Feature counts of a data file (CSR, one row per data row) and the
    number of features of each row (repeats counted, as the C code's n)."""

    def __init__(self, counts, n, norm):
        self.counts = counts
        self.n = n
        self.norm = norm

    def matrix(self):
        """What the model sees: counts, divided by sqrt(n) when normalised."""
        if not self.norm:
            return self.counts
        r = np.sqrt(np.maximum(self.n, 1).astype(np.float64))
        return (sp.diags(1.0 / r) @ self.counts).tocsr()

    def rows(self, idx):
        return Feats(self.counts[idx], self.n[idx], self.norm)


def features(path, cfg, dumper, bits=None):
    """Feats of a TSV file, from tools/dump-features."""
    args = [dumper, str(cfg["flags"]), str(bits or cfg["bits"]), str(cfg["neg_scope"]),
            str(cfg["char_min"]), str(cfg["char_max"])]
    with open(path, "rb") as fh:
        raw = subprocess.run(args, stdin=fh, stdout=subprocess.PIPE, check=True).stdout
    a = np.frombuffer(raw, dtype="<u4")
    indptr = [0]
    cols = []
    i = 0
    while i < len(a):
        n = int(a[i])
        cols.append(a[i + 1:i + 1 + n])
        indptr.append(indptr[-1] + n)
        i += 1 + n
    col = np.concatenate(cols).astype(np.int64)
    data = np.ones(len(col), dtype=np.float64)
    m = sp.csr_matrix((data, col, np.array(indptr)), shape=(len(indptr) - 1, 1 << (bits or cfg["bits"])))
    m.sum_duplicates()
    return Feats(m, np.diff(np.array(indptr)), bool(cfg["flags"] & F_NORM))


def nb_ratios(F, labels, ncls, alpha):
    """Naive Bayes log-count ratios (Wang and Manning, 2012) of feature
    presence, one column per class against the rest: log of (rows of the
    class with the feature + alpha) / (its feature total) over the same for
    the other rows."""
    B = (F.counts > 0).astype(np.float64).tocsr()
    R = np.zeros((B.shape[1], ncls))
    for c in range(ncls):
        t = np.array([c in labs for labs in labels])
        p = np.asarray(B[t].sum(0)).ravel() + alpha
        q = np.asarray(B[~t].sum(0)).ravel() + alpha
        R[:, c] = np.log((p / p.sum()) / (q / q.sum()))
    return R


def fit_nbovr(F, labels, ncls, C, epochs, alpha):
    """One-vs-rest NB-LR: for each class a binary logistic regression (a
    row is positive when it carries the label, the two sides weighted
    equally) on the features times |their NB log-count ratio| for that
    class.  The scaling is folded into the weights (w * |r|), so the model
    scores exactly like a softmax model: one linear function per class of
    the same features, arg max of the logits."""
    X = F.matrix()
    R = np.abs(nb_ratios(F, labels, ncls, alpha))
    W = np.zeros((X.shape[1], ncls))
    b = np.zeros(ncls)
    for c in range(ncls):
        t = np.array([1 if c in labs else 0 for labs in labels])
        p = t.mean()
        w = np.where(t == 1, 0.5 / p, 0.5 / (1 - p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegression(C=C, solver="saga", max_iter=epochs, tol=1e-4,
                                     random_state=0)
            clf.fit((X @ sp.diags(R[:, c])).tocsr(), t, sample_weight=w)
        W[:, c] = clf.coef_[0] * R[:, c]
        b[c] = clf.intercept_[0]
    return W, b


def fit(F, labels, ncls, C, epochs, balance=1.0, method="softmax", nb_alpha=0.5):
    """Softmax regression; a row with k labels counts 1/k towards each.
    With method "nbovr", fit_nbovr() instead."""
    if method == "nbovr":
        return fit_nbovr(F, labels, ncls, C, epochs, nb_alpha)
    X = F.matrix()
    rows, ys, ws = [], [], []
    for i, labs in enumerate(labels):
        for lab in labs:
            rows.append(i)
            ys.append(lab)
            ws.append(1.0 / len(labs))
    Xr = X[np.array(rows)]
    y = np.array(ys)
    w = np.array(ws)
    # Balanced classes: each class carries the same total weight, which is
    # what macro averages reward (balance 1); with balance b < 1 a class's
    # weight is multiplied by (mean / its own total)^b, partly balanced.
    tot = np.bincount(y, weights=w, minlength=ncls)
    if balance == 1.0:
        w = w * (w.sum() / (ncls * tot[y]))
    else:
        w = w * (w.sum() / (ncls * tot[y])) ** balance
    # SAGA with a fixed seed and a fixed number of passes: a few seconds
    # per pass, and the same weights on every run.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=C, solver="saga", max_iter=epochs, tol=1e-4,
                                 random_state=0)
        clf.fit(Xr, y, sample_weight=w)
    return clf.coef_.T.copy(), clf.intercept_.copy()


class Quantised:
    """The model as the C code holds it."""

    def __init__(self, W, b, lanes):
        ncls = W.shape[1]
        self.scale = np.zeros(8)
        self.bias = np.zeros(8)
        self.q = np.zeros((W.shape[0], lanes), dtype=np.int8)
        for c in range(ncls):
            m = np.abs(W[:, c]).max()
            s = m / 127.0 if m > 0 else 1.0
            self.scale[c] = s
            self.q[:, c] = np.clip(np.rint(W[:, c] / s), -127, 127).astype(np.int8)
        self.bias[:ncls] = b
        self.ncls = ncls

    def logits(self, F):
        """As model.c: integer sums, then bias + scale * (sum / sqrt(n))."""
        z = F.counts.astype(np.int64) @ self.q[:, :self.ncls].astype(np.int64)
        z = np.asarray(z, dtype=np.float64)
        if F.norm:
            z = z / np.sqrt(np.maximum(F.n, 1).astype(np.float64))[:, None]
        return self.bias[:self.ncls] + self.scale[:self.ncls] * z


def predict(Z, off):
    # argmax, the lowest class on ties (as the C code)
    return np.argmax(Z + off, axis=1)


def macro_recall(gold, pred, ncls):
    g = np.array([x[0] for x in gold])
    rec = [np.mean(pred[g == c] == c) for c in range(ncls)]
    return float(np.mean(rec)), float(np.mean(pred == g)), rec


def macro_f1(gold, pred, ncls):
    """Strict multi-label macro-F1 as bench/analysis_bench.c computes it."""
    tp = np.zeros(ncls)
    fp = np.zeros(ncls)
    fn = np.zeros(ncls)
    for labs, p in zip(gold, pred):
        if p in labs:
            tp[p] += 1
        else:
            fp[p] += 1
        for lab in labs:
            if lab != p:
                fn[lab] += 1
    f1 = []
    for c in range(ncls):
        pr = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        rc = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0
        f1.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return float(np.mean(f1)), f1


def tune_offsets(Z, gold, ncls, metric):
    """Coordinate ascent on per-class logit offsets (class 0 fixed)."""
    off = np.zeros(ncls)
    best = metric(gold, predict(Z, off), ncls)[0]
    steps = np.arange(-3.0, 3.0001, 0.1)
    for _ in range(3):
        for c in range(1, ncls):
            for s in steps:
                trial = off.copy()
                trial[c] = round(float(s), 2)
                f = metric(gold, predict(Z, trial), ncls)[0]
                if f > best + 1e-12:
                    best, off = f, trial
    return off, best


def write_model(path, name, cfg, qm, offsets):
    ncls = len(cfg["classes"])
    bias = qm.bias.copy()
    bias[:ncls] += offsets
    table = qm.q.tobytes()
    classes = ",".join(cfg["classes"]).encode()
    assert len(classes) < 48 and len(name) < 16
    head = b"SAMODEL\0"
    head += struct.pack("<II", FORMAT, HEADER)
    head += name.encode().ljust(16, b"\0")
    head += struct.pack("<IIIIIIII", cfg["version"], ncls, cfg["lanes"], cfg["bits"],
                        cfg["flags"], cfg["neg_scope"], cfg["char_min"], cfg["char_max"])
    head += struct.pack("<8d", *qm.scale)
    head += struct.pack("<8d", *bias)
    head += struct.pack("<II", len(table), 1)
    head += classes.ljust(48, b"\0")
    assert len(head) == 248
    h = 0xcbf29ce484222325
    for part in (head, table):
        for byte in part:
            h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    with open(path, "wb") as fh:
        fh.write(head + struct.pack("<Q", h) + table)
    return h


def train_social(args, cfg):
    ncls = 3
    trp = os.path.join(args.data, cfg["train"])
    tup = os.path.join(args.data, cfg["tune"])
    ytr = read_tsv(trp, cfg["classes"])
    ytu = read_tsv(tup, cfg["classes"])
    Xtr = features(trp, cfg, args.dumper)
    Xtu = features(tup, cfg, args.dumper)
    best = None
    for C in cfg["C"]:
        W, b = fit(Xtr, ytr, ncls, C, cfg["epochs"], cfg["balance"])
        qm = Quantised(W, b, cfg["lanes"])
        Z = qm.logits(Xtu)
        mr, acc, _ = macro_recall(ytu, predict(Z, np.zeros(ncls)), ncls)
        print("social C=%g: tweeteval val macro-recall %.4f accuracy %.4f (no offsets)"
              % (C, mr, acc), file=sys.stderr)
        if best is None or mr > best[0]:
            best = (mr, C, qm, Z)
    _, C, qm, Z = best
    off, _ = tune_offsets(Z, ytu, ncls, lambda g, p, n: macro_recall(g, p, n))
    mr, acc, rec = macro_recall(ytu, predict(Z, off), ncls)
    print("social: C=%g offsets %s -> tweeteval val macro-recall %.4f accuracy %.4f (recall %s)"
          % (C, off.tolist(), mr, acc, " ".join("%.3f" % r for r in rec)))
    return qm, off


def train_emotion(args, cfg):
    """Offsets tuned on a held-out tenth (offsets "heldout"), or on
    out-of-fold logits of the whole training file (offsets "oof": row i is
    in fold i % folds, one model per fold trained on the others); C, when
    several are given, is chosen by the same figure.  Then the model is
    retrained on all of the file."""
    ncls = len(cfg["classes"])
    trp = os.path.join(args.data, cfg["train"])
    y = read_tsv(trp, cfg["classes"])
    X = features(trp, cfg, args.dumper)
    idx = np.arange(X.counts.shape[0])
    if cfg["offsets"] == "oof":
        K = cfg["folds"]
        splits = [(idx[idx % K != k], idx[idx % K == k]) for k in range(K)]
        what = "out-of-fold"
    else:
        splits = [(idx[idx % 10 != 0], idx[idx % 10 == 0])]
        what = "held-out"
    tuned = np.concatenate([te for _, te in splits])
    gold = [y[i] for i in tuned]
    best = None
    for C in cfg["C"]:
        Z = np.zeros((len(idx), ncls))
        for tr, te in splits:
            W, b = fit(X.rows(tr), [y[i] for i in tr], ncls, C, cfg["epochs"], cfg["balance"],
                       cfg["method"], cfg["nb_alpha"])
            Z[te] = Quantised(W, b, cfg["lanes"]).logits(X.rows(te))
        Z = Z[tuned]
        off, f = tune_offsets(Z, gold, ncls, macro_f1)
        print("emotion C=%g: %s macro-F1 %.4f offsets %s" % (C, what, f, off.tolist()),
              file=sys.stderr)
        if best is None or f > best[0]:
            best = (f, C, off)
    _, C, off = best
    W, b = fit(X, y, ncls, C, cfg["epochs"], cfg["balance"], cfg["method"], cfg["nb_alpha"])
    qm = Quantised(W, b, cfg["lanes"])
    if cfg.get("report"):
        dp = os.path.join(args.data, cfg["report"])
        yd = read_tsv(dp, cfg["classes"])
        Zd = qm.logits(features(dp, cfg, args.dumper))
        f, per = macro_f1(yd, predict(Zd, off), ncls)
        print("emotion: C=%g goemotions dev macro-F1 %.4f (%s)"
              % (C, f, " ".join("%s %.3f" % (n, x) for n, x in zip(cfg["classes"], per))))
    return qm, off


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("SP_SHARED_DATA", "../shared/data"))
    ap.add_argument("--out-dir", default="models")
    ap.add_argument("--dumper", default="src/analyzer/dump-features")
    ap.add_argument("models", nargs="*", default=["social", "emotion"])
    args = ap.parse_args()
    subprocess.run(["make", "-s", "-C", "src/analyzer", "dump-features"], check=True)
    for name in args.models:
        cfg = dict(MODELS[name])
        # For exploring only; the committed models use the defaults above.
        for key in ("flags", "bits", "char_min", "char_max", "epochs"):
            env = os.environ.get("SA_TRAIN_" + key.upper())
            if env:
                cfg[key] = int(env, 0)
        if os.environ.get("SA_TRAIN_OFFSETS"):
            cfg["offsets"] = os.environ["SA_TRAIN_OFFSETS"]
        if os.environ.get("SA_TRAIN_METHOD"):
            cfg["method"] = os.environ["SA_TRAIN_METHOD"]
        if os.environ.get("SA_TRAIN_NB_ALPHA"):
            cfg["nb_alpha"] = float(os.environ["SA_TRAIN_NB_ALPHA"])
        if os.environ.get("SA_TRAIN_BALANCE"):
            cfg["balance"] = float(os.environ["SA_TRAIN_BALANCE"])
        if os.environ.get("SA_TRAIN_C"):
            cfg["C"] = [float(x) for x in os.environ["SA_TRAIN_C"].split(",")]
        qm, off = (train_social if name == "social" else train_emotion)(args, cfg)
        path = os.path.join(args.out_dir, name + ".samodel")
        h = write_model(path, name, cfg, qm, off)
        print("wrote %s: %d bytes, version %d, checksum %016x"
              % (path, os.path.getsize(path), cfg["version"], h))


if __name__ == "__main__":
    main()
