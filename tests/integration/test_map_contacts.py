"""Every row of the customer map names its customer, manager and contacts when the customers
table has them: the analysis joins them once, so the terminal, the report, ``--out``, the Python
result and the API all list them."""

from __future__ import annotations

import pyarrow as pa

import regulars

CARDS = pa.table({
    "customer_id": ["C1", "C2", "C4"],
    "name": ["Anna Tamm", "Bob", None],
    "manager": ["Mari", None, None],
    "email": ["anna@x.ee", None, "c4@x.ee"],
    "phone": ["+372 5123 4567", None, None],
    # C2's card was made after the as-of date: its orders before it still carry its name
    "created_at": ["2024-01-01", "2024-06-01", "2024-01-02"],
})
ORDERS = pa.table({
    "order_id": ["1", "2", "3", "4"],
    "customer_id": ["C1", "C1", "C2", "C3"],  # C3 has no card; C4 no order
    "ordered_at": ["2024-01-05", "2024-02-05", "2024-03-01", "2024-03-10"],
    "amount": ["10", "12", "5", "7"],
})
CONTACTS = ["customer_id", "name", "manager", "email", "phone"]


def test_the_map_carries_name_manager_and_contacts_right_after_the_id():
    result = regulars.analyze(ORDERS, customers=CARDS, as_of="2024-04-01")
    table = result.customers.to_arrow()
    assert table.column_names[:6] == [*CONTACTS, "orders"]
    assert table.select(CONTACTS).to_pylist() == [
        {"customer_id": "C1", "name": "Anna Tamm", "manager": "Mari", "email": "anna@x.ee",
         "phone": "+372 5123 4567"},
        {"customer_id": "C2", "name": "Bob", "manager": None, "email": None, "phone": None},
        {"customer_id": "C3", "name": None, "manager": None, "email": None, "phone": None},
        {"customer_id": "C4", "name": None, "manager": None, "email": "c4@x.ee", "phone": None},
    ]
    # the columns the map had before are all still there, in their order, with their values
    bare = regulars.analyze(ORDERS, customers=CARDS.select(["customer_id", "created_at"]),
                            as_of="2024-04-01").customers.to_arrow()
    assert table.drop_columns(CONTACTS[1:]).to_pylist() == bare.drop_columns(
        CONTACTS[1:]).to_pylist()
    assert table.column("orders").to_pylist() == [2, 1, 1, 0]


def test_without_a_customers_table_the_map_has_no_contact_columns():
    table = regulars.analyze(ORDERS, as_of="2024-04-01").customers.to_arrow()
    assert table.column_names[:2] == ["customer_id", "orders"]
    assert not {"name", "manager", "email", "phone"} & set(table.column_names)
