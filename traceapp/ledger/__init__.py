"""The verifiable ledger: pure code, no Flask and no domain imports.

- :mod:`~traceapp.ledger.encoding`: entries and their RFC 8785 bytes;
- :mod:`~traceapp.ledger.tree`: RFC 6962 hashes and proofs over stored hashes;
- :mod:`~traceapp.ledger.note`: C2SP signed notes, verifier keys, checkpoints;
- :mod:`~traceapp.ledger.verify`: full verification, and the offline bundle verifier;
- :mod:`~traceapp.ledger.bundle`: the audit bundle file;
- :mod:`~traceapp.ledger.store`: the SQL tables, serialized appends and reads (SQLAlchemy).

Importing this package imports none of them, so the offline verifier stays free of
SQLAlchemy.
"""
