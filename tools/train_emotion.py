#!/usr/bin/env python3
"""The analyser's word tokeniser in Python, for checks and the idf trainer.

This file trained the first emotion model (src/analyzer/emotion_model.c);
the emotion model is now a model file, models/emotion.samodel, trained by
tools/train_models.py on the C feature extractor's output.  What remains
is the Python statement of src/analyzer/tokenize.c's rules, which
tools/train_idf.py uses and src/analyzer/tests/test_tokenize.c was checked
against:

  * a word is a run of letters (L*), decimal digits (Nd) and, inside a
    word, combining marks (Mn, Mc) and apostrophes (' and U+2019, both
    written '); a word's trailing apostrophes are dropped; lower-cased per
    code point with the simple mapping;
  * a code point of category So (emoji and other symbols) is a token alone;
  * everything else separates tokens; . , ; : ! ? also mark a clause break.

    python3 tools/train_emotion.py --check-tokens FILE.tsv   # tokens and old feature keys
"""

import argparse
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


def slot_of(key, bits):
    return ((key * 0x9E3779B1) & M32) >> (32 - bits)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--check-tokens", metavar="TSV", required=True,
                    help="print the tokens and feature keys of each text of TSV")
    args = ap.parse_args()
    for _, text in read_tsv(args.check_tokens, {"optimism": "joy"}):
        toks = tokenize(text)
        print(" ".join("%s/%d" % t for t in toks) + "\t" +
              " ".join("%08x" % k for k in features(text)))


if __name__ == "__main__":
    main()
