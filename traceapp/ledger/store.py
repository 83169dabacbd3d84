"""The ledger in a SQL database: tables, serialized appends, checkpoints, proofs, streaming reads.

Three append-only tables (the migrations add triggers that refuse UPDATE and DELETE):

- ``ledger_entries``: seq, the exact RFC 8785 bytes that were hashed, their chain hash
  (hex), and the entry's kind and subject copied out for lookups;
- ``ledger_hashes``: every stored RFC 6962 tree hash by its stored hash index (see
  :mod:`traceapp.ledger.tree`), so roots and proofs read O(log n) rows;
- ``ledger_checkpoints``: every signed checkpoint, by tree size.

:class:`Ledger` appends inside the caller's transaction. The first append of a transaction
takes the database's single-writer lock (PostgreSQL: a transaction-level advisory lock;
SQLite: the transaction must have begun with ``BEGIN IMMEDIATE``, see :func:`begin_write`),
then reads the head and the right edge of the tree. Rows are written when the session
commits, together with one checkpoint signed over the new tree, so an entry, its domain
rows and its checkpoint commit or roll back together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from traceapp.ledger import tree
from traceapp.ledger.encoding import GENESIS_PREV, chain_hash, entry_bytes, make_entry
from traceapp.ledger.note import Checkpoint, Signer, Verifier, sign_checkpoint
from traceapp.ledger.verify import Summary, verify_log

# A 64-bit key for pg_advisory_xact_lock: the ASCII bytes of "tlappend".
PG_LOCK_KEY = int.from_bytes(b"tlappend", "big") & 0x7FFF_FFFF_FFFF_FFFF
WRITE_OPTION = "ledger_write"
LEDGER_KEY = "traceapp.ledger"
_STATE = "traceapp.ledger.tx"
_Seq = BigInteger().with_variant(Integer, "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid


#: Constraint names that are the same on every engine, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LedgerBase(DeclarativeBase):
    """Declarative base of the ledger's own tables (kept apart from the domain models)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LedgerEntry(LedgerBase):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200))

    # A subject's entries in order: its latest entry of a kind is one backward step, however big the ledger.
    __table_args__ = (Index("ix_ledger_entries_subject_seq", "subject", "seq"),)


class LedgerHash(LedgerBase):
    __tablename__ = "ledger_hashes"

    idx: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(LedgerBase):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    # The head of the log at this size, so the next append reads one row: the chain hash of
    # entry size-1 and the right edge of the tree (its subtree roots, 32 bytes each).
    last_hash: Mapped[str] = mapped_column(String(64))
    edge: Mapped[bytes] = mapped_column(LargeBinary)


LEDGER_TABLES = ("ledger_entries", "ledger_hashes", "ledger_checkpoints")


class LedgerLockError(RuntimeError):
    """Raised when an append is attempted without the database's single-writer lock."""


@dataclass(frozen=True)
class Appended:
    """An entry as appended: its sequence number, entry object, bytes and chain hash."""

    seq: int
    entry: dict
    body: bytes
    hash: str


@dataclass
class _Transaction:
    size: int
    prev: str
    edge: tree.CompactRange
    entries: list[dict] = field(default_factory=list)
    hashes: list[dict] = field(default_factory=list)


def configure_engine(engine: Engine) -> None:
    """Set up an engine for the ledger: on SQLite, WAL, FULL sync, a busy timeout, secure_delete, and
    ``BEGIN IMMEDIATE`` for transactions started by :func:`begin_write`.

    pysqlite's own transaction handling is turned off so that SQLAlchemy's begin event
    decides how each transaction starts (the recipe in SQLAlchemy's SQLite dialect docs).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a signed checkpoint must never be lost
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Erased personal data must leave the file: freed cells and pages are zeroed, not left readable.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        write = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def begin_write(session: Session) -> Connection:
    """Start the session's transaction as a write transaction and return its connection.

    Must come before anything else in the transaction, so that what the transaction reads
    to validate a write cannot change before it appends: SQLite begins it with
    ``BEGIN IMMEDIATE``; PostgreSQL takes the ledger's advisory lock at once.
    """
    conn = session.connection(execution_options={WRITE_OPTION: True})
    _lock(conn)
    return conn


def begin_snapshot(session: Session) -> Connection:
    """Start the session's transaction as a read of one consistent snapshot of the log.

    Must come before anything else in the transaction. PostgreSQL runs it REPEATABLE READ,
    so entries and checkpoints read by separate statements belong together even while
    others append; SQLite's WAL read transactions are snapshots already.
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session.connection()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Transaction-level: released by COMMIT or ROLLBACK, also when the process dies.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})


def _read_hashes(conn: Connection):
    table = LedgerHash.__table__

    def read(indexes: Sequence[int]) -> list[bytes]:
        wanted = sorted(set(indexes))
        found: dict[int, bytes] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            found.update(conn.execute(select(table.c.idx, table.c.hash).where(table.c.idx.in_(chunk))).all())
        try:
            return [found[i] for i in indexes]
        except KeyError as exc:
            raise LookupError(f"stored tree hash {exc.args[0]} is missing") from exc

    return read


class Ledger:
    """Appends entries and signs checkpoints with one signer; reads proofs and checkpoints.

    The signer's name is the ledger's origin. It is chosen once, by whoever signs the first
    checkpoint; afterwards the stored checkpoints decide it (``adopt_stored_origin``), so a
    deployment whose public URL moves keeps signing under the name its earlier checkpoints carry.
    """

    def __init__(self, signer: Signer):
        self.signer = signer
        # Transactions with entries this process has sealed: lets a reader that caches by the
        # ledger's size notice its own process's writes at once.
        self.sealed = 0

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def adopt_stored_origin(self, conn: Connection | Session) -> str | None:
        """Sign under the origin of the newest stored checkpoint from now on; return that origin, or
        None before the first checkpoint (the signer's own name then becomes the origin)."""
        latest = self.latest_checkpoint(conn)
        if latest is None:
            return None
        self._adopt(parse_checkpoint(latest[1]).origin)
        return self.signer.name

    def _adopt(self, origin: str) -> None:
        if origin != self.signer.name:
            self.signer = self.signer.renamed(origin)

    # --- writing ---------------------------------------------------------------------

    def install(self, session_factory) -> None:
        """Make every session from ``session_factory`` seal its appends when it commits."""
        session_factory.configure(info={LEDGER_KEY: self})
        event.listen(session_factory, "before_commit", self.seal)
        event.listen(session_factory, "after_rollback", _forget)
        event.listen(session_factory, "after_soft_rollback", lambda s, _t: _forget(s))

    def append(self, session: Session, kind: str, actor: dict, subject: str, data: dict) -> Appended:
        """Append one entry in the session's transaction and return it.

        Raises EntryError for an entry that cannot be encoded and LedgerLockError when an
        SQLite transaction was not begun with :func:`begin_write`.
        """
        tx = session.info.get(_STATE)
        if tx is None:
            tx = self._open(session)
        seq = tx.size
        entry = make_entry(seq, tx.prev, kind, actor, subject, data)
        body = entry_bytes(entry)
        digest = chain_hash(body).hex()
        base = tree.stored_hash_index(0, seq)
        for offset, h in enumerate(tx.edge.append(tree.leaf_hash(body))):
            tx.hashes.append({"idx": base + offset, "hash": h})
        tx.entries.append({"seq": seq, "body": body, "hash": digest,
                           "kind": entry["kind"], "subject": entry["subject"]})
        tx.size, tx.prev = seq + 1, digest
        return Appended(seq, entry, body, digest)

    @staticmethod
    def pending(session: Session) -> int:
        """Return how many entries the session's transaction has appended so far."""
        tx = session.info.get(_STATE)
        return len(tx.entries) if tx is not None else 0

    def _open(self, session: Session) -> _Transaction:
        conn = session.connection()
        if not conn.get_execution_options().get(WRITE_OPTION):
            if conn.dialect.name == "sqlite":
                raise LedgerLockError("ledger appends need a write transaction: call begin_write(session) first")
            _lock(conn)
        head = conn.execute(select(LedgerCheckpoint.size, LedgerCheckpoint.last_hash, LedgerCheckpoint.edge,
                                   LedgerCheckpoint.note)
                            .order_by(LedgerCheckpoint.size.desc()).limit(1)).first()
        if head is None:
            tx = _Transaction(0, GENESIS_PREV, tree.CompactRange())
        else:
            # Another process may have signed the first checkpoint after this one started.
            self._adopt(parse_checkpoint(head.note).origin)
            edge = bytes(head.edge)
            hashes = [edge[i:i + tree.HASH_SIZE] for i in range(0, len(edge), tree.HASH_SIZE)]
            tx = _Transaction(head.size, head.last_hash, tree.CompactRange(head.size, hashes))
        session.info[_STATE] = tx
        return tx

    def seal(self, session: Session) -> str | None:
        """Write the transaction's entries and a checkpoint signed over the new tree.

        Runs before every commit of an installed session; returns the signed note, or None
        when the transaction appended nothing.
        """
        tx = session.info.pop(_STATE, None)
        if tx is None or not tx.entries:
            return None
        note = sign_checkpoint(self.signer, tx.size, tx.edge.root())
        self.sealed += 1
        conn = session.connection()
        conn.execute(insert(LedgerEntry.__table__), tx.entries)
        conn.execute(insert(LedgerHash.__table__), tx.hashes)
        conn.execute(insert(LedgerCheckpoint.__table__), [_checkpoint_row(tx.size, note, tx.prev, tx.edge)])
        return note

    def sign_empty(self, session: Session) -> str | None:
        """Sign the checkpoint of the empty log if no checkpoint exists yet; return it.

        The session must be in a write transaction (:func:`begin_write`).
        """
        if session.execute(select(LedgerCheckpoint.size).limit(1)).first() is not None:
            return None
        note = sign_checkpoint(self.signer, 0, tree.EMPTY_ROOT)
        session.execute(insert(LedgerCheckpoint), [_checkpoint_row(0, note, GENESIS_PREV, tree.CompactRange())])
        return note

    # --- reading ---------------------------------------------------------------------

    @staticmethod
    def latest_checkpoint(conn: Connection | Session) -> tuple[int, str] | None:
        """Return (size, signed note) of the newest checkpoint, or None before the first."""
        row = conn.execute(select(LedgerCheckpoint.size, LedgerCheckpoint.note)
                           .order_by(LedgerCheckpoint.size.desc()).limit(1)).first()
        return (row.size, row.note) if row else None

    @staticmethod
    def checkpoint_at(conn: Connection | Session, size: int) -> str | None:
        """Return the signed note of the checkpoint of exactly ``size``, if one was kept."""
        return conn.execute(select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == size)).scalar()

    @staticmethod
    def entries(conn: Connection | Session, start: int, limit: int) -> list[tuple[int, bytes, str]]:
        """Return (seq, bytes, chain hash hex) for entries start … start+limit-1."""
        rows = conn.execute(select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.hash)
                            .where(LedgerEntry.seq >= start, LedgerEntry.seq < start + limit)
                            .order_by(LedgerEntry.seq))
        return [(r.seq, bytes(r.body), r.hash) for r in rows]

    @staticmethod
    def find(conn: Connection | Session, subject: str, kind: str | None = None) -> list[tuple[int, bytes, str]]:
        """Return the entries about ``subject`` (optionally of one kind), oldest first."""
        q = select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.hash).where(LedgerEntry.subject == subject)
        if kind is not None:
            q = q.where(LedgerEntry.kind == kind)
        return [(r.seq, bytes(r.body), r.hash) for r in conn.execute(q.order_by(LedgerEntry.seq))]

    @staticmethod
    def inclusion_proof(conn: Connection | Session, seq: int, size: int) -> tuple[bytes, list[bytes]]:
        """Return (leaf hash, RFC 6962 audit path) for entry ``seq`` in the tree of ``size``.

        Raises ProofError for impossible sizes; the caller checks ``size`` against a checkpoint.
        """
        read = _read_hashes(_connection(conn))
        if not 0 <= seq < size:
            raise tree.ProofError(f"entry {seq} is not in a tree of size {size}")
        leaf = read([tree.stored_hash_index(0, seq)])[0]
        return leaf, tree.inclusion_proof(seq, size, read)

    @staticmethod
    def consistency_proof(conn: Connection | Session, old: int, new: int) -> list[bytes]:
        """Return the RFC 6962 consistency proof from tree size ``old`` to ``new``."""
        return tree.consistency_proof(old, new, _read_hashes(_connection(conn)))

    @staticmethod
    def tree_hash(conn: Connection | Session, size: int) -> bytes:
        """Return the root hash of the tree of ``size`` from stored hashes."""
        return tree.tree_hash(size, _read_hashes(_connection(conn)))

    # --- verification ----------------------------------------------------------------

    def verify(self, conn: Connection | Session, progress=None, *, check_stored_hashes: bool = True) -> Summary:
        """Verify the whole stored log (see :func:`verify_log`); raises VerificationError.

        Every stored tree hash is recomputed in the same pass, since roots and proofs are
        served from them; ``check_stored_hashes=False`` leaves them out (the benchmark's
        baseline). Give it a session begun with :func:`begin_snapshot` when others may be
        appending.
        """
        conn = _connection(conn)
        entries, checkpoints = stream_entries(conn), stream_checkpoints(conn)
        try:
            return verify_log(entries, checkpoints, self.verifier, read_hashes=_read_hashes(conn),
                              stored_hashes=StoredHashRows(conn) if check_stored_hashes else None,
                              progress=progress)
        finally:
            entries.close()  # closes the server-side cursors of a verification that stopped early
            checkpoints.close()


def _checkpoint_row(size: int, note: str, last_hash: str, edge: tree.CompactRange) -> dict:
    return {"size": size, "note": note, "last_hash": last_hash, "edge": b"".join(edge.hashes)}


def ledger_of(session: Session) -> Ledger:
    """Return the ledger installed on the session's factory (see :meth:`Ledger.install`)."""
    try:
        return session.info[LEDGER_KEY]
    except KeyError:
        raise LookupError("this session's factory has no ledger installed") from None


def _forget(session: Session) -> None:
    session.info.pop(_STATE, None)


def _connection(conn: Connection | Session) -> Connection:
    return conn.connection() if isinstance(conn, Session) else conn


def stream_entries(conn: Connection, batch: int = 20000) -> Iterator[tuple[int, bytes, str]]:
    """Yield (seq, bytes, chain hash hex) for every entry in seq order, a batch at a time."""
    # The DBAPI cursor directly: a full verification is bound by per-row overhead, and
    # SQLAlchemy's result machinery would triple it.
    for seq, body, digest in _raw_rows(conn, "SELECT seq, body, hash FROM ledger_entries ORDER BY seq", batch):
        yield seq, body if isinstance(body, bytes) else bytes(body), digest


class StoredHashRows:
    """The stored tree hashes of ``ledger_hashes`` as :func:`verify_log` reads them: by index range."""

    def __init__(self, conn: Connection):
        # The DBAPI connection directly, as for the streams: a verification reads every row.
        self._raw = conn.connection.driver_connection
        self._postgres = conn.dialect.name == "postgresql"
        if self._postgres:
            self._joined = ("SELECT count(*), string_agg(hash, ''::bytea ORDER BY idx) FROM ledger_hashes "
                            "WHERE idx >= %s AND idx < %s AND length(hash) = 32")
        elif sqlite3.sqlite_version_info >= (3, 44):
            self._joined = ("SELECT count(*), CAST(group_concat(hash, '' ORDER BY idx) AS BLOB) FROM ledger_hashes "
                            "WHERE idx >= ? AND idx < ? AND length(hash) = 32")
        else:  # no ORDER BY inside aggregates: concatenate the rows of an ordered subquery
            self._joined = ("SELECT count(*), CAST(group_concat(hash, '') AS BLOB) FROM (SELECT hash "
                            "FROM ledger_hashes WHERE idx >= ? AND idx < ? AND length(hash) = 32 ORDER BY idx)")

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        cursor = self._raw.cursor(binary=True) if self._postgres else self._raw.cursor()
        try:
            cursor.execute(sql.replace("?", "%s") if self._postgres else sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def joined(self, start: int, stop: int) -> tuple[int, bytes]:
        count, joined = self._query(self._joined, (start, stop))[0]
        return count, bytes(joined or b"")

    def between(self, start: int, stop: int) -> list[bytes]:
        rows = self._query("SELECT hash FROM ledger_hashes WHERE idx >= ? AND idx < ? ORDER BY idx", (start, stop))
        return [bytes(h) for (h,) in rows]

    def first_index_from(self, start: int) -> int | None:
        return self._query("SELECT min(idx) FROM ledger_hashes WHERE idx >= ?", (start,))[0][0]

    def head(self) -> tuple[int, str, bytes] | None:
        rows = self._query("SELECT size, last_hash, edge FROM ledger_checkpoints ORDER BY size DESC LIMIT 1", ())
        return tuple(rows[0]) if rows else None


def stream_checkpoints(conn: Connection) -> Iterator[tuple[int, str]]:
    """Yield (size, signed note) for every kept checkpoint in size order."""
    yield from _raw_rows(conn, "SELECT size, note FROM ledger_checkpoints ORDER BY size", 5000)


def _raw_rows(conn: Connection, sql: str, batch: int) -> Iterator[tuple]:
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # A server-side cursor, so the log is never held in memory; binary rows decode about
        # twice as fast as text ones (bytea needs no hex parsing).
        cursor = raw.cursor(name=f"ledger_stream_{id(sql)}", binary=True)
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def parse_checkpoint(note: str) -> Checkpoint:
    """Return the checkpoint inside a signed note (without checking the signature)."""
    return Checkpoint.parse(note[: note.rfind("\n\n") + 1])
