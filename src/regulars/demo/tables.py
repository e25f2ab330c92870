"""The tables of one chunk as arrow tables, in the columns of :mod:`regulars.domain.tables`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from regulars.demo.archetypes import (
    _ADDONS,
    _CATEGORIES,
    _COMPANY_FORMS,
    _COMPANY_KINDS,
    _COMPANY_WORDS,
    _CONTACT_CHANNELS,
    _DIRECTIONS,
    _DOMAINS,
    _FEEDBACK_TEXT,
    _FIRST_NAMES,
    _KINDS,
    _LAST_NAMES,
    _MANAGERS,
    _ORDER_CHANNELS,
    _OUTCOMES,
    _RETURN_REASONS,
    PROSPECT,
)
from regulars.demo.arrays import Arr, _digits, _ids, _join, _null_where, _strings
from regulars.demo.spec import SCHEMAS

if TYPE_CHECKING:
    from regulars.demo.chunk import _Chunk



def person_number(c: _Chunk, persons: Arr) -> Arr:
    number = c.first_person + persons + 1
    if c.with_big:
        number = np.where(persons == c.p - 1, c.spec.customers, number)
    return number.astype(np.int64)


def person_ids(c: _Chunk, persons: Arr) -> pa.Array:
    return _ids("C", person_number(c, persons), c.widths.customer)


def dup_numbers(c: _Chunk) -> Arr:
    return c.spec.customers + c.state.duplicates + 1 + np.arange(c.dup_person.size)


def card_ids(c: _Chunk) -> pa.Array:
    numbers = np.concatenate([person_number(c, np.arange(c.p)), dup_numbers(c)])
    return _ids("C", numbers, c.widths.customer)


# over 60 lines, one piece: one table's columns from one random stream, whose order the same
# seed depends on
def customers_table(c: _Chunk) -> pa.Table:
    rng, p, b2b, arch = c.rng, c.p, c.b2b, c.arch
    numbers = person_number(c, np.arange(p))
    first = rng.integers(0, len(_FIRST_NAMES), p)
    last = rng.integers(0, len(_LAST_NAMES), p)
    word = rng.integers(0, len(_COMPANY_WORDS), p)
    kind = rng.integers(0, len(_COMPANY_KINDS), p)
    form = rng.integers(0, len(_COMPANY_FORMS), p)
    domain = rng.integers(0, len(_DOMAINS), p)
    num = _digits(numbers, 0)
    person_name = _join(_strings(_FIRST_NAMES, first), " ", _strings(_LAST_NAMES, last))
    company_name = _join(
        _strings(_COMPANY_WORDS, word),
        " ",
        _strings(_COMPANY_KINDS, kind),
        " ",
        _strings(_COMPANY_FORMS, form),
    )
    name = pc.if_else(pa.array(b2b), company_name, person_name)
    person_email = _join(
        pc.utf8_lower(_strings(_FIRST_NAMES, first)),
        ".",
        pc.utf8_lower(_strings(_LAST_NAMES, last)),
        num,
        "@",
        _strings(_DOMAINS, domain),
    )
    company_email = _join(
        "orders",
        num,
        "@",
        pc.utf8_lower(_strings(_COMPANY_WORDS, word)),
        "-",
        pc.utf8_lower(_strings(_COMPANY_KINDS, kind)),
        ".example.com",
    )
    email = pc.if_else(pa.array(b2b), company_email, person_email)
    digits = _digits((7_654_321 * numbers + 1_234_567) % 10_000_000, 7)
    d3 = pc.utf8_slice_codeunits(digits, 0, 3)
    d4 = pc.utf8_slice_codeunits(digits, 3, 7)
    phone = _join("+372 5", d3, " ", d4)
    canonical = np.zeros(p, dtype=bool)
    canonical[c.dup_person] = True
    no_email = ~b2b & (arch != PROSPECT) & ~canonical & (rng.random(p) < 0.15)
    no_phone = ~b2b & ~canonical & (rng.random(p) < 0.3)
    birthday = rng.integers(-7305, 13149, p).astype(np.int32)  # 1950-01-01 .. 2005-12-31
    no_birthday = b2b | (rng.random(p) < 0.4)
    disc = np.where(rng.random(p) < 0.4, rng.integers(1, 5, p), 0)
    decision = np.where(rng.random(p) < 0.3, rng.integers(1, 3, p), 0)
    perception = np.where(rng.random(p) < 0.2, rng.integers(1, 4, p), 0)
    attributes = _attributes(b2b, disc, decision, perception)

    # duplicate cards: same person, e-mail in other letters or phone in another format
    dp = c.dup_person
    dn = dp.size
    by_email = c.dup_by_email
    dup_email = pc.if_else(
        pa.array(c.dup_variant == 0),
        pc.utf8_upper(email.take(dp)),
        pc.utf8_title(email.take(dp)),
    )
    dup_phone = pc.if_else(
        pa.array(c.dup_variant == 0),
        _join("+3725", digits.take(dp)),
        _join("(+372) 5", d3.take(dp), "-", d4.take(dp)),
    )
    created = np.concatenate(
        [c.created, np.maximum(c.dup_first - rng.uniform(0.0, 0.01, dn), 0.0)]
    )
    columns = {
        "customer_id": card_ids(c),
        "name": pa.concat_arrays([name, name.take(dp)]),
        "email": pa.concat_arrays(
            [_null_where(email, no_email), _null_where(dup_email, ~by_email)]
        ),
        "phone": pa.concat_arrays(
            [_null_where(phone, no_phone), _null_where(dup_phone, by_email)]
        ),
        "created_at": c.cal.timestamps(created),
        "birthday": pa.array(
            np.concatenate([birthday, np.zeros(dn, np.int32)]),
            pa.date32(),
            mask=np.concatenate([no_birthday, np.ones(dn, bool)]),
        ),
        "manager": _strings(
            _MANAGERS,
            np.concatenate([c.manager, np.zeros(dn, np.int64)]),
            np.concatenate([c.manager < 0, np.ones(dn, bool)]),
        ),
        "consent_email": np.concatenate([c.consent_email, rng.random(dn) < 0.5]),
        "consent_sms": np.concatenate([c.consent_sms, np.zeros(dn, bool)]),
        "consent_messenger": np.concatenate([c.consent_messenger, np.zeros(dn, bool)]),
        "consent_phone": np.concatenate([c.consent_phone, np.zeros(dn, bool)]),
        "do_not_contact": np.concatenate([c.dnc, np.zeros(dn, bool)]),
        "attributes": pa.concat_arrays([attributes, attributes.take(dp)]),
    }
    return pa.table(columns, schema=SCHEMAS["customers"])


def order_customer_ids(c: _Chunk) -> pa.Array:
    numbers = person_number(c, c.pid)
    moved = c.order_card >= 0
    if moved.any():
        numbers[moved] = dup_numbers(c)[c.order_card[moved]]
    return _ids("C", numbers, c.widths.customer)


def order_numbers(c: _Chunk, idx: Arr) -> Arr:
    return (c.state.orders + 1 + idx).astype(np.int64)


def orders_table(c: _Chunk) -> pa.Table:
    m = c.pid.size
    w = c.widths
    columns = {
        "order_id": _ids("O", order_numbers(c, np.arange(m)), w.order),
        "customer_id": order_customer_ids(c),
        "ordered_at": c.cal.timestamps(c.t),
        "amount": c.amount,
        "currency": pa.repeat(pa.scalar(c.spec.currency), m),
        "discount_amount": c.discount,
        "cost": c.cost,
        "channel": _strings(_ORDER_CHANNELS, c.channel),
        "quantity": c.quantity,
        "categories": _strings(_CATEGORY_PAIRS, c.cat_code),
        "new_products": c.new_products,
        "addons": _strings(_ADDONS, np.maximum(c.addon, 0), c.addon < 0),
    }
    return pa.table(columns, schema=SCHEMAS["orders"])


def returns_table(c: _Chunk) -> pa.Table:
    r = c.ret_order.size
    w = c.widths
    columns = {
        "return_id": _ids("R", c.state.returns + 1 + np.arange(r), w.other),
        "order_id": _ids("O", order_numbers(c, c.ret_order), w.order),
        "returned_at": c.cal.timestamps(c.ret_at),
        "amount": c.ret_amount,
        "reason": _strings(_RETURN_REASONS, c.ret_reason),
    }
    return pa.table(columns, schema=SCHEMAS["returns"])


def invoices_table(c: _Chunk) -> pa.Table:
    i = c.inv_order.size
    w = c.widths
    columns = {
        "invoice_id": _ids("INV", c.state.invoices + 1 + np.arange(i), w.other),
        "customer_id": person_ids(c, c.pid[c.inv_order]),
        "due_at": c.cal.timestamps(c.inv_due),
        "amount": c.amount[c.inv_order],
        "order_id": _ids("O", order_numbers(c, c.inv_order), w.order),
        "paid_at": c.cal.timestamps(c.inv_paid, np.isnan(c.inv_paid)),
    }
    return pa.table(columns, schema=SCHEMAS["invoices"])


def interactions_table(c: _Chunk) -> pa.Table:
    x = c.ia_person.size
    columns = {
        "interaction_id": _ids(
            "IA", c.state.interactions + 1 + np.arange(x), c.widths.other
        ),
        "customer_id": person_ids(c, c.ia_person),
        "at": c.cal.timestamps(c.ia_at),
        "channel": _strings(_CONTACT_CHANNELS, c.ia_channel),
        "direction": _strings(_DIRECTIONS, c.ia_direction),
        "kind": _strings(_KINDS, c.ia_kind),
        "responded_at": c.cal.timestamps(c.ia_resp, np.isnan(c.ia_resp)),
        "outcome": _strings(_OUTCOMES, np.maximum(c.ia_outcome, 0), c.ia_outcome < 0),
        "manager": _strings(_MANAGERS, np.maximum(c.ia_manager, 0), c.ia_manager < 0),
    }
    return pa.table(columns, schema=SCHEMAS["interactions"])


def feedback_table(c: _Chunk) -> pa.Table:
    f = c.fb_person.size
    columns = {
        "feedback_id": _ids("FB", c.state.feedback + 1 + np.arange(f), c.widths.other),
        "customer_id": person_ids(c, c.fb_person),
        "at": c.cal.timestamps(c.fb_at),
        "nps": c.fb_nps,
        "csat": pa.array(c.fb_csat, pa.int64(), mask=c.fb_csat_null),
        "complaint": c.fb_complaint,
        "text": _strings(_FEEDBACK_TEXT, np.maximum(c.fb_text, 0), c.fb_text < 0),
    }
    return pa.table(columns, schema=SCHEMAS["feedback"])


def referrals_table(c: _Chunk) -> pa.Table:
    r = c.ref_from.size
    referrer = person_ids(c, c.ref_from)
    columns = {
        "referral_id": _ids("RF", c.state.referrals + 1 + np.arange(r), c.widths.other),
        "referrer_id": referrer,
        "referee_id": person_ids(c, c.ref_to),
        "at": c.cal.timestamps(c.ref_at),
        "code": _join("REF-", referrer),
    }
    return pa.table(columns, schema=SCHEMAS["referrals"])




_POPCOUNT = np.array([bin(v).count("1") for v in range(1 << len(_CATEGORIES))])

_CATEGORY_PAIRS: tuple[str, ...] = tuple(
    _CATEGORIES[i] if i == j else f"{_CATEGORIES[min(i, j)]};{_CATEGORIES[max(i, j)]}"
    for i in range(len(_CATEGORIES))
    for j in range(len(_CATEGORIES))
)


def _attributes(b2b: Arr, disc: Arr, decision: Arr, perception: Arr) -> pa.Array:
    """``segment=…;disc=…;decision=…;perception=…`` tags from small codes (0 = absent)."""
    vocab: list[str] = []
    for seg in ("b2c", "b2b"):
        for di in ("", "D", "I", "S", "C"):
            for de in ("", "fast", "slow"):
                for pe in ("", "visual", "auditory", "kinesthetic"):
                    tags = [f"segment={seg}"]
                    tags += [f"disc={di}"] if di else []
                    tags += [f"decision={de}"] if de else []
                    tags += [f"perception={pe}"] if pe else []
                    vocab.append(";".join(tags))
    code = ((b2b.astype(np.int64) * 5 + disc) * 3 + decision) * 4 + perception
    return _strings(vocab, code)


