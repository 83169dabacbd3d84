"""A separate process that appends to a ledger database (for concurrency and crash tests).

Usage: python -m tests.ledger_worker URL NAME COUNT PER_TX
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from tests.conftest import TEST_ORIGIN, TEST_SEED
from traceapp.ledger.note import Signer
from traceapp.ledger.store import Ledger, begin_write, configure_engine


def run(url: str, name: str, count: int, per_tx: int) -> None:
    engine = create_engine(url)
    configure_engine(engine)
    sessions = sessionmaker(engine)
    ledger = Ledger(Signer.from_seed(TEST_ORIGIN, TEST_SEED))
    ledger.install(sessions)
    done = 0
    while done < count:
        with sessions() as s:
            begin_write(s)
            for _ in range(min(per_tx, count - done)):
                ledger.append(s, "batch.registered", {"user": name, "org": None}, f"batch:{name}-{done}",
                              {"worker": name, "n": done})
                done += 1
            s.commit()
        print(done, flush=True)
    engine.dispose()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
