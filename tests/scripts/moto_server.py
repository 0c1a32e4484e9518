"""moto (DynamoDB, DynamoDB Streams, Secrets Manager, SQS) served for the tests, with two fixes
to its transactions. The one program every launcher runs (tests/lib.sh, the load tool, the
store contract suite):

    python moto_server.py PORT        (or: python -c "$(cat moto_server.py)" PORT)

- One request at a time (`threaded=False`): moto's TransactWriteItems takes no lock and rolls
  back by restoring a copy of the table, so under moto_server's default threading concurrent
  transactions are not isolated (the store's concurrency contract case catches exactly that).
  DynamoDB serializes transactions; one request at a time is the faithful model.
- A transaction's rollback copy shares the stream's records instead of deep-copying them (they
  never change once written): otherwise every transaction copies every record the stream ever
  carried, and its cost grows with the outbox's events.
- A transaction copies each table once: moto deep-copies a table for every item the
  transaction writes to it (all before the first write, so the copies are the same), which made
  a 9-item payment copy the transactions table 9 times.
- A cancelled transaction keeps the table's stream shard: moto restores a copy of the table,
  whose shard is a new object, while a reader's shard iterator holds the old one; that reader
  then never sees another record. The shard object stays and gets the copy's records (the ones
  before the transaction), as a DynamoDB stream does.
"""
import copy
import sys

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamShard, Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def _shard_deepcopy(self, memo):
    clone = copy.copy(self)
    memo[id(self)] = clone
    clone.table = memo.get(id(self.table), self.table)
    clone.items = list(self.items)
    return clone


StreamShard.__deepcopy__ = _shard_deepcopy

class _CopyOncePerTransaction:
    """`copy` as moto.dynamodb.models sees it: within a transaction, a table is deep-copied once
    and that copy is the rollback state of every item of the transaction."""

    def __init__(self):
        self.tables = None

    def deepcopy(self, x, memo=None):
        if self.tables is not None and isinstance(x, Table):
            if id(x) not in self.tables:
                self.tables[id(x)] = copy.deepcopy(x)
            return self.tables[id(x)]
        return copy.deepcopy(x, memo)

    def __getattr__(self, name):
        return getattr(copy, name)


_copies = _CopyOncePerTransaction()
dynamodb_models.copy = _copies
_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_keeping_shards(self, transact_items):
    shards = {
        name: table.stream_shard
        for name, table in self.tables.items()
        if getattr(table, "stream_shard", None) is not None
    }
    _copies.tables = {}
    try:
        return _transact_write_items(self, transact_items)
    finally:
        _copies.tables = None
        for name, shard in shards.items():
            table = self.tables.get(name)
            restored = getattr(table, "stream_shard", None)
            if restored is not None and restored is not shard:
                shard.items = restored.items
                shard.table = table
                table.stream_shard = shard


DynamoDBBackend.transact_write_items = _transact_keeping_shards

if __name__ == "__main__":
    run_simple(
        "127.0.0.1",
        int(sys.argv[1]),
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
    )
