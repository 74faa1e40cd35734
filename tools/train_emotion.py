#!/usr/bin/env python3
"""Train the analyser's emotion model and write src/analyzer/emotion_model.c.

The model is a 7-class softmax regression (neutral, anger, disgust, fear,
joy, sadness, surprise) over hashed sparse features of one text:

  * every token (lower-cased word, or a single emoji/symbol code point);
    inside a VADER-style negation scope (the 3 tokens after a negation word,
    cut at clause punctuation) the token gets a separate "negated" feature;
  * the first 5 code points of every word longer than 5 (a crude stem, so
    "annoying" and "annoyed" share evidence), negated likewise;
  * every pair of adjacent tokens not separated by clause punctuation;
  * whether the text contains "!" and whether it contains "?".

The tokeniser, hashing and feature rules below are mirrored exactly by
src/analyzer/tokenize.c and src/analyzer/emotion.c; change both together
(`--check-tokens` prints what the C side must reproduce).

Training data: GoEmotions with its Ekman mapping (Demszky et al., ACL 2020,
Apache-2.0), ../shared/data/emotion_dev/goemotions_ekman_train.tsv.  Never
the dev sets.  Multi-label rows are trained towards the uniform distribution
over their labels.  Features seen in fewer than MIN_COUNT training texts are
dropped; training is AdaGrad on the softmax loss, EPOCHS passes in a fixed
pseudo-random order.  Per-class decision offsets (to lift the rare classes
for macro-F1) are tuned on a held-out tenth of the training file, then the
model is retrained on all of it.  The weights are quantised to int8 (one
scale for the whole table) and features whose largest |weight| is at most
PRUNE units are dropped; the logits are then integer sums, so C and Python
agree bit for bit.  MIN_COUNT and PRUNE were chosen on the held-out tenth
(best held-out macro-F1 among the sizes tried, and the smallest table).

Run from the repository root (python3 standard library only, deterministic:
the same input always gives the same byte-identical output; about 3 minutes):

    python3 tools/train_emotion.py [--data ../shared/data] [--out src/analyzer/emotion_model.c]
    python3 tools/train_emotion.py --report       # also print dev macro-F1 (never used to train)
    python3 tools/train_emotion.py --check-tokens FILE.tsv   # tokens/features for parity checks
"""

import argparse
import math
import os
import sys
import unicodedata

LABELS = ["neutral", "anger", "disgust", "fear", "joy", "sadness", "surprise"]
NCLASS = len(LABELS)

# VADER 3.3.2's negation words (../shared/VADER.md), plus "no".
NEGATIONS = frozenset("""
aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't couldn't
daren't didn't doesn't dont hadnt hasnt havent isnt mightnt mustnt neither
don't hadn't hasn't haven't isn't mightn't mustn't neednt needn't never none
nope nor not nothing nowhere oughtnt shant shouldnt uhuh wasnt werent oughtn't
shan't shouldn't uh-uh wasn't weren't without wont wouldnt won't wouldn't
rarely seldom despite no
""".split())
NEG_SCOPE = 3
STEM_CHARS = 5

# Token flags, as in tokenize.c.
TOK_BREAK = 1        # clause punctuation . , ; : ! ? since the previous token
TOK_HASHTAG = 2      # the word directly follows '#'
TOK_SYMBOL = 4       # a single emoji/symbol code point (category So)

# Feature kinds mixed into the hash, as in emotion.c.
K_BIGRAM, K_NEGATED, K_EXCLAIM, K_QUESTION, K_STEM, K_NEG_STEM = 1, 2, 3, 4, 5, 6

M32 = 0xFFFFFFFF

# Training hyper-parameters.
EPOCHS = 5
LEARN_RATE = 0.05
MIN_COUNT = int(os.environ.get("EMO_MIN_COUNT", "12"))
PRUNE = int(os.environ.get("EMO_PRUNE", "5"))
SEED = 20261126
LOAD_BITS_MIN = 10


def lower_cp(c):
    """One code point lower-cased with the simple mapping (ICU u_tolower)."""
    if c == "\u0130":
        return "i"          # the only code point whose full lower() is longer
    lc = c.lower()
    return lc if len(lc) == 1 else c


def tokenize(text):
    """Return [(token, flags)].

    Words are runs of letters (L*), decimal digits (Nd) and, inside a word,
    combining marks (Mn, Mc) and apostrophes (' and U+2019, both written ');
    a word's trailing apostrophes are dropped.  A code point of category So
    (emoji and other symbols) is a token of its own.  Everything else
    separates tokens; . , ; : ! ? also mark a clause break.
    """
    out = []
    cur = []
    flags = 0
    prev = ""
    hash_ok = False     # the last '#' did not follow a word ("a#b" is no hashtag)
    for c in text:
        o = ord(c)
        if o < 0x80:
            if c.isalnum():
                if not cur and prev == "#" and hash_ok:
                    flags |= TOK_HASHTAG
                cur.append(c.lower())
            elif c == "'":
                if cur:
                    cur.append("'")
            else:
                if c == "#":
                    hash_ok = not cur
                if cur:
                    while cur and cur[-1] == "'":
                        cur.pop()
                    out.append(("".join(cur), flags))
                    flags = 0
                    cur = []
                if c in ".,;:!?":
                    flags |= TOK_BREAK
        elif o == 0x2019:
            if cur:
                cur.append("'")
        else:
            cat = unicodedata.category(c)
            if cat[0] == "L" or cat == "Nd":
                if not cur and prev == "#" and hash_ok:
                    flags |= TOK_HASHTAG
                cur.append(lower_cp(c))
            elif cat in ("Mn", "Mc"):
                if cur:
                    cur.append(c)
            else:
                if cur:
                    while cur and cur[-1] == "'":
                        cur.pop()
                    out.append(("".join(cur), flags))
                    flags = 0
                    cur = []
                if cat == "So":
                    out.append((c, flags | TOK_SYMBOL))
                    flags = 0
        prev = c
    if cur:
        while cur and cur[-1] == "'":
            cur.pop()
        out.append(("".join(cur), flags))
    # A word of apostrophes only ("''") leaves an empty string: drop it.
    return [t for t in out if t[0]]


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & M32
    return h


def fmix(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def combine(a, b, kind):
    return fmix((a * 0x9E3779B1 + b + kind * 0x7F4A7C15) & M32)


def is_negation(tok):
    return tok in NEGATIONS or "n't" in tok


def features(text):
    """Feature keys of one text, in order, with repeats."""
    toks = tokenize(text)
    keys = []
    neg = 0
    prev_h = None
    for tok, flags in toks:
        if flags & TOK_BREAK:
            neg = 0
        h = fnv1a(tok)
        keys.append(combine(h, 0, K_NEGATED) if neg > 0 else h)
        if not (flags & TOK_SYMBOL) and len(tok) > STEM_CHARS:
            keys.append(combine(fnv1a(tok[:STEM_CHARS]), 0,
                                K_NEG_STEM if neg > 0 else K_STEM))
        if prev_h is not None and not (flags & TOK_BREAK):
            keys.append(combine(prev_h, h, K_BIGRAM))
        prev_h = h
        if neg > 0:
            neg -= 1
        if is_negation(tok):
            neg = NEG_SCOPE
    if "!" in text:
        keys.append(combine(0, 0, K_EXCLAIM))
    if "?" in text:
        keys.append(combine(0, 0, K_QUESTION))
    # 0 marks an empty slot of the C hash table.  Repeats are kept: a
    # feature seen twice counts twice (no per-text set needed in C).
    return [k if k != 0 else 1 for k in keys]


def read_tsv(path, mapping=None):
    """Rows of (label indexes, text); LF records, TAB fields, no quoting."""
    with open(path, "rb") as fh:
        data = fh.read().decode("utf-8")
    rows = []
    for line in data.split("\n")[1:]:
        if not line:
            continue
        lab, text = line.split("\t", 1)
        labs = []
        for name in lab.split(","):
            name = (mapping or {}).get(name, name)
            labs.append(LABELS.index(name))
        rows.append((labs, text))
    return rows


class Rng:
    """xorshift32: a shuffle that does not depend on Python's random module."""

    def __init__(self, seed):
        self.s = seed & M32 or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & M32
        s ^= s >> 17
        s ^= (s << 5) & M32
        self.s = s
        return s

    def shuffle(self, xs):
        for i in range(len(xs) - 1, 0, -1):
            j = self.next() % (i + 1)
            xs[i], xs[j] = xs[j], xs[i]


def train(rows):
    """AdaGrad softmax regression; returns (weights by key, class biases)."""
    feats = [features(t) for _, t in rows]
    count = {}
    for fs in feats:
        for k in fs:
            count[k] = count.get(k, 0) + 1
    feats = [[k for k in fs if count[k] >= MIN_COUNT] for fs in feats]
    W = {}
    G = {}
    bias = [0.0] * NCLASS
    order = list(range(len(rows)))
    rng = Rng(SEED)
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            fs = feats[i]
            gold = rows[i][0]
            z = bias[:]
            for k in fs:
                w = W.get(k)
                if w is not None:
                    for c in range(NCLASS):
                        z[c] += w[c]
            m = max(z)
            e = [math.exp(v - m) for v in z]
            s = sum(e)
            g = [v / s for v in e]
            for lab in gold:
                g[lab] -= 1.0 / len(gold)
            for c in range(NCLASS):
                bias[c] -= LEARN_RATE * g[c]
            for k in fs:
                w = W.get(k)
                if w is None:
                    w = W[k] = [0.0] * NCLASS
                    G[k] = [1e-8] * NCLASS
                gg = G[k]
                for c in range(NCLASS):
                    gg[c] += g[c] * g[c]
                    w[c] -= LEARN_RATE * g[c] / math.sqrt(gg[c])
    return W, bias


def macro_f1(gold_rows, preds, classes):
    """Macro-F1 with multi-label gold and one predicted label per row.

    Per class c: a row predicted c is a true positive when c is among its
    gold labels, else a false positive; every gold label other than the
    prediction is a false negative.  So a row with two gold labels can never
    be fully right: this is the strict reading, and the one the benchmark
    (bench/analysis_bench.c) reproduces.
    """
    tp = [0] * NCLASS
    fp = [0] * NCLASS
    fn = [0] * NCLASS
    for gold, p in zip(gold_rows, preds):
        if p in gold:
            tp[p] += 1
        else:
            fp[p] += 1
        for lab in gold:
            if lab != p:
                fn[lab] += 1
    f1 = []
    for c in classes:
        prec = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        rec = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0
        f1.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1) / len(f1), f1


def scores(W, bias, text):
    z = bias[:]
    for k in features(text):
        w = W.get(k)
        if w is not None:
            for c in range(NCLASS):
                z[c] += w[c]
    return z


def argmax(z):
    best = 0
    for c in range(1, NCLASS):
        if z[c] > z[best]:
            best = c
    return best


def tune_offsets(Z, gold):
    """Coordinate ascent on per-class offsets, maximising macro-F1."""
    off = [0.0] * NCLASS

    def f1_of(off):
        preds = [argmax([z[c] + off[c] for c in range(NCLASS)]) for z in Z]
        return macro_f1(gold, preds, range(NCLASS))[0]

    best = f1_of(off)
    for _ in range(3):
        for c in range(1, NCLASS):
            for step in range(-8, 13):
                trial = off[:]
                trial[c] = step * 0.25
                f = f1_of(trial)
                if f > best + 1e-12:
                    best, off = f, trial
    return off, best


class Quantised:
    """The model as the C code holds it: int8 weights, integer biases."""

    def __init__(self, W, bias, offsets):
        maxw = max(max(abs(x) for x in w) for w in W.values())
        self.scale = 127.0 / maxw
        self.w = {}
        for k, w in W.items():
            q = [int(round(x * self.scale)) for x in w]
            # Features that cannot move any logit by more than PRUNE units
            # carry little evidence; dropping them keeps the table small.
            if max(abs(x) for x in q) > PRUNE:
                self.w[k] = q
        self.bias = [int(round((bias[c] + offsets[c]) * self.scale))
                     for c in range(NCLASS)]

    def logits(self, text):
        z = self.bias[:]
        for k in features(text):
            q = self.w.get(k)
            if q is not None:
                for c in range(NCLASS):
                    z[c] += q[c]
        return z

    def predict(self, text):
        if not tokenize(text):
            return 0            # nothing to judge: neutral (as emotion.c)
        return argmax(self.logits(text))


def slot_of(key, bits):
    return ((key * 0x9E3779B1) & M32) >> (32 - bits)


def write_c(model, path, heldout_f1):
    n = len(model.w)
    bits = LOAD_BITS_MIN
    while (1 << bits) < n * 10 // 7 + 1:   # load factor at most 0.7
        bits += 1
    size = 1 << bits
    keys = [0] * size
    weights = [[0] * NCLASS for _ in range(size)]
    for k in sorted(model.w):
        s = slot_of(k, bits)
        while keys[s] != 0:
            s = (s + 1) & (size - 1)
        keys[s] = k
        weights[s] = model.w[k]
    lines = []
    lines.append("/*")
    lines.append(" * emotion_model.c - GENERATED by tools/train_emotion.py; do not edit.")
    lines.append(" *")
    lines.append(" * Regenerate from the repository root with")
    lines.append(" *     python3 tools/train_emotion.py --data ../shared/data")
    lines.append(" * (python3 standard library only; deterministic).")
    lines.append(" *")
    lines.append(" * A 7-class softmax regression over hashed token, stem, negated-token,")
    lines.append(" * bigram and punctuation features (see emotion.c), trained on GoEmotions")
    lines.append(" * with its Ekman mapping (Demszky et al., ACL 2020; Apache-2.0),")
    lines.append(" * goemotions_ekman_train.tsv only.  Weights are int8 in units of")
    lines.append(" * 1/sa_emo_scale; a slot with key 0 is empty (linear probing from")
    lines.append(" * (key * 0x9E3779B1) >> (32 - sa_emo_bits)).")
    lines.append(" *")
    lines.append(" * %d features; held-out macro-F1 on a tenth of the training file %.4f." % (n, heldout_f1))
    lines.append(" */")
    lines.append('#include "analysis_internal.h"')
    lines.append("")
    lines.append("const int\tsa_emo_bits = %d;" % bits)
    lines.append("const double sa_emo_scale = %r;" % model.scale)
    lines.append("const int32_t sa_emo_bias[SA_EMOTION_COUNT] = {%s};" %
                 ", ".join(str(b) for b in model.bias))
    lines.append("")
    # Key and weights side by side: a probe touches one cache line.
    lines.append("const sa_emo_entry sa_emo_table[%d] = {" % size)
    for i in range(size):
        if keys[i] == 0:
            lines.append("\t{0},")
        else:
            lines.append("\t{0x%08x, {%s}}," % (keys[i], ",".join(str(x) for x in weights[i])))
    lines.append("};")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("SP_SHARED_DATA", "../shared/data"))
    ap.add_argument("--out", default="src/analyzer/emotion_model.c")
    ap.add_argument("--report", action="store_true",
                    help="also print macro-F1 on the dev sets (read only for the report)")
    ap.add_argument("--check-tokens", metavar="TSV",
                    help="print the tokens and feature keys of each text of TSV and exit")
    args = ap.parse_args()

    if args.check_tokens:
        for _, text in read_tsv(args.check_tokens, {"optimism": "joy"}):
            toks = tokenize(text)
            print(" ".join("%s/%d" % t for t in toks) + "\t" +
                  " ".join("%08x" % k for k in features(text)))
        return

    train_path = os.path.join(args.data, "emotion_dev", "goemotions_ekman_train.tsv")
    rows = read_tsv(train_path)
    fit = [r for i, r in enumerate(rows) if i % 10 != 0]
    held = [r for i, r in enumerate(rows) if i % 10 == 0]

    W, bias = train(fit)
    Z = [scores(W, bias, t) for _, t in held]
    offsets, held_f1 = tune_offsets(Z, [g for g, _ in held])
    print("held-out macro-F1 %.4f, offsets %s" % (held_f1, offsets), file=sys.stderr)

    W, bias = train(rows)
    model = Quantised(W, bias, offsets)
    write_c(model, args.out, held_f1)
    print("wrote %s: %d features" % (args.out, len(model.w)), file=sys.stderr)

    if args.report:
        dev = read_tsv(os.path.join(args.data, "emotion_dev", "goemotions_ekman_dev.tsv"))
        preds = [model.predict(t) for _, t in dev]
        f, per = macro_f1([g for g, _ in dev], preds, range(NCLASS))
        print("goemotions dev macro-F1 %.4f %s" % (f, " ".join("%.3f" % x for x in per)))
        tv = read_tsv(os.path.join(args.data, "emotion_dev", "tweeteval_emotion_val.tsv"),
                      {"optimism": "joy"})
        preds = [model.predict(t) for _, t in tv]
        f, _ = macro_f1([g for g, _ in tv], preds, [1, 4, 5])
        print("tweeteval val macro-F1 (anger, joy+optimism, sadness) %.4f" % f)


if __name__ == "__main__":
    main()
