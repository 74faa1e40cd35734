"""The model TAP test 056 plugs into examples/python/sentiment_worker.py: the
toy model's labels, a topic per hashtag and an embedding of the analyser's
256 dimensions whose first two numbers the test can check row by row, the
language (a result field the worker takes by name, as the server lists it),
plus injected faults:
  - a text containing FAIL-ME fails (not retried);
  - a text containing HANG, on its first attempt, hangs the process when
    $HANG_FILE is set (after writing its pid there), so its lease expires;
  - $MODEL_DELAY seconds of "work" per call."""
from __future__ import annotations

import os
import time
from typing import List, Sequence

from sentiment_worker import Failure, Mention, Outcome, Result, toy_analyse


def analyse(mentions: Sequence[Mention]) -> List[Outcome]:
    """One outcome per mention, in order."""
    time.sleep(float(os.environ.get("MODEL_DELAY", "0")))
    out: List[Outcome] = []
    for m, o in zip(mentions, toy_analyse(mentions)):
        text = m.text or ""
        if "FAIL-ME" in text:
            out.append(Failure("injected failure", sqlstate="22000", retry=False))
        elif "HANG" in text and m.attempts == 1 and os.environ.get("HANG_FILE"):
            with open(os.environ["HANG_FILE"], "w") as f:
                f.write(str(os.getpid()))
            time.sleep(3600)
        elif isinstance(o, Result):
            out.append(Result(o.sentiment_label, o.sentiment_score, emotion_label="calm",
                              emotion_score=0.25, topics=o.topics, language="en",
                              embedding=[float(len(text)), float(m.id % 7)] + [0.0] * 254))
        else:
            out.append(o)
    return out
