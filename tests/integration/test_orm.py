"""The domain's entities are mapped imperatively; bulk-imported rows read back as entities."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

import regulars
from regulars.adapters.db import migrate
from regulars.adapters.db.tables import start_mappers
from regulars.domain.model import Customer, Order


def test_a_customer_saved_through_the_orm_reads_back_equal(database_url):
    start_mappers()
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    migrate.upgrade(engine)
    with Session(engine) as session:
        session.add(Customer("C1", name="Anna", email="anna@example.com", row_hash="h"))
        session.commit()
    with Session(engine) as session:
        c = session.get(Customer, "C1")
        assert c is not None and (c.name, c.email, c.stub) == ("Anna", "anna@example.com", False)


def test_orders_written_in_bulk_read_back_as_domain_orders(database_url, tmp_path):
    start_mappers()
    f = tmp_path / "o.csv"
    f.write_text("order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-05 10:30:00.25,10.50\n")
    regulars.import_file("orders", f, settings=regulars.load_settings(database_url=database_url))
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        o = session.get(Order, "O1")
        assert o is not None
        assert o.ordered_at == datetime(2024, 1, 5, 10, 30, 0, 250000)
        assert Decimal(str(o.amount)) == Decimal("10.5")
        assert session.get(Customer, "C1").stub  # type: ignore[union-attr]
