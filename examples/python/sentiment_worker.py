#!/usr/bin/python3
"""An external analyser for sentiment_proc's two-phase API.

Claims rows with a lease (sentiment_claim), runs a pluggable analysis
function on them outside the database, and stores the results
(sentiment_complete) or the failures (sentiment_fail) in batches.  While a
batch is being analysed its lease is renewed (sentiment_renew); rows whose
claim was lost in the meantime are dropped, not completed.  On SIGTERM or
SIGINT it finishes the chunk in hand, stores it, gives the rows it has not
analysed back (sentiment_release) and exits with status 0.

Copy this file and pass your own model:

    python3 sentiment_worker.py --dsn 'dbname=app' --model mymodel:analyse

where ``mymodel.analyse(mentions)`` takes a sequence of ``Mention`` and
returns one ``Result`` or ``Failure`` per mention, in order (see below).
Needs psycopg2 (Debian: python3-psycopg2).  See README.md beside it.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import psycopg2
import psycopg2.errors
import psycopg2.extensions

log = logging.getLogger("sentiment_worker")


# ---- what the analysis function sees and returns ----------------------------

@dataclass(frozen=True)
class Mention:
    """One claimed row, as sentiment_claim returns it."""
    source: str
    id: int
    text: Optional[str]
    version: int
    attempts: int
    author_followers: Optional[int] = None
    likes: Optional[int] = None
    shares: Optional[int] = None
    replies: Optional[int] = None


class Result:
    """The analysis of one row: sentiment_label (negative, neutral or
    positive), sentiment_score (-1..1) and, by name, any other field of a
    result the server takes.  The server lists them (SELECT * FROM
    sentiment_result_fields(): emotion_label, emotion_score in 0..1,
    influence_weight, language, topics, embedding, ...), so a result column
    added to sentiment_proc needs no change here.  A field the model leaves
    out reads as None."""

    def __init__(self, sentiment_label: str, sentiment_score: float, **fields: Any) -> None:
        self.fields: Dict[str, Any] = dict(sentiment_label=sentiment_label,
                                           sentiment_score=sentiment_score, **fields)

    def __getattr__(self, name: str) -> Any:
        if name == "fields":            # (not set yet: no recursion)
            raise AttributeError(name)
        return self.fields.get(name)

    def __repr__(self) -> str:
        return f"Result({', '.join(f'{k}={v!r}' for k, v in self.fields.items())})"


@dataclass(frozen=True)
class Failure:
    """A row the model could not analyse.  retry=False: it stays failed
    until sentiment_retry_failed(); otherwise it is retried after a backoff."""
    error: str
    sqlstate: Optional[str] = None
    retry: bool = True


Outcome = Union[Result, Failure]
Analyse = Callable[[Sequence[Mention]], Sequence[Outcome]]


def toy_analyse(mentions: Sequence[Mention]) -> List[Outcome]:
    """A stand-in model: counts a few positive and negative words."""
    positive = {"good", "great", "love", "nice", "excellent", ":)"}
    negative = {"bad", "awful", "hate", "terrible", "poor", ":("}
    out: List[Outcome] = []
    for m in mentions:
        if m.text is None:
            out.append(Failure("no text", sqlstate="22004", retry=False))
            continue
        words = m.text.lower().split()
        balance = sum(w in positive for w in words) - sum(w in negative for w in words)
        score = max(-1.0, min(1.0, balance / 2.0))
        label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
        topics = sorted({w[1:] for w in words if w.startswith("#") and len(w) > 1})
        out.append(Result(label, score, topics=topics))
    return out


# ---- settings and counters ----------------------------------------------------

@dataclass
class Config:
    dsn: str
    source: Optional[str] = None          # None: every attached table
    batch_size: int = 500                 # rows per claim (at most 10000)
    chunk_size: int = 100                 # rows per analysis call and per completion
    lease: timedelta = timedelta(minutes=5)
    renew_after: float = 0.5              # renew once this share of the lease is used
    idle_sleep: float = 1.0               # seconds to wait when nothing is pending
    exit_when_idle: bool = False
    name: str = "sentiment_worker"        # application_name


@dataclass
class Stats:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    refused: int = 0                      # results sentiment_complete did not store
    dropped: int = 0                      # rows whose claim was lost before completion
    released: int = 0
    renewals: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        secs = time.monotonic() - self.started
        rate = (self.completed + self.failed) / secs if secs > 0 else 0.0
        return (f"claimed={self.claimed} completed={self.completed} failed={self.failed} "
                f"refused={self.refused} dropped={self.dropped} released={self.released} "
                f"renewals={self.renewals} seconds={secs:.1f} rows_per_second={rate:.0f}")


# ---- the worker -------------------------------------------------------------------

class Worker:
    """Claim, analyse, complete or fail, renew; stop cleanly on request."""

    def __init__(self, config: Config, analyse: Analyse) -> None:
        self.config = config
        self.analyse = analyse
        self.stats = Stats()
        self.stopping = False
        self.conn: Optional[psycopg2.extensions.connection] = None
        self.connected = False             # once connected, a lost connection is retried
        self.skipped: Set[str] = set()     # tables said to be skipped
        self.warned_none = False
        self.result_fields: Set[str] = set()  # what sentiment_complete takes (at connect)

    def stop(self, signum: int = 0, frame: object = None) -> None:
        """Signal handler: finish the chunk in hand, then leave."""
        log.info("signal %d: stopping after the current chunk", signum)
        self.stopping = True

    # -- database calls (autocommit: each one its own transaction) --

    def connect(self) -> None:
        self.conn = psycopg2.connect(self.config.dsn, application_name=self.config.name)
        self.conn.autocommit = True
        self.connected = True
        self.result_fields = {name for name, in self._query("SELECT field FROM sentiment_result_fields()", ())}

    def _query(self, sql: str, args: Tuple[object, ...]) -> List[Tuple[Any, ...]]:
        assert self.conn is not None
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            rows: List[Tuple[Any, ...]] = cur.fetchall() if cur.description else []
            return rows

    def sources(self) -> List[str]:
        """The tables to claim from: the one given, or every attached table
        this role may process (SELECT and UPDATE on it, SELECT, INSERT and
        DELETE on its side tables); the others are skipped, and said so
        once, as sentiment_process_batch skips them."""
        if self.config.source is not None:
            return [self.config.source]
        rows = self._query(
            "SELECT s.source_table::text, "
            "has_table_privilege(s.source_table, 'SELECT, UPDATE') "
            "AND has_table_privilege(s.topics_table, 'SELECT, INSERT, DELETE') "
            "AND has_table_privilege(s.embeddings_table, 'SELECT, INSERT, DELETE') "
            "FROM sentiment_sources s ORDER BY s.source_table::oid", ())
        for name, allowed in rows:
            if not allowed:
                self.skip(name, "this role lacks SELECT or UPDATE on it, or SELECT, INSERT or DELETE "
                                "on its side tables")
        return [name for name, allowed in rows if allowed]

    def skip(self, source: str, why: str) -> None:
        """Say once per table why it is left alone."""
        if source not in self.skipped:
            self.skipped.add(source)
            log.warning("skipping table %s: %s", source, why)

    def claim(self) -> List[Mention]:
        """Claim up to batch_size rows, table by table; committed at once as
        'processing'.  A table this role may not claim from is skipped."""
        mentions: List[Mention] = []
        sources = self.sources()
        if not sources and not self.warned_none:
            self.warned_none = True
            log.warning("no attached table this role may process; waiting for one")
        for source in sources:
            left = self.config.batch_size - len(mentions)
            if left <= 0:
                break
            try:
                rows = self._query(
                    "SELECT source_table::text, id, text, version, attempts, "
                    "author_followers, likes, shares, replies "
                    "FROM sentiment_claim(%s, %s, %s::regclass)",
                    (left, self.config.lease, source))
            except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.FeatureNotSupported) as e:
                if self.config.source is not None:
                    raise
                self.skip(source, str(e).splitlines()[0])
                continue
            mentions.extend(Mention(*r) for r in rows)
        self.stats.claimed += len(mentions)
        return mentions

    def renew(self, source: str, ids: List[int]) -> List[int]:
        """Extend the lease of rows still held; returns those ids."""
        (held,), = self._query("SELECT sentiment_renew(%s::regclass, %s::bigint[], %s)",
                               (source, ids, self.config.lease))
        self.stats.renewals += 1
        return list(held)

    def complete(self, source: str, pairs: List[Tuple[Mention, Result]]) -> None:
        """Store results; a row whose version or claim changed is refused.
        One invalid result makes the server refuse the whole call: then each
        row goes alone, and the invalid ones are recorded as failed."""
        try:
            outcome = self._query(
                "SELECT id, completed, reason FROM sentiment_complete(%s::regclass, %s::jsonb)",
                (source, result_json(pairs, self.result_fields)))
        except (ValueError, psycopg2.errors.InvalidParameterValue) as e:
            if len(pairs) > 1:
                for pair in pairs:
                    self.complete(source, [pair])
                return
            self.fail(source, [(pairs[0][0], Failure(f"invalid result: {str(e).splitlines()[0]}",
                                                     sqlstate="22023", retry=False))])
            return
        for rid, done, reason in outcome:
            if done:
                self.stats.completed += 1
            else:
                self.stats.refused += 1
                log.warning("%s id %s: result not stored: %s", source, rid, reason)

    def fail(self, source: str, pairs: List[Tuple[Mention, Failure]]) -> None:
        """Record failures, one call per distinct error."""
        groups: Dict[Tuple[str, Optional[str], bool], List[int]] = {}
        for m, f in pairs:
            groups.setdefault((f.error, f.sqlstate, f.retry), []).append(m.id)
        for (error, sqlstate, retry), ids in groups.items():
            (n,), = self._query(
                "SELECT sentiment_fail(%s::regclass, %s::bigint[], %s, %s, %s)",
                (source, ids, error, sqlstate, retry))
            self.stats.failed += n
            self.stats.refused += len(ids) - n

    def release(self, source: str, ids: List[int]) -> None:
        """Give unanalysed rows back to pending, untried."""
        (n,), = self._query("SELECT sentiment_release(%s::regclass, %s::bigint[])", (source, ids))
        self.stats.released += n

    # -- one batch --

    def process(self, mentions: List[Mention], claimed_at: float) -> None:
        """Analyse a claimed batch chunk by chunk and store each chunk at
        once.  Before a chunk, when renew_after of the lease is used, renew
        the lease of every row still to do (and drop the rows no longer
        held).  When stopping, give the rest back."""
        todo: Dict[str, List[Mention]] = {}
        for m in mentions:
            todo.setdefault(m.source, []).append(m)
        renewed_at = claimed_at
        budget = self.config.lease.total_seconds() * self.config.renew_after
        for source in list(todo):
            while todo[source] and not self.stopping:
                if time.monotonic() - renewed_at > budget:
                    renewed_at = time.monotonic()
                    self.renew_all(todo)
                    continue
                chunk = todo[source][:self.config.chunk_size]
                todo[source] = todo[source][self.config.chunk_size:]
                self.store(source, chunk, self.run_model(chunk))
        for source, rest in todo.items():
            if rest:
                self.release(source, [m.id for m in rest])

    def renew_all(self, todo: Dict[str, List[Mention]]) -> None:
        """Renew the rows still to do; forget those whose claim was lost
        (returned after an expired lease: a result would be refused)."""
        for source, rest in todo.items():
            if not rest:
                continue
            held = set(self.renew(source, [m.id for m in rest]))
            lost = [m.id for m in rest if m.id not in held]
            if lost:
                log.warning("%s: claim lost for %d rows (lease expired), dropping them", source, len(lost))
                self.stats.dropped += len(lost)
            todo[source] = [m for m in rest if m.id in held]

    def run_model(self, chunk: List[Mention]) -> List[Outcome]:
        """The analysis function, guarded: an exception fails the chunk
        (retried later), a wrong number of outcomes too."""
        try:
            outcomes = list(self.analyse(chunk))
            if len(outcomes) != len(chunk):
                raise ValueError(f"the model returned {len(outcomes)} outcomes for {len(chunk)} rows")
            return outcomes
        except Exception as e:  # the model's own error: not the rows' fault
            log.exception("model failed on a chunk of %d rows", len(chunk))
            return [Failure(f"model error: {e}", sqlstate="XX000", retry=True)] * len(chunk)

    def store(self, source: str, chunk: List[Mention], outcomes: List[Outcome]) -> None:
        """Complete the results and fail the failures of one chunk; anything
        else the model returned fails its row (not retried)."""
        results: List[Tuple[Mention, Result]] = []
        failures: List[Tuple[Mention, Failure]] = []
        for m, o in zip(chunk, outcomes):
            if isinstance(o, Result):
                results.append((m, o))
            elif isinstance(o, Failure):
                failures.append((m, o))
            else:
                failures.append((m, Failure(f"the model returned {type(o).__name__}, not Result or Failure",
                                            sqlstate="XX000", retry=False)))
        if results:
            self.complete(source, results)
        if failures:
            self.fail(source, failures)

    # -- the loop --

    def run(self) -> Stats:
        """Until stopped (or idle, with exit_when_idle).  A lost connection
        loses the batch in hand: its claims end with the session and the
        server returns them.  A first connection that fails (a wrong DSN, a
        password refused) raises: retrying would not help."""
        while not self.stopping:
            try:
                if self.conn is None or self.conn.closed:
                    if not self.connected:
                        try:
                            self.connect()
                        except psycopg2.OperationalError as e:
                            raise ConnectError(str(e).strip()) from None
                    else:
                        self.connect()
                claimed_at = time.monotonic()
                mentions = self.claim()
                if not mentions:
                    if self.config.exit_when_idle:
                        break
                    self.sleep(self.config.idle_sleep)
                    continue
                self.process(mentions, claimed_at)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
                log.error("connection lost (%s); reconnecting", str(e).strip())
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                self.sleep(self.config.idle_sleep)
        if self.conn is not None:
            self.conn.close()
        return self.stats

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when stopped."""
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.1, end - time.monotonic()))


class ConnectError(Exception):
    """The first connection failed."""


def result_json(pairs: Sequence[Tuple[Mention, Result]], accepted: Set[str]) -> str:
    """sentiment_complete's input: id and version with the result's fields.
    A field the server does not take (accepted: sentiment_result_fields()),
    NaN and infinities raise ValueError (JSON has no such numbers)."""
    out = []
    for m, r in pairs:
        row: Dict[str, object] = {"id": m.id, "version": m.version}
        for name, value in r.fields.items():
            if name in row or name not in accepted:
                raise ValueError(f"{name} is not a field of a result (see sentiment_result_fields())")
            if value is not None:
                row[name] = value
        out.append(row)
    return json.dumps(out, allow_nan=False)


def load_model(spec: str) -> Analyse:
    """'module:function' (the module on PYTHONPATH) or 'toy'."""
    if spec == "toy":
        return toy_analyse
    module, _, func = spec.partition(":")
    analyse: Analyse = getattr(importlib.import_module(module), func or "analyse")
    return analyse


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", required=True, help="libpq connection string")
    p.add_argument("--source", help="one attached table (default: all)")
    p.add_argument("--model", default="toy", help="module:function, or toy (default)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--chunk-size", type=int, default=100)
    p.add_argument("--lease", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument("--idle-sleep", type=float, default=1.0, help="seconds (default 1)")
    p.add_argument("--exit-when-idle", action="store_true", help="exit when nothing is left to claim")
    p.add_argument("--name", default="sentiment_worker", help="application_name")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")
    worker = Worker(Config(dsn=a.dsn, source=a.source, batch_size=a.batch_size,
                           chunk_size=a.chunk_size, lease=timedelta(seconds=a.lease),
                           idle_sleep=a.idle_sleep, exit_when_idle=a.exit_when_idle, name=a.name),
                    load_model(a.model))
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    try:
        stats = worker.run()
    except ConnectError as e:
        log.error("could not connect: %s", e)
        return 1
    except psycopg2.Error as e:   # e.g. --source names a table this role may not process
        log.error("stopped: %s (done: %s)", str(e).strip().splitlines()[0], worker.stats.line())
        return 1
    log.info("done: %s", stats.line())
    return 0


if __name__ == "__main__":
    # run as a script, this module is __main__: a model that imports
    # sentiment_worker must get these very classes, not a second copy
    sys.modules.setdefault("sentiment_worker", sys.modules[__name__])
    sys.exit(main())
