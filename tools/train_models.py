#!/usr/bin/python3
"""Train the analyser's linear models and write models/NAME.samodel.

  social   three-class sentiment (negative, neutral, positive) of short
           social-media text, trained on
           sentiment_train/semeval_2013_2016_train.tsv (the temperature,
           and up to version 4 class offsets, fitted on five-fold
           out-of-fold logits of it; the 2016 hold-out, HOLDOUT below,
           reported); sentiment_dev/tweeteval_sentiment_val.tsv is only
           read for the printed report: plain, and reweighted to the class
           shares of TweetEval's test split (TEST_SHARES below);
  emotion  Ekman emotions plus neutral, trained on
           emotion_dev/goemotions_ekman_train.tsv (offsets tuned on
           five-fold out-of-fold logits of all of it, offsets="oof", or
           with offsets="heldout" on a held-out tenth; then retrained on
           all); the dev file is only read for the printed report.

Calibration (since social 2, emotion 4), fitted on the out-of-fold logits
of the training file, never on a dev file: social's temperature T (the
one that minimises the log-loss of the three probabilities) is folded
into its scales and biases, so the C code's softmax is the calibrated
one; the emotion model's score, the softmax probability p of its label,
is mapped to 1 / (1 + ((1 - p) / p)^a * e^-c) (a logistic regression of
"the label is right" on log(p / (1 - p))), a and c stored in the unused
eighth lane's scale and bias (format 2; a file without a calibration is
written as format 1).  Both report the expected
calibration error (top label, 15 equal bins) before and after.

Distillation (since social 3, method "distil"): social is still one
linear function per class over the same features, at the same cost, but
it is fitted to soft targets, half its label and half the probabilities
of a larger teacher trained on the same rows (teacher_probs(): a
fastText-style hidden layer over the features plus character 3-5-grams,
whatever n-grams the student reads, fit_mlp(), with the linear model
beside it); the teacher only exists
while training.  Out-of-fold, each fold's student learns from a teacher
trained without that fold.  For comparing candidates (docs/models.md,
"Other targets and teachers"; none beat version 3):
SA_TRAIN_TEACHER_FOLDS=K gives each row the probabilities of a teacher
trained without it (K inner folds), SA_TRAIN_TEACHER_SEEDS=0,1,2 averages
the hidden layer over seeds, SA_TRAIN_TEACHER_HIDDEN, _MIX, _HARD and
_TEMPERATURE set the rest; SA_TRAIN_TEACHER_CACHE=DIR keeps a teacher's
log-odds for the next student on it, SA_TRAIN_SAVE_OOF=PATH the
candidate's logits for tools/compare_social.py (a paired bootstrap);
SA_TRAIN_HOLDOUT=0 skips the 2016 hold-out (holdout()), and
SA_TRAIN_OFFSETS=oof fits class offsets out of fold, as versions 2 to 4.

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


FORMAT = 2          # written when a model has a top-label calibration
FORMAT_PLAIN = 1    # otherwise (the same layout, the eighth slot unused)
HEADER = 256
CAL_SLOT = 7        # the eighth scale and bias: top-label calibration a, c
ECE_BINS = 15
# TweetEval sentiment test split (SemEval-2017), published class shares:
# negative, neutral, positive.  Dev figures are also reported with the dev
# rows reweighted to these shares.
TEST_SHARES = (0.32, 0.48, 0.19)
# The training file keeps its source's order: the SemEval files of 2013 to
# 2016, one after another.  Data rows [22518, 42514) are SemEval-2016's
# test set (19,996 tweets; matched text for text against the source
# repository the shared data's README names).  Like TweetEval's test split
# (SemEval-2017), it is later than most training rows and about topics
# chosen for its year, so a model trained without it and scored on it
# meets the shift the test split brings, which random folds hide ("the
# 2016 hold-out", docs/models.md).
# The rows are only valid for the file of this digest.
HOLDOUT = dict(name="SemEval-2016 test", first=22518, end=42514,
               sha256="2fd0475499721c2f")

# Feature flags, as in src/analyzer/model_internal.h.
F_WORD, F_BIGRAM, F_NEG, F_CHAR, F_VADER, F_PUNCT, F_SOCIAL, F_NORM, F_AFFIX = 1, 2, 4, 8, 16, 32, 64, 128, 256

MODELS = {
    "social": dict(
        version=5,
        classes=["negative", "neutral", "positive"],
        lanes=4,
        # Version 5 is version 3's recipe without class offsets, chosen on
        # the 2016 hold-out (docs/models.md, "The 2016 hold-out: version
        # 5"), where version 4's character 5-grams and the offsets both
        # lost.  SA_TRAIN_OFFSETS=oof SA_TRAIN_VERSION=3 rebuilds version 3
        # byte for byte; SA_TRAIN_OFFSETS=oof SA_TRAIN_FLAGS=0xff
        # SA_TRAIN_CHAR_MIN=5 SA_TRAIN_CHAR_MAX=5 SA_TRAIN_VERSION=4
        # rebuilds version 4.
        flags=F_WORD | F_BIGRAM | F_NEG | F_VADER | F_PUNCT | F_SOCIAL | F_NORM,
        bits=16, neg_scope=3, char_min=3, char_max=5, offsets="none",
        C=[8.0], epochs=20, balance=1.0, folds=5, calibrate="temperature",
        # since version 3 (method "distil"): a softmax regression on soft
        # targets from a teacher that is trained, not shipped
        # (teacher_probs(), fit_soft()); SA_TRAIN_METHOD=softmax
        # SA_TRAIN_OFFSETS=oof SA_TRAIN_VERSION=2 rebuilds version 2 byte
        # for byte
        method="distil",
        distil=dict(hard=0.5, mix=0.7, hidden=32, temperature=1.0, folds=0, seeds=[0],
                    char_min=3, char_max=5,
                    mlp=dict(epochs=3, lr=5e-4, batch=64, init=0.05, seed=0)),
        train="sentiment_train/semeval_2013_2016_train.tsv",
        report="sentiment_dev/tweeteval_sentiment_val.tsv",
    ),
    "emotion": dict(
        version=4,
        classes=["neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise"],
        lanes=8,
        flags=F_WORD | F_BIGRAM | F_NEG | F_AFFIX | F_VADER | F_PUNCT | F_SOCIAL | F_NORM,
        bits=17, neg_scope=3, char_min=3, char_max=5,
        C=[2.0], epochs=40, balance=1.0, offsets="oof", folds=5,
        method="nbovr", nb_alpha=0.5, calibrate="toplabel",
        train="emotion_dev/goemotions_ekman_train.tsv",
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


def fit_mlp(F, labels, ncls, d):
    """A fastText-style hidden layer over the same hashed features: the
    text's feature vector x (counts / sqrt(n)) times a learnt table E
    (one row of H values per feature: the features' embeddings summed),
    plus a bias, through ReLU, then a linear layer to the class logits.
    Trained on the balanced cross-entropy with Adam on mini-batches
    (lazy: only the rows of E a batch touches move), a fixed seed and a
    fixed number of passes, in float32; deterministic.  Returns E, b1, W2,
    b2.  Only the first label of a row is used (social has one).  d is
    the model's "distil" settings: d["hidden"] values per feature, d["mlp"]
    the optimiser's."""
    o = d["mlp"]
    H = d["hidden"]
    X = F.matrix().astype(np.float32).tocsr()
    y = np.array([labs[0] for labs in labels])
    rng = np.random.RandomState(o["seed"])
    N, V = X.shape
    E = (rng.randn(V, H) * o["init"]).astype(np.float32)
    b1 = np.zeros(H, np.float32)
    W2 = (rng.randn(H, ncls) * np.sqrt(1.0 / H)).astype(np.float32)
    b2 = np.zeros(ncls, np.float32)
    P = [E, b1, W2, b2]
    M = [np.zeros_like(q) for q in P]
    S = [np.zeros_like(q) for q in P]
    cw = (N / (ncls * np.bincount(y, minlength=ncls)))[y].astype(np.float32)
    beta1, beta2, lr, t = 0.9, 0.999, o["lr"], 0
    for _ in range(o["epochs"]):
        perm = rng.permutation(N)
        for s in range(0, N, o["batch"]):
            bi = perm[s:s + o["batch"]]
            Xb, yb, wb = X[bi], y[bi], cw[bi]
            cols = np.unique(Xb.indices)
            Xs = Xb[:, cols]
            pre = Xs @ E[cols] + b1
            h = np.maximum(pre, 0)
            z = h @ W2 + b2
            z -= z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            g = p
            g[np.arange(len(yb)), yb] -= 1
            g *= (wb / wb.sum())[:, None]
            gpre = (g @ W2.T) * (pre > 0)
            grads = [Xs.T @ gpre, gpre.sum(0), h.T @ g, g.sum(0)]
            t += 1
            c1, c2 = 1 - beta1 ** t, 1 - beta2 ** t
            for i, gr in enumerate(grads):
                if i == 0:
                    M[0][cols] = beta1 * M[0][cols] + (1 - beta1) * gr
                    S[0][cols] = beta2 * S[0][cols] + (1 - beta2) * gr * gr
                    E[cols] -= lr * (M[0][cols] / c1) / (np.sqrt(S[0][cols] / c2) + 1e-8)
                else:
                    M[i] = beta1 * M[i] + (1 - beta1) * gr
                    S[i] = beta2 * S[i] + (1 - beta2) * gr * gr
                    P[i] -= lr * (M[i] / c1) / (np.sqrt(S[i] / c2) + 1e-8)
    return [q.astype(np.float64) for q in P]



def log_softmax(Z):
    Z = Z - Z.max(1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(1, keepdims=True))


def teacher_fit(X, labels, ncls, cfg, C):
    """The teacher of a distilled model (method "distil") trained on X (a
    FeatPair): fit_mlp() over the features with character n-grams (X.c),
    once per seed in d["seeds"], and the softmax regression over the
    student's features (X.w).  Returns a function giving its log-odds on
    other rows: the hidden layers' log-probabilities averaged over the
    seeds, weighted mix against the linear model's 1 - mix, in floating
    point (the teacher is never quantised nor shipped)."""
    d = cfg["distil"]
    nets = [fit_mlp(X.c, labels, ncls, dict(d, mlp=dict(d["mlp"], seed=s)))
            for s in d["seeds"]]
    W, b = fit(X.w, labels, ncls, C, cfg["epochs"], cfg["balance"])

    def probs(R):
        Zm = sum(log_softmax(np.maximum(R.c.matrix() @ E + b1, 0) @ W2 + b2)
                 for E, b1, W2, b2 in nets) / len(nets)
        Zl = R.w.matrix() @ W + b
        return d["mix"] * Zm + (1 - d["mix"]) * log_softmax(np.asarray(Zl))
    return probs


def teacher_probs(X, labels, ncls, cfg, C):
    """The teacher's probabilities on the rows of X at d["temperature"]
    (above 1: softer), the student's soft targets.  With d["folds"] = 0
    (version 3) one teacher is trained on all of X and read back on the
    same rows (in-sample: confident on the rows it has learnt); with
    d["folds"] = K each row gets the log-odds of a teacher trained without
    it (row i of X in inner fold i % K, K teachers), as the teacher would
    read an unseen text.  SA_TRAIN_TEACHER_CACHE=DIR keeps the log-odds
    of each teacher setting and set of rows there, for trying students
    (hard, temperature) on one teacher."""
    d = cfg["distil"]
    K = d.get("folds", 0)
    cache = os.environ.get("SA_TRAIN_TEACHER_CACHE")
    if cache:
        import hashlib
        key = hashlib.sha1(repr((sorted((k, v) for k, v in d.items() if k not in ("hard", "temperature")),
                                 C, cfg["epochs"], cfg["balance"], cfg["flags"], labels)).encode()
                           + X.w.counts.indptr.tobytes() + X.w.counts.indices.tobytes()).hexdigest()
        path = os.path.join(cache, key + ".npy")
        if os.path.exists(path):
            return softmax(np.load(path) / d["temperature"])
    if K < 2:
        Z = teacher_fit(X, labels, ncls, cfg, C)(X)
    else:
        idx = np.arange(X.counts.shape[0])
        Z = np.zeros((len(idx), ncls))
        for k in range(K):
            tr, te = idx[idx % K != k], idx[idx % K == k]
            Z[te] = teacher_fit(X.rows(tr), [labels[i] for i in tr], ncls, cfg, C)(X.rows(te))
    if cache:
        np.save(path, Z)
    return softmax(Z / d["temperature"])


def fit_soft(F, labels, P, ncls, C, epochs, hard):
    """Softmax regression on soft targets: hard * the label + (1 - hard) *
    the teacher's probabilities P, each row once per class with its
    target as weight, and the classes balanced (each class's total target
    the same, the total the number of rows, as fit() with balance 1)."""
    X = F.matrix()
    N = X.shape[0]
    Y = np.zeros((N, ncls))
    Y[np.arange(N), [labs[0] for labs in labels]] = 1.0
    T = hard * Y + (1 - hard) * P
    Wt = T * (T.sum() / (ncls * T.sum(0)))[None, :]
    rows = np.repeat(np.arange(N), ncls)
    ys = np.tile(np.arange(ncls), N)
    ws = Wt.ravel()
    keep = ws > 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=C, solver="saga", max_iter=epochs, tol=1e-4,
                                 random_state=0)
        clf.fit(X[rows[keep]], ys[keep], sample_weight=ws[keep])
    return clf.coef_.T.copy(), clf.intercept_.copy()


class FeatPair:
    """A distilled model's two views of the same rows: the student's
    features (w, what the C code computes) and the teacher's (c, the same
    with character n-grams)."""

    def __init__(self, c, w):
        self.c = c
        self.w = w
        self.counts = w.counts

    def rows(self, idx):
        return FeatPair(self.c.rows(idx), self.w.rows(idx))


def model_features(path, cfg, dumper):
    """Feats of a TSV file for cfg's model (a FeatPair for method distil)."""
    if cfg.get("method") != "distil":
        return features(path, cfg, dumper)
    d = cfg["distil"]
    return FeatPair(features(path, dict(cfg, flags=cfg["flags"] | F_CHAR, char_min=d["char_min"],
                                        char_max=d["char_max"]), dumper),
                    features(path, cfg, dumper))


def student(F):
    """The features the shipped model reads."""
    return F.w if isinstance(F, FeatPair) else F


def fit_quantised(X, y, cfg, C):
    """The quantised model of cfg's method trained on X, y."""
    ncls = len(cfg["classes"])
    method = cfg.get("method", "softmax")
    if method == "distil":
        P = teacher_probs(X, y, ncls, cfg, C)
        W, b = fit_soft(X.w, y, P, ncls, C, cfg["epochs"], cfg["distil"]["hard"])
    else:
        W, b = fit(X, y, ncls, C, cfg["epochs"], cfg["balance"], method, cfg.get("nb_alpha", 0.5))
    return Quantised(W, b, cfg["lanes"])


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
        self.cal = (0.0, 0.0)

    def finish(self, offsets, temperature=1.0, cal=(0.0, 0.0)):
        """Fold the class offsets and the temperature into the biases and
        scales (logit / T: the same arg max), and keep the top-label
        calibration: what the file holds and the C code uses."""
        n = self.ncls
        self.bias[:n] = (self.bias[:n] + offsets) / temperature
        self.scale[:n] = self.scale[:n] / temperature
        self.cal = cal
        self.scale[CAL_SLOT] = cal[0]
        self.bias[CAL_SLOT] = cal[1]

    def logits(self, F):
        """As model.c: integer sums, then bias + scale * (sum / sqrt(n))."""
        z = F.counts.astype(np.int64) @ self.q[:, :self.ncls].astype(np.int64)
        z = np.asarray(z, dtype=np.float64)
        if F.norm:
            z = z / np.sqrt(np.maximum(F.n, 1).astype(np.float64))[:, None]
        return self.bias[:self.ncls] + self.scale[:self.ncls] * z


def softmax(Z):
    E = np.exp(Z - Z.max(1, keepdims=True))
    return E / E.sum(1, keepdims=True)


def top_score(Z, cal):
    """Score of the arg max as the C code computes it: the softmax
    probability p, or with a top-label calibration (a, c), a > 0,
    1 / (1 + r^a e^-c), r = (1 - p) / p = (sum of exp(z - z_max)) - 1."""
    r = np.exp(Z - Z.max(1, keepdims=True)).sum(1) - 1.0
    a, c = cal
    if a <= 0:
        return 1.0 / (1.0 + r)
    with np.errstate(divide="ignore"):
        return np.where(r > 0, 1.0 / (1.0 + np.exp(a * np.log(np.maximum(r, 1e-300)) - c)), 1.0)


def correct(gold, pred):
    return np.array([p in labs for labs, p in zip(gold, pred)], dtype=np.float64)


def ece(conf, ok, weights=None, bins=ECE_BINS):
    """Expected calibration error of top-label confidences: equal-width
    bins, |accuracy - mean confidence| weighted by each bin's share; with
    weights, each row counts that much.  Also the bins, for the
    reliability table."""
    w = np.ones(len(ok)) if weights is None else weights
    b = np.minimum((conf * bins).astype(int), bins - 1)
    e = 0.0
    table = []
    for k in range(bins):
        m = b == k
        if m.any():
            acc = np.average(ok[m], weights=w[m])
            cf = np.average(conf[m], weights=w[m])
            e += w[m].sum() * abs(acc - cf)
            table.append((k, float(w[m].sum() / w.sum()), float(cf), float(acc)))
    return e / w.sum(), table


def fit_temperature(Z, gold):
    """T minimising the mean log-loss of softmax(Z / T); a row with k
    labels counts 1/k towards each (deterministic bounded search)."""
    from scipy.optimize import minimize_scalar
    Y = np.zeros(Z.shape)
    for i, labs in enumerate(gold):
        for lab in labs:
            Y[i, lab] = 1.0 / len(labs)

    def loss(t):
        Zt = Z / t
        Zt = Zt - Zt.max(1, keepdims=True)
        return -(Y * (Zt - np.log(np.exp(Zt).sum(1, keepdims=True)))).sum() / len(gold)
    return float(minimize_scalar(loss, bounds=(0.1, 10.0), method="bounded",
                                 options={"xatol": 1e-6}).x)


def fit_toplabel(Z, gold):
    """(a, c) of P(label right) = 1 / (1 + r^a e^-c), r = (1 - p) / p for
    the softmax probability p of the arg max: a logistic regression of
    "right" on log(p / (1 - p)) = -log r, plain maximum likelihood."""
    from scipy.optimize import minimize
    pred = predict(Z, np.zeros(Z.shape[1]))
    ok = correct(gold, pred)
    r = np.exp(Z - Z.max(1, keepdims=True)).sum(1) - 1.0
    x = -np.log(np.maximum(r, 1e-12))

    def loss(v):
        u = v[0] * x + v[1]
        return float(np.sum(np.logaddexp(0.0, u) - ok * u)) / len(ok)
    v = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead",
                 options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000}).x
    return float(v[0]), float(v[1])


def reliability(label, conf, ok, weights=None):
    e, table = ece(conf, ok, weights)
    print("%s: ECE %.4f; bins (share, mean confidence, accuracy): %s"
          % (label, e, "; ".join("%.2f-%.2f %.3f %.3f %.3f" % (k / ECE_BINS, (k + 1) / ECE_BINS, sh, cf, ac)
                                 for k, sh, cf, ac in table)))
    return e


def predict(Z, off):
    # argmax, the lowest class on ties (as the C code)
    return np.argmax(Z + off, axis=1)


def macro_recall(gold, pred, ncls):
    g = np.array([x[0] for x in gold])
    rec = [np.mean(pred[g == c] == c) for c in range(ncls)]
    return float(np.mean(rec)), float(np.mean(pred == g)), rec


def test_weights(gold, ncls):
    """Per-row weights that give each class its TEST_SHARES share."""
    g = np.array([x[0] for x in gold])
    share = np.bincount(g, minlength=ncls) / len(g)
    want = np.array(TEST_SHARES) / sum(TEST_SHARES)
    return (want / share)[g]


def sentiment_figures(what, gold, Z, cal=(0.0, 0.0)):
    """Macro-recall, accuracy, macro-F1 and ECE, plain and with the rows
    reweighted to the test split's class shares.  Macro-recall is an
    average of per-class recalls, so reweighting leaves it unchanged;
    accuracy, F1 and calibration move with the class shares."""
    ncls = Z.shape[1]
    g = np.array([x[0] for x in gold])
    pred = predict(Z, np.zeros(ncls))
    ok = (pred == g).astype(np.float64)
    conf = top_score(Z, cal)
    out = []
    for w in (np.ones(len(g)), test_weights(gold, ncls)):
        f1 = []
        for c in range(ncls):
            tp = w[(pred == c) & (g == c)].sum()
            fp = w[(pred == c) & (g != c)].sum()
            fn = w[(pred != c) & (g == c)].sum()
            f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        rec = [np.average(ok[g == c], weights=w[g == c]) for c in range(ncls)]
        out.append((float(np.mean(rec)), float(np.average(ok, weights=w)), float(np.mean(f1)),
                    ece(conf, ok, w)[0]))
    print("%s: macro-recall %.4f, accuracy %.4f, macro-F1 %.4f, ECE %.4f; "
          "reweighted to the test shares: macro-recall %.4f, accuracy %.4f, macro-F1 %.4f, ECE %.4f"
          % ((what,) + out[0] + out[1]))
    return out


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


def write_model(path, name, cfg, qm, offsets=None):
    """Write qm (offsets, temperature and calibration folded in by
    Quantised.finish(); offsets given here are added to the biases, for
    callers that do not use finish()).  Format 2 only when the model has a
    top-label calibration, so files without one stay as format 1 wrote
    them."""
    ncls = len(cfg["classes"])
    bias = qm.bias.copy()
    if offsets is not None:
        bias[:ncls] += offsets
    fmt = FORMAT if getattr(qm, "cal", (0.0, 0.0))[0] > 0 else FORMAT_PLAIN
    table = qm.q.tobytes()
    classes = ",".join(cfg["classes"]).encode()
    assert len(classes) < 48 and len(name) < 16
    head = b"SAMODEL\0"
    head += struct.pack("<II", fmt, HEADER)
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


def out_of_fold(X, y, cfg, C, splits):
    """Logits of each tuned row from a model trained without its fold."""
    ncls = len(cfg["classes"])
    Z = np.zeros((X.counts.shape[0], ncls))
    for tr, te in splits:
        qm = fit_quantised(X.rows(tr), [y[i] for i in tr], cfg, C)
        Z[te] = qm.logits(student(X.rows(te)))
    return Z


def calibrate(name, cfg, Z, gold):
    """The calibration of cfg["calibrate"], fitted on out-of-fold logits Z
    (offsets included): (temperature, (a, c)).  Prints the out-of-fold
    reliability before and after."""
    pred = predict(Z, np.zeros(Z.shape[1]))
    ok = correct(gold, pred)
    reliability("%s out-of-fold, uncalibrated" % name, top_score(Z, (0.0, 0.0)), ok)
    T, cal = 1.0, (0.0, 0.0)
    if cfg["calibrate"] == "temperature":
        T = fit_temperature(Z, gold)
        print("%s: temperature %.6f" % (name, T))
    else:
        cal = fit_toplabel(Z, gold)
        print("%s: top-label calibration a %.6f c %.6f" % (name, cal[0], cal[1]))
    reliability("%s out-of-fold, calibrated" % name, top_score(Z / T, cal), ok)
    return T, cal


def social_offsets(Z, gold, cfg):
    """Class offsets for macro-recall fitted on logits Z, and the
    macro-recall with them; zeros with offsets "none" (since version 5)."""
    ncls = len(cfg["classes"])
    if cfg.get("offsets") == "none":
        off = np.zeros(ncls)
        return off, macro_recall(gold, predict(Z, off), ncls)[0]
    return tune_offsets(Z, gold, ncls, macro_recall)


def holdout(path, X, y, cfg, C, Z):
    """Macro-recall on the rows of HOLDOUT of a model trained on the other
    rows (its teacher too).  A version with class offsets gets them fitted
    on the out-of-fold logits Z of the other rows; Z comes from the
    five-fold models, which saw the hold-out rows, so this leaks a little
    in the offsets' favour (they lose all the same, docs/models.md).
    Skipped, saying so, when the training file is not the one HOLDOUT's
    rows were counted in."""
    import hashlib
    ncls = len(cfg["classes"])
    save = os.environ.get("SA_TRAIN_SAVE_OOF")
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    if not digest.startswith(HOLDOUT["sha256"]) or len(y) < HOLDOUT["end"]:
        print("social: %s hold-out skipped: %s is not the file its rows were counted in"
              % (HOLDOUT["name"], path), file=sys.stderr)
        if save and os.path.exists(save + ".holdout.npz"):
            os.remove(save + ".holdout.npz")   # so compare_social.py cannot read an older run's
        return None
    idx = np.arange(len(y))
    inside = (idx >= HOLDOUT["first"]) & (idx < HOLDOUT["end"])
    tr, te = idx[~inside], idx[inside]
    off, _ = social_offsets(Z[tr], [y[i] for i in tr], cfg)
    qm = fit_quantised(X.rows(tr), [y[i] for i in tr], cfg, C)
    Zh = qm.logits(student(X.rows(te)))
    gold = [y[i] for i in te]
    mr, _, rec = macro_recall(gold, predict(Zh, off), ncls)
    mr0 = macro_recall(gold, predict(Zh, np.zeros(ncls)), ncls)[0]
    print("social C=%g: %s hold-out (%d rows, trained on the other %d) macro-recall %.4f "
          "(offsets %s; without %.4f), recall per class %s"
          % (C, HOLDOUT["name"], len(te), len(tr), mr, off.tolist(), mr0,
             " ".join("%.3f" % r for r in rec)))
    if save:
        np.savez(save + ".holdout", Z=Zh + off,
                 y=np.array([g[0] for g in gold]))
    return mr


def train_social(args, cfg):
    """The temperature (and class offsets for macro-recall, unless offsets
    is "none", the default since version 5) is fitted on five-fold out-of-fold
    logits of the training file (row i in fold i % folds); C, when several
    are given, is chosen by out-of-fold macro-recall.  The 2016 hold-out
    (holdout(); SA_TRAIN_HOLDOUT=0 skips it) trains once more without the
    SemEval-2016 test rows and scores them.  Then the model is retrained on
    all of the file; the TweetEval validation set is only reported."""
    ncls = 3
    trp = os.path.join(args.data, cfg["train"])
    y = read_tsv(trp, cfg["classes"])
    X = model_features(trp, cfg, args.dumper)
    idx = np.arange(X.counts.shape[0])
    K = cfg["folds"]
    splits = [(idx[idx % K != k], idx[idx % K == k]) for k in range(K)]
    best = None
    for C in cfg["C"]:
        Z = out_of_fold(X, y, cfg, C, splits)
        off, mr = social_offsets(Z, y, cfg)
        print("social C=%g: out-of-fold macro-recall %.4f (offsets %s; without %.4f)"
              % (C, mr, off.tolist(), macro_recall(y, predict(Z, np.zeros(ncls)), ncls)[0]),
              file=sys.stderr)
        if best is None or mr > best[0]:
            best = (mr, C, off, Z)
    mr, C, off, Z = best
    if os.environ.get("SA_TRAIN_HOLDOUT", "1") != "0":
        holdout(trp, X, y, cfg, C, Z)
    if os.environ.get("SA_TRAIN_SAVE_OOF"):
        # for comparing candidates (paired bootstrap): the out-of-fold
        # logits with the offsets, and the labels
        np.savez(os.environ["SA_TRAIN_SAVE_OOF"], Z=Z + off, y=np.array([g[0] for g in y]))
    sentiment_figures("social C=%g offsets %s, out-of-fold (%d rows)" % (C, off.tolist(), len(y)),
                      y, Z + off)
    T, cal = calibrate("social", cfg, Z + off, y)
    qm = fit_quantised(X, y, cfg, C)
    if cfg.get("report"):
        dp = os.path.join(args.data, cfg["report"])
        yd = read_tsv(dp, cfg["classes"])
        Xd = features(dp, cfg, args.dumper)
        sentiment_figures("social uncalibrated, tweeteval val", yd, qm.logits(Xd) + off)
    qm.finish(off, T, cal)
    if cfg.get("report"):
        Zd = qm.logits(Xd)
        mr, acc, rec = macro_recall(yd, predict(Zd, np.zeros(ncls)), ncls)
        sentiment_figures("social, tweeteval val", yd, Zd)
        g = np.array([x[0] for x in yd])
        conf = top_score(Zd, qm.cal)
        ok = (predict(Zd, np.zeros(ncls)) == g).astype(np.float64)
        reliability("social, tweeteval val", conf, ok)
        reliability("social, tweeteval val reweighted to the test shares", conf, ok, test_weights(yd, ncls))
        print("social: tweeteval val recall per class %s" % " ".join("%.3f" % r for r in rec))
        if os.environ.get("SA_TRAIN_SAVE_OOF"):
            np.savez(os.environ["SA_TRAIN_SAVE_OOF"] + ".val", Z=Zd, y=g)
    return qm


def train_emotion(args, cfg):
    """Offsets tuned on a held-out tenth (offsets "heldout"), or on
    out-of-fold logits of the whole training file (offsets "oof": row i is
    in fold i % folds, one model per fold trained on the others); C, when
    several are given, is chosen by the same figure; the calibration is
    fitted on the same logits.  Then the model is retrained on all of the
    file."""
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
        Z = out_of_fold(X, y, cfg, C, splits)[tuned]
        off, f = tune_offsets(Z, gold, ncls, macro_f1)
        print("emotion C=%g: %s macro-F1 %.4f offsets %s" % (C, what, f, off.tolist()),
              file=sys.stderr)
        if best is None or f > best[0]:
            best = (f, C, off, Z)
    _, C, off, Z = best
    T, cal = calibrate("emotion", cfg, Z + off, gold)
    W, b = fit(X, y, ncls, C, cfg["epochs"], cfg["balance"], cfg["method"], cfg["nb_alpha"])
    qm = Quantised(W, b, cfg["lanes"])
    qm.finish(off, T, cal)
    if cfg.get("report"):
        dp = os.path.join(args.data, cfg["report"])
        yd = read_tsv(dp, cfg["classes"])
        Zd = qm.logits(features(dp, cfg, args.dumper))
        pred = predict(Zd, np.zeros(ncls))
        f, per = macro_f1(yd, pred, ncls)
        print("emotion: C=%g goemotions dev macro-F1 %.4f (%s)"
              % (C, f, " ".join("%s %.3f" % (n, x) for n, x in zip(cfg["classes"], per))))
        ok = correct(yd, pred)
        reliability("emotion, goemotions dev, uncalibrated", top_score(Zd * T, (0.0, 0.0)), ok)
        reliability("emotion, goemotions dev", top_score(Zd, qm.cal), ok)
    return qm


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
        for key in ("flags", "bits", "char_min", "char_max", "epochs", "version"):
            env = os.environ.get("SA_TRAIN_" + key.upper())
            if env:
                cfg[key] = int(env, 0)
        if os.environ.get("SA_TRAIN_OFFSETS"):
            cfg["offsets"] = os.environ["SA_TRAIN_OFFSETS"]
        for key, conv in (("hard", float), ("temperature", float), ("mix", float),
                          ("folds", int), ("hidden", int), ("seeds", lambda v: [int(x) for x in v.split(",")])):
            env = os.environ.get("SA_TRAIN_TEACHER_" + key.upper())
            if env:
                cfg["distil"] = dict(cfg["distil"], **{key: conv(env)})
        if os.environ.get("SA_TRAIN_METHOD"):
            cfg["method"] = os.environ["SA_TRAIN_METHOD"]
        if os.environ.get("SA_TRAIN_NB_ALPHA"):
            cfg["nb_alpha"] = float(os.environ["SA_TRAIN_NB_ALPHA"])
        if os.environ.get("SA_TRAIN_BALANCE"):
            cfg["balance"] = float(os.environ["SA_TRAIN_BALANCE"])
        if os.environ.get("SA_TRAIN_C"):
            cfg["C"] = [float(x) for x in os.environ["SA_TRAIN_C"].split(",")]
        qm = (train_social if name == "social" else train_emotion)(args, cfg)
        path = os.path.join(args.out_dir, name + ".samodel")
        h = write_model(path, name, cfg, qm)
        print("wrote %s: %d bytes, version %d, checksum %016x"
              % (path, os.path.getsize(path), cfg["version"], h))


if __name__ == "__main__":
    main()
