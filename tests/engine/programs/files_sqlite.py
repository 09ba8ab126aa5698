"""sqlite3 (Python's module, its own copy of the SQLite library) inserting
rows in a loop of transactions into a database in FOLDER. After a
checkpoint, more transactions, SIGKILL and a restart (the database and its
journal rolled back with memory), the integrity check, the row count and a
digest of the rows equal an uninterrupted run's."""
import hashlib
import os
import sqlite3
import sys
import time

folder = sys.argv[1]
os.makedirs(folder, exist_ok=True)
path = os.path.join(folder, "rows.db")
for suffix in ("", "-journal", "-wal", "-shm"):
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
db = sqlite3.connect(path)
db.execute("create table rows (id integer primary key, batch integer, value text)")
db.commit()
value = 7
for batch in range(50):
    with db:
        for i in range(200):
            value = (value * 1103515245 + 12345) % 2147483648
            db.execute("insert into rows (batch, value) values (?, ?)", (batch, f"{value:x}"))
        db.execute("delete from rows where id % 17 = ?", (batch % 17,))
    print(f"progress files_sqlite {batch}", file=sys.stderr, flush=True)
    time.sleep(0.08)
check = db.execute("pragma integrity_check").fetchone()[0]
count = db.execute("select count(*) from rows").fetchone()[0]
digest = hashlib.sha256()
for row in db.execute("select id, batch, value from rows order by id"):
    digest.update(repr(row).encode())
db.close()
print(f"integrity {check}")
print(f"rows {count}")
print(f"digest {digest.hexdigest()[:32]}")
