"""The ledger written inside the HTTP API's transaction (``SqlLoyaltyStore.joining``): what
makes an ingested order and its points one ``BEGIN … COMMIT``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
from regulars.services.loyalty.ports import DuplicateKey, Operation

AT = datetime(2025, 3, 1, tzinfo=UTC)


def _op(key: str) -> Operation:
    return Operation(key, "test", None, "fp", {"n": 1})


def _keys(store: SqlLoyaltyStore) -> list[str]:
    with store.reading() as tx:
        return sorted(tx.operations(["a", "b", "c"]))


@pytest.fixture
def api(store: SqlLoyaltyStore) -> SqlApiStore:
    s = SqlApiStore(store.url)
    yield s
    s.close()


def test_a_joined_write_commits_with_the_outer_transaction(store, api):
    with api.begin() as outer, store.joining(outer) as joined:
        assert joined
        with store.transaction() as tx:
            tx.add_operations([_op("a")], AT)
            tx.commit()  # releases the savepoint: nothing is committed yet
        with store.reading() as tx:  # reads on the joined connection see it
            assert set(tx.operations(["a"])) == {"a"}
        outer.commit()
    assert _keys(store) == ["a"]


def test_a_joined_write_rolls_back_with_the_outer_transaction(store, api):
    with api.begin() as outer, store.joining(outer), store.transaction() as tx:
        tx.add_operations([_op("a")], AT)
        tx.commit()
        # the outer transaction ends without a commit
    assert _keys(store) == []


def test_a_failed_joined_write_leaves_the_outer_transaction_usable(store, api):
    """A duplicate key inside the ledger is its own retry (a savepoint), not the end of the
    ingest's transaction."""
    with api.begin() as outer, store.joining(outer):
        with store.transaction() as tx:
            tx.add_operations([_op("a")], AT)
            tx.commit()
        with pytest.raises(DuplicateKey), store.transaction() as tx:
            tx.add_operations([_op("b")], AT)
            tx.add_operations([_op("a")], AT)
        with store.transaction() as tx:  # uncommitted: rolled back to its savepoint
            tx.add_operations([_op("c")], AT)
        outer.commit()
    assert _keys(store) == ["a"]


def test_joining_anything_but_an_api_transaction_on_this_database_joins_nothing(store, api):
    with store.joining(object()) as joined:
        assert not joined
        with store.transaction() as tx:  # its own transaction, as always
            tx.add_operations([_op("a")], AT)
            tx.commit()
    assert _keys(store) == ["a"]
    other = SqlLoyaltyStore("sqlite://")
    with api.begin() as outer, other.joining(outer) as joined:
        assert not joined
    other.dispose()
