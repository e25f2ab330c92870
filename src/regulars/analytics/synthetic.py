"""A synthetic business with known answers: the demo data, test fixtures and benchmark input.

``iter_business`` simulates a shop that also sells to companies, over a fixed window (by default
2023-01-01 to 2025-12-31; nothing depends on today's date), and yields every input table of
DOMAIN §2 plus a ground-truth table that says who each customer *is*. It is pure numpy and
pyarrow, vectorised over customers and orders, and works in chunks of customers whose random
streams are derived from ``(seed, chunk index)`` with :class:`numpy.random.SeedSequence`, so a
business of a million customers and ten million orders is generated in bounded memory and the
same :class:`DemoSpec` always gives identical tables.

Archetypes
----------
Every simulated person has one archetype (``truth.archetype``), with the default share of the
base in brackets:

``prospect`` (5 %)
    known (a lead: card, e-mail, offers) but never ordered.
``one_time`` (54.5 %)
    a single order; acquisition follows the season, and many first orders come in a sale.
``occasional`` (16 %)
    two orders (three for 15 % of them), widely spaced, in any status.
``regular`` (5.5 %)
    orders in their own rhythm (gamma gaps), active now, a relationship that began within the
    last two years; stays while the offer is good: takes a promotion in 40-90 % of the orders,
    seldom uses add-ons, a passive NPS (mostly 7-8), rarely refers anyone.
``loyal_advocate`` (9 %)
    attached: spends more (average order about 110 against 45), buys about monthly over a
    relationship of years, takes a promotion in at most 12 % of the orders, mostly uses add-on
    services, answers NPS 9-10 and refers other customers.
``discount_hunter`` (2 %)
    80-90 % of the orders (and every other one) carry a deep discount, the margin of some at
    or below zero.
``b2b_regular`` (1 %)
    a company (``attributes`` contain ``segment=b2b``) ordering steadily on negotiated terms (a
    volume discount on 45-95 % of the orders), one invoice per order, paid on time, no add-ons
    to speak of, a passive NPS.
``b2b_shrinking`` (0.8 %)
    a company whose last 3-4 orders are each 15-30 % smaller than the one before and whose
    payment delays grow over the last four invoices due (half or more have one overdue now);
    most answer the NPS question with a low score.
``drifting`` (1.2 %)
    a regular-type customer whose gaps widen geometrically and who is now lapsing (time since
    the last order is 1.8-2.6 times their median gap).
``churned`` (2 %)
    gaps widened, then the orders stopped 380 days or more before the end date.
``won_back`` (0.8 %)
    bought, paused for 400-500 days (lost), then came back and is active again.
``innovator`` (0.5 %)
    most orders contain new products (``new_products > 0``), rarely discounted; a novelty
    seeker with a relationship of months rather than years.
``addon_dropper`` (0.5 %)
    used an add-on service in (nearly) every early order, then stopped for the last 3+ orders.
``problem`` (1.2 %)
    many returns, complaints (one within the last 90 days) and a low, falling NPS.
``big_client`` (exactly one)
    a company ordering every week whose order amounts are scaled so that it makes 30 % of the
    revenue of the 365 days up to the end date (concentration alert, DOMAIN §5).
``duplicate_card`` (about 1 % extra cards)
    a second customer card of a regular-type person, with the same e-mail differently cased or
    the same phone in another format; one or two of the person's early orders are recorded on
    it. ``truth.duplicate_of`` names the canonical card. ``DemoSpec.customers`` counts persons,
    so after the importer merges duplicates exactly that many customers remain.

Independent of the archetype, a person buys from one category (focused) or several (diverse),
may be unresponsive to offers, and may leave feedback, return goods or complain. Each person
draws their own share of discounted orders and their add-on habit (never, sometimes, mostly)
from their archetype's range (``_DISCOUNT_LO``/``_DISCOUNT_HI``, ``_ADDON_HABIT``).

On the default demo about 58 % of the buyers buy once and 28 % three times or more; the map,
with the rules of DOMAIN §3, calls about 11 % of the buyers loyal or advocate, who bring about
three quarters of the sales (the big client among them), and nearly all of them are the
``loyal_advocate`` archetype. The thresholds the truth applies are read from
:class:`regulars.analytics.params.MapParams` defaults, so the truth follows the map's rules.

Ground truth
------------
``truth`` has one row per customer card: ``customer_id``, ``archetype``, ``segment`` (b2c/b2b),
``duplicate_of`` (canonical card of a duplicate, else null) and boolean flags, all as of the end
of ``DemoSpec.end``. A duplicate card repeats its person's flags (drop rows with
``duplicate_of`` set when scoring per person). Flags are computed on the person's orders after
merging duplicates, with the defaults of ``MapParams``:

Behavioural flags (set by construction; the generator also cleans the other customers' data so
that the DOMAIN rule does not fire on them by accident):

``shrinking_orders``
    ``b2b_shrinking``: each of the last 3 orders smaller than the one before. For everyone else
    with 3+ orders the last three are not strictly decreasing and (with 4+ orders) their average
    is at least 75 % of the earlier average.
``slower_payments``
    ``b2b_shrinking``: the payment delay (paid - due) grows over the last invoices due, or one is
    overdue now. Other companies pay on or before the due date and their last three delays never
    strictly increase.
``dropped_addons``
    ``addon_dropper``: an add-on used in >= 50 % of the orders before the last three is absent
    from the last three. Anyone else who used an add-on in half their earlier orders used it in
    their last two.
``widening_gaps``
    ``drifting`` and ``churned``: the last gaps grow geometrically. For everyone else with 3+
    gaps (won-back customers aside) the last gap is at most 1.4 times their median gap.
``unresponsive``
    the last 3 offers went unanswered (these customers never answer). Every other customer
    answered their last offer within 10 days; no offer is sent in the last 15 days.

Data flags (the DOMAIN rule applied to the generated tables; the archetypes make them common
where they should be):

``is_lost`` / ``is_lapsing``
    DOMAIN §4 without the model part: lost when the last order is more than 365 days before the
    end, or more than 3 typical gaps; lapsing when not lost and more than 1.5 typical gaps. The
    typical gap is the person's median gap from 3 orders (2 gaps) on, else the base's median
    over every gap of every person.
``won_back``
    neither lost nor lapsing now, and an order in the last 365 days ended a gap longer than the
    lost rule (3 typical gaps, at most 365 days). The ``won_back`` archetype's pause of 400-500
    days, ended within that year, makes every one of them won back.
``complaints_returns``
    a return, a complaint interaction or a feedback complaint in the last 90 days.
``detractor`` / ``promoter``
    latest NPS <= 6 or a drop of >= 3 points between the last two answers / latest NPS >= 9.
``referrer``
    referred at least one customer.
``discount_driven``
    more than half the orders carry a discount.
``innovator``
    at least 30 % of the orders contain a new product.
``focused`` / ``diverse``
    3+ orders all in one category / orders in 4+ categories.

Tables
------
Column names and order follow ``regulars.domain.tables`` (copied here as literals: analytics
imports nothing else from ``regulars``). Money is float64 rounded to cents, timestamps are naive
``timestamp[us]`` at whole seconds within business hours, dates are ``date32``, list columns are
``;``-joined strings. Ids are prefixed zero-padded numbers (``C000001``, ``O0000001``, ``R…``,
``INV…``, ``IA…``, ``FB…``, ``RF…``), unique across chunks. ``chunk_customers`` is part of a
business's identity: another chunk size gives another (equally valid) business.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.params import MapParams

Arr = npt.NDArray[Any]

_P = MapParams()  # the map's default thresholds: the truth follows the same rules as the map

__all__ = [
    "ARCHETYPES",
    "SCHEMAS",
    "TRUTH_FLAGS",
    "DemoSpec",
    "generate_business",
    "iter_business",
]

# --------------------------------------------------------------------------------------------
# archetypes and their parameters

(
    PROSPECT,
    ONE_TIME,
    OCCASIONAL,
    REGULAR,
    LOYAL,
    HUNTER,
    B2B_REGULAR,
    B2B_SHRINKING,
    DRIFTING,
    CHURNED,
    WON_BACK,
    INNOVATOR,
    ADDON_DROPPER,
    PROBLEM,
    BIG_CLIENT,
    DUPLICATE,
) = range(16)

# name, share, min orders, weight (extra orders relative to a regular), gamma shape of the gaps,
# earliest and latest start (shares of the horizon), recency in median gaps (low, high),
# seasonal timing
_ARCHETYPE_TABLE: tuple[
    tuple[str, float, int, float, float, float, float, float, float, bool], ...
] = (
    ("prospect", 0.05, 0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, False),
    ("one_time", 0.545, 1, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, False),
    ("occasional", 0.16, 2, 0.0, 1.0, 0.0, 0.85, 0.2, 1.0, True),
    ("regular", 0.055, 3, 0.6, 3.0, 0.35, 0.8, 0.05, 0.9, True),
    ("loyal_advocate", 0.09, 8, 5.0, 4.0, 0.0, 0.4, 0.05, 0.9, True),
    ("discount_hunter", 0.02, 3, 1.0, 1.5, 0.0, 0.75, 0.05, 0.9, True),
    ("b2b_regular", 0.01, 4, 1.5, 6.0, 0.2, 0.7, 0.05, 0.9, False),
    ("b2b_shrinking", 0.008, 8, 1.5, 6.0, 0.0, 0.5, 0.05, 0.7, False),
    ("drifting", 0.012, 5, 0.6, 30.0, 0.0, 0.5, 1.8, 2.6, False),
    ("churned", 0.02, 4, 0.5, 30.0, 0.0, 0.3, 0.0, 0.0, False),
    ("won_back", 0.008, 4, 0.8, 3.0, 0.0, 0.1, 0.05, 0.9, True),
    ("innovator", 0.005, 3, 1.0, 3.0, 0.4, 0.85, 0.05, 0.9, True),
    ("addon_dropper", 0.005, 6, 1.0, 3.0, 0.3, 0.7, 0.05, 0.9, True),
    ("problem", 0.012, 3, 0.8, 2.5, 0.0, 0.7, 0.05, 0.9, True),
    ("big_client", 0.0, 2, 0.0, 10.0, 0.0, 0.02, 0.05, 0.5, False),
    ("duplicate_card", 0.0, 0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, False),
)

ARCHETYPES: tuple[str, ...] = tuple(row[0] for row in _ARCHETYPE_TABLE)
"""Every value of ``truth.archetype``."""

_N_PERSON_ARCHETYPES = 14  # drawn at random; big_client and duplicate_card are placed
_SHARES = np.array([row[1] for row in _ARCHETYPE_TABLE[:_N_PERSON_ARCHETYPES]])
_SHARES = _SHARES / _SHARES.sum()
_MIN_ORDERS = np.array([row[2] for row in _ARCHETYPE_TABLE], dtype=np.int64)
_WEIGHT = np.array([row[3] for row in _ARCHETYPE_TABLE])
_GAP_SHAPE = np.array([row[4] for row in _ARCHETYPE_TABLE])
_T0_LO = np.array([row[5] for row in _ARCHETYPE_TABLE])
_T0_HI = np.array([row[6] for row in _ARCHETYPE_TABLE])
_RHO_LO = np.array([row[7] for row in _ARCHETYPE_TABLE])
_RHO_HI = np.array([row[8] for row in _ARCHETYPE_TABLE])
_WARP = np.array([row[9] for row in _ARCHETYPE_TABLE])
_OCCASIONAL_THIRD = 0.15  # occasional buyers have 2 orders, or 3 with this probability

_WIDEN_STEPS = np.zeros(len(ARCHETYPES), dtype=np.int64)
_WIDEN_LO = np.ones(len(ARCHETYPES))
_WIDEN_HI = np.ones(len(ARCHETYPES))
_WIDEN_STEPS[DRIFTING], _WIDEN_LO[DRIFTING], _WIDEN_HI[DRIFTING] = 6, 1.25, 1.45
_WIDEN_STEPS[CHURNED], _WIDEN_LO[CHURNED], _WIDEN_HI[CHURNED] = 3, 1.4, 1.7

_B2B = (B2B_REGULAR, B2B_SHRINKING, BIG_CLIENT)
_DUP_ELIGIBLE = (REGULAR, LOYAL, HUNTER, INNOVATOR)

TRUTH_FLAGS: tuple[str, ...] = (
    "is_lost",
    "is_lapsing",
    "won_back",
    "widening_gaps",
    "shrinking_orders",
    "slower_payments",
    "dropped_addons",
    "complaints_returns",
    "unresponsive",
    "detractor",
    "promoter",
    "referrer",
    "discount_driven",
    "innovator",
    "focused",
    "diverse",
)
"""The boolean columns of ``truth``, in order (see the module docstring for their rules)."""

# days: active and lapsing customers stay clear of the "lost" rule's lost_max_days (365)
_R_CAP = _P.lost_max_days - 35.0
# customers with one or two orders stay this far (relative) from a threshold of the base's gap
_BASE_MARGIN = 0.15
_MONTH_ORDERS = np.array([0.9, 0.9, 1.0, 1.0, 1.0, 0.9, 0.7, 0.75, 1.0, 1.05, 1.25, 1.6])
_MONTH_AMOUNT = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.0, 1.1, 1.25])
# of the trailing window's revenue (concentration_window_days, 365): half as much again as the
# concentration alert's threshold (concentration_alert_share, 0.20)
_BIG_CLIENT_SHARE = 1.5 * _P.concentration_alert_share

# --------------------------------------------------------------------------------------------
# vocabularies

_CATEGORIES = (
    "electronics",
    "home",
    "garden",
    "kitchen",
    "toys",
    "books",
    "sports",
    "beauty",
    "clothing",
    "office",
)
_ADDONS = ("delivery", "installation", "assembly", "gift_wrap", "extended_warranty")
_ORDER_CHANNELS = ("online", "store", "phone", "email")
_CONTACT_CHANNELS = ("email", "sms", "messenger", "phone", "in_person")
_DIRECTIONS = ("in", "out")
_KINDS = ("offer", "greeting", "reminder", "call", "complaint", "support", "event")
_OUTCOMES = (
    "accepted",
    "declined",
    "clicked",
    "talked",
    "no_answer",
    "attended",
    "resolved",
    "refund",
    "replacement",
    "answered",
    "open",
)
_CHANNEL = {name: i for i, name in enumerate(_CONTACT_CHANNELS)}
_KIND = {name: i for i, name in enumerate(_KINDS)}
_OUTCOME = {name: i for i, name in enumerate(_OUTCOMES)}
_IN, _OUT = _DIRECTIONS.index("in"), _DIRECTIONS.index("out")
_RETURN_REASONS = ("damaged", "wrong_size", "not_as_described", "changed_mind", "late_delivery")
_MANAGERS = ("Anna Kask", "Mart Tamm", "Kati Saar", "Jaan Lepp", "Olga Ivanova")
_FIRST_NAMES = (
    "Anna", "Mari", "Liis", "Kadri", "Triin", "Laura", "Kati", "Maria", "Elena", "Olga",
    "Tatjana", "Irina", "Helen", "Kristi", "Eva", "Jaan", "Peeter", "Martin", "Andres", "Karl",
    "Mihkel", "Kristjan", "Toomas", "Rasmus", "Dmitri", "Sergei", "Igor", "Marko", "Tanel", "Ott",
)  # fmt: skip
_LAST_NAMES = (
    "Tamm", "Saar", "Sepp", "Magi", "Kask", "Kukk", "Rebane", "Ilves", "Parn", "Koppel",
    "Lepp", "Vaher", "Kivi", "Oun", "Lind", "Mets", "Raud", "Poder", "Ivanov", "Petrov",
    "Smirnov", "Kuznetsov", "Popov", "Volkov", "Sokolov", "Laur", "Kallas", "Org", "Aas", "Jogi",
)  # fmt: skip
_COMPANY_WORDS = (
    "Nordic", "Baltic", "Harbour", "Granite", "Amber", "Northwind", "Pine", "Silver", "Rapid",
    "Summit", "Birch", "Lighthouse", "Meadow", "Iron", "Bluebay", "Oak", "Coastal", "Prime",
)  # fmt: skip
_COMPANY_KINDS = ("Trade", "Supply", "Logistics", "Foods", "Tech", "Build", "Consult", "Retail")
_COMPANY_FORMS = ("OÜ", "AS")
_DOMAINS = ("example.com", "example.org", "example.net")
_FEEDBACK_TEXT = (
    "Great service, will recommend",
    "Fast delivery, thank you",
    "Good, as expected",
    "Fine",
    "Delivery was late",
    "The product broke after a week",
    "Nobody answered my complaint",
)

# NPS distributions over 0..10: general, promoter, good, low, mid-low, churn, drift, passive
_NPS_DISTS = np.array(
    [
        [0.01, 0.01, 0.01, 0.02, 0.03, 0.05, 0.07, 0.15, 0.25, 0.20, 0.20],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.4, 0.6],
        [0, 0, 0, 0, 0, 0, 0, 0.3, 0.4, 0.3, 0],
        [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 0],
        [0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0],
        [0, 0, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 0, 0, 0],
        [0, 0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0],
        [0, 0, 0, 0, 0.02, 0.05, 0.13, 0.35, 0.35, 0.08, 0.02],
    ]
)
_NPS_CDF = np.cumsum(_NPS_DISTS, axis=1)
_NPS_CDF[:, -1] = 1.0
# (earlier answers, latest answer) distribution per archetype
_NPS_BY_ARCHETYPE = np.zeros((len(ARCHETYPES), 2), dtype=np.int64)
_NPS_BY_ARCHETYPE[LOYAL] = (1, 1)
_NPS_BY_ARCHETYPE[BIG_CLIENT] = (2, 2)
_NPS_BY_ARCHETYPE[B2B_SHRINKING] = (2, 4)
_NPS_BY_ARCHETYPE[DRIFTING] = (6, 6)
_NPS_BY_ARCHETYPE[CHURNED] = (5, 5)
_NPS_BY_ARCHETYPE[PROBLEM] = (2, 3)
# regular-type customers are satisfied enough, but few of them would recommend the shop
_NPS_BY_ARCHETYPE[[REGULAR, WON_BACK, ADDON_DROPPER, B2B_REGULAR]] = (7, 7)
_ANSWER_P = np.full(len(ARCHETYPES), 0.3)
_ANSWER_P[[ONE_TIME, OCCASIONAL]] = 0.2
_ANSWER_P[[LOYAL, BIG_CLIENT]] = 0.9
_ANSWER_P[PROBLEM] = 0.85  # they answer to be heard
_ANSWER_P[B2B_REGULAR] = 0.5  # companies are asked on the manager's quarterly call
_ANSWER_P[B2B_SHRINKING] = 0.85
_ANSWER_P[CHURNED] = 0.4
_UNRESPONSIVE_P = np.full(len(ARCHETYPES), 0.05)
_UNRESPONSIVE_P[[PROSPECT, DRIFTING]] = (0.3, 0.4)
_UNRESPONSIVE_P[[ONE_TIME, OCCASIONAL, WON_BACK]] = (0.15, 0.1, 0.1)
_UNRESPONSIVE_P[CHURNED] = 0.5
_UNRESPONSIVE_P[PROBLEM] = 0.2
_UNRESPONSIVE_P[[LOYAL, BIG_CLIENT]] = 0.0

# Share of a person's orders with a promotion, drawn per person from [low, high): loyal
# advocates rarely take one; regulars and the other regular-type customers, who stay while the
# offer is good, in a good share of their orders; companies on negotiated terms get a volume
# discount on most orders (their buyer compares offers); discount hunters on nearly all.
_DISCOUNT_LO = np.zeros(len(ARCHETYPES))
_DISCOUNT_HI = np.full(len(ARCHETYPES), 0.25)
_DISCOUNT_LO[[REGULAR, WON_BACK, DRIFTING, CHURNED, ADDON_DROPPER]] = 0.4
_DISCOUNT_HI[[REGULAR, WON_BACK, DRIFTING, CHURNED, ADDON_DROPPER]] = 0.9
_DISCOUNT_LO[[ONE_TIME, OCCASIONAL]] = 0.1  # many first and occasional orders come in a sale
_DISCOUNT_HI[[ONE_TIME, OCCASIONAL]] = 0.5
_DISCOUNT_HI[LOYAL] = 0.12
_DISCOUNT_LO[HUNTER], _DISCOUNT_HI[HUNTER] = 0.8, 0.9
_DISCOUNT_LO[B2B_REGULAR], _DISCOUNT_HI[B2B_REGULAR] = 0.45, 0.95
_DISCOUNT_LO[B2B_SHRINKING], _DISCOUNT_HI[B2B_SHRINKING] = 0.1, 0.3
_DISCOUNT_HI[INNOVATOR] = 0.15  # new products rarely carry a promotion
_DISCOUNT_HI[BIG_CLIENT] = 0.0

# Add-on services (delivery, installation, ...): the probability that a person never, sometimes
# (15 % of orders) or mostly (85 %) uses their habitual one. Most shoppers never do; loyal
# advocates mostly do; companies that take deliveries and installation often do; regular-type
# customers and bargain hunters seldom.
_ADDON_HABIT = np.tile([0.7, 0.2, 0.1], (len(ARCHETYPES), 1))
_ADDON_HABIT[LOYAL] = (0.15, 0.2, 0.65)
_ADDON_HABIT[[B2B_SHRINKING, BIG_CLIENT]] = (0.3, 0.2, 0.5)
_ADDON_HABIT[[REGULAR, WON_BACK, DRIFTING, CHURNED, HUNTER, INNOVATOR, B2B_REGULAR]] = (
    0.8,
    0.15,
    0.05,
)

# --------------------------------------------------------------------------------------------
# output schemas (column names and order of regulars.domain.tables)

_TS = pa.timestamp("us")
_MONEY = pa.float64()
_S = pa.string()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in cols])


SCHEMAS: Mapping[str, pa.Schema] = {
    "customers": _schema(
        ("customer_id", _S),
        ("name", _S),
        ("email", _S),
        ("phone", _S),
        ("created_at", _TS),
        ("birthday", pa.date32()),
        ("manager", _S),
        ("consent_email", pa.bool_()),
        ("consent_sms", pa.bool_()),
        ("consent_messenger", pa.bool_()),
        ("consent_phone", pa.bool_()),
        ("do_not_contact", pa.bool_()),
        ("attributes", _S),
    ),
    "orders": _schema(
        ("order_id", _S),
        ("customer_id", _S),
        ("ordered_at", _TS),
        ("amount", _MONEY),
        ("currency", _S),
        ("discount_amount", _MONEY),
        ("cost", _MONEY),
        ("channel", _S),
        ("quantity", pa.int64()),
        ("categories", _S),
        ("new_products", pa.int64()),
        ("addons", _S),
    ),
    "returns": _schema(
        ("return_id", _S),
        ("order_id", _S),
        ("returned_at", _TS),
        ("amount", _MONEY),
        ("reason", _S),
    ),
    "invoices": _schema(
        ("invoice_id", _S),
        ("customer_id", _S),
        ("due_at", _TS),
        ("amount", _MONEY),
        ("order_id", _S),
        ("paid_at", _TS),
    ),
    "interactions": _schema(
        ("interaction_id", _S),
        ("customer_id", _S),
        ("at", _TS),
        ("channel", _S),
        ("direction", _S),
        ("kind", _S),
        ("responded_at", _TS),
        ("outcome", _S),
        ("manager", _S),
    ),
    "feedback": _schema(
        ("feedback_id", _S),
        ("customer_id", _S),
        ("at", _TS),
        ("nps", pa.int64()),
        ("csat", pa.int64()),
        ("complaint", pa.bool_()),
        ("text", _S),
    ),
    "referrals": _schema(
        ("referral_id", _S),
        ("referrer_id", _S),
        ("referee_id", _S),
        ("at", _TS),
        ("code", _S),
    ),
    "truth": _schema(
        ("customer_id", _S),
        ("archetype", _S),
        ("segment", _S),
        ("duplicate_of", _S),
        *((flag, pa.bool_()) for flag in TRUTH_FLAGS),
    ),
}
"""The arrow schema of every generated table, keyed by table name (``truth`` included)."""


# --------------------------------------------------------------------------------------------
# the specification


@dataclass(frozen=True)
class DemoSpec:
    """What to generate.

    Parameters
    ----------
    customers
        Persons in the business (prospects and the big client included). Duplicate cards come
        on top, so the customers table has slightly more rows.
    seed
        The random seed; the same spec always gives identical tables.
    start, end
        The first and last day of the order history; the truth is as of the end of ``end``.
        Churned and won-back customers need about two years between them.
    currency
        The ``currency`` of every order.
    chunk_customers
        Persons generated at a time (bounds memory; part of the business's identity).
    orders_per_customer
        Target average number of orders per person (prospects included; a real shop's few
        repeat buyers make it small). Below about 2 the archetypes' minimum order counts
        dominate and the average comes out higher.
    """

    customers: int = 2000
    seed: int = 42
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    currency: str = "EUR"
    chunk_customers: int = 50_000
    orders_per_customer: float = 3.5

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, got {self.customers}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        if (self.end - self.start).days < 60:
            raise ValueError(
                f"end ({self.end}) must be at least 60 days after start ({self.start})"
            )
        if self.chunk_customers < 100:
            raise ValueError(f"chunk_customers must be at least 100, got {self.chunk_customers}")
        if not self.orders_per_customer > 0:
            raise ValueError(
                f"orders_per_customer must be positive, got {self.orders_per_customer}"
            )
        if not self.currency.strip():
            raise ValueError("currency must not be empty")

    @property
    def chunks(self) -> int:
        """How many chunks :func:`iter_business` yields."""
        return max(1, math.ceil((self.customers - 1) / self.chunk_customers))


# --------------------------------------------------------------------------------------------
# small vectorised helpers


def _starts(counts: Arr) -> Arr:
    out = np.zeros(counts.size, dtype=np.int64)
    if counts.size > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def _seg_cumsum(values: Arr, counts: Arr) -> Arr:
    """Inclusive cumulative sum restarting at every segment."""
    if values.size == 0:
        return values.astype(np.float64)
    cs = np.cumsum(values)
    starts = _starts(counts)
    base = np.zeros(counts.size)
    has = counts > 0
    base[has] = cs[starts[has]] - values[starts[has]]
    return cs - np.repeat(base, counts)


def _seg_order(values: Arr, seg: Arr) -> Arr:
    """Indices sorting by segment, then by value (one float sort instead of a lexsort)."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    scaled = values / (2.0 * top) + 0.5 if top > 0 else np.zeros(values.size)
    return np.argsort(seg + np.minimum(scaled, 0.999999), kind="stable")


def _seg_median(values: Arr, seg: Arr, nseg: int) -> Arr:
    out = np.full(nseg, np.nan)
    if values.size == 0:
        return out
    counts = np.bincount(seg, minlength=nseg)
    v = values[_seg_order(values, seg)]
    starts = _starts(counts)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (v[lo] + v[hi])
    return out


def _seg_argmin(values: Arr, seg: Arr, nseg: int) -> Arr:
    """Index of each segment's smallest value (-1 for empty segments)."""
    out = np.full(nseg, -1, dtype=np.int64)
    if values.size == 0:
        return out
    order = _seg_order(values, seg)
    counts = np.bincount(seg, minlength=nseg)
    has = counts > 0
    out[has] = order[_starts(counts)[has]]
    return out


def _any_per(seg: Arr, mask: Arr, nseg: int) -> Arr:
    return np.bincount(seg[mask], minlength=nseg) > 0


def _share_per(seg: Arr, mask: Arr, counts: Arr) -> Arr:
    hits = np.bincount(seg[mask], minlength=counts.size)
    return np.divide(hits, counts, out=np.zeros(counts.size), where=counts > 0)


def _strings(values: Sequence[str], idx: Arr, null: Arr | None = None) -> pa.Array:
    return pa.array(values, _S).take(pa.array(idx, pa.int32(), mask=null))


def _null_where(arr: pa.Array, null: Arr) -> pa.Array:
    return pc.if_else(pa.array(null, pa.bool_()), pa.scalar(None, arr.type), arr)


def _digits(numbers: Arr, width: int) -> pa.Array:
    text = pc.cast(pa.array(numbers, pa.int64()), _S)
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _ids(prefix: str, numbers: Arr, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _digits(numbers, width), "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


class _Calendar:
    """Days since the start (floats) to timestamps, and the seasonal clock."""

    def __init__(self, start: date, end: date) -> None:
        self.days = (end - start).days + 1
        self.epoch_us = (start - date(1970, 1, 1)).days * 86_400 * 1_000_000
        day = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        self.month = day.astype("datetime64[M]").astype(np.int64) % 12
        self.grid = np.arange(self.days + 1, dtype=np.float64)
        self.cum = np.concatenate([[0.0], np.cumsum(_MONTH_ORDERS[self.month])])
        self.start = start
        self.end = end

    def seasonal(self, t: Arr) -> Arr:
        """Calendar days to 'seasonal days' (December counts 1.6, August 0.75)."""
        return np.asarray(np.interp(t, self.grid, self.cum))

    def calendar(self, u: Arr) -> Arr:
        return np.interp(u, self.cum, self.grid)

    def month_of(self, t: Arr) -> Arr:
        return self.month[np.clip(t.astype(np.int64), 0, self.days - 1)]

    def day_of(self, d: date) -> int:
        return (d - self.start).days

    @staticmethod
    def business_hours(t: Arr) -> Arr:
        """Squeeze each day into 08:00-21:00; monotone, so order is preserved."""
        day = np.floor(t)
        return day + (8.0 + 13.0 * (t - day)) / 24.0

    def timestamps(self, t: Arr, null: Arr | None = None) -> pa.Array:
        sec = np.rint(np.nan_to_num(t) * 86_400.0).astype(np.int64)
        return pa.array(self.epoch_us + sec * 1_000_000, _TS, mask=null)


@dataclass
class _State:
    """What carries over from one chunk to the next."""

    orders: int = 0
    returns: int = 0
    invoices: int = 0
    interactions: int = 0
    feedback: int = 0
    referrals: int = 0
    duplicates: int = 0
    trailing_revenue: float = 0.0


@dataclass(frozen=True)
class _Widths:
    customer: int
    order: int
    other: int


def _order_scale(orders_per_customer: float) -> float:
    """Extra-order multiplier so that the expected orders per person hit the target."""
    p = _SHARES
    base = float((p * _MIN_ORDERS[:_N_PERSON_ARCHETYPES]).sum())
    base += float(p[OCCASIONAL]) * _OCCASIONAL_THIRD
    weight = float((p * _WEIGHT[:_N_PERSON_ARCHETYPES]).sum())
    return max(0.0, (orders_per_customer - base) / weight)


# --------------------------------------------------------------------------------------------
# one chunk of persons


@dataclass
class _Interactions:
    person: list[Arr] = field(default_factory=list)
    at: list[Arr] = field(default_factory=list)
    channel: list[Arr] = field(default_factory=list)
    direction: list[Arr] = field(default_factory=list)
    kind: list[Arr] = field(default_factory=list)
    responded: list[Arr] = field(default_factory=list)
    outcome: list[Arr] = field(default_factory=list)
    manager: list[Arr] = field(default_factory=list)

    def add(
        self,
        person: Arr,
        at: Arr,
        channel: Arr | int,
        direction: int,
        kind: int,
        responded: Arr | None = None,
        outcome: Arr | int = -1,
        manager: Arr | int = -1,
    ) -> None:
        m = person.size
        self.person.append(person.astype(np.int64))
        self.at.append(at)
        self.channel.append(np.broadcast_to(channel, m).astype(np.int64))
        self.direction.append(np.full(m, direction, dtype=np.int64))
        self.kind.append(np.full(m, kind, dtype=np.int64))
        self.responded.append(np.full(m, np.nan) if responded is None else responded)
        self.outcome.append(np.broadcast_to(outcome, m).astype(np.int64))
        self.manager.append(np.broadcast_to(manager, m).astype(np.int64))


class _Chunk:
    """Generates the tables of one chunk of persons (and, in the last chunk, the big client)."""

    def __init__(
        self,
        spec: DemoSpec,
        cal: _Calendar,
        widths: _Widths,
        state: _State,
        first_person: int,
        n_regular: int,
        with_big: bool,
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.cal = cal
        self.widths = widths
        self.state = state
        self.first_person = first_person
        self.n_regular = n_regular
        self.with_big = with_big
        self.rng = rng
        self.d = float(cal.days)

    # ---- persons and their orders ------------------------------------------------------------

    def build(self) -> dict[str, pa.Table]:
        self._persons()
        self._place_orders()
        self._amounts()
        self._order_details()
        self._returns()
        self._invoices()
        self._duplicates()
        self._interactions()
        self._feedback()
        self._referrals()
        truth = self._truth()
        tables = {
            "customers": self._customers_table(),
            "orders": self._orders_table(),
            "returns": self._returns_table(),
            "invoices": self._invoices_table(),
            "interactions": self._interactions_table(),
            "feedback": self._feedback_table(),
            "referrals": self._referrals_table(),
            "truth": truth,
        }
        self._advance_state()
        return tables

    def _persons(self) -> None:
        rng = self.rng
        arch = rng.choice(_N_PERSON_ARCHETYPES, size=self.n_regular, p=_SHARES).astype(np.int64)
        if self.first_person == 0 and self.n_regular >= _N_PERSON_ARCHETYPES:
            # every archetype is present in every business big enough to hold them all
            arch[:_N_PERSON_ARCHETYPES] = np.arange(_N_PERSON_ARCHETYPES)
            arch = rng.permutation(arch)
        if self.with_big:
            arch = np.append(arch, BIG_CLIENT)
        p = arch.size
        self.arch = arch
        self.p = p
        self.b2b = np.isin(arch, _B2B)
        extra = rng.gamma(2.0, 0.5, p)
        scale = _order_scale(self.spec.orders_per_customer)
        n = _MIN_ORDERS[arch] + np.rint(scale * _WEIGHT[arch] * extra).astype(np.int64)
        n = np.where(arch == OCCASIONAL, 2 + (rng.random(p) < _OCCASIONAL_THIRD), n)
        cap = max(8, self.cal.days // 6)  # keeps the typical gap at six days or more
        n = np.minimum(n, np.maximum(_MIN_ORDERS[arch], cap))
        n = np.where(arch == BIG_CLIENT, max(2, self.cal.days // 7), n)
        self.n = n.astype(np.int64)
        self.ostart = _starts(self.n)
        self.pid = np.repeat(np.arange(p), self.n)
        self.k = np.arange(self.pid.size) - self.ostart[self.pid]
        self.last = self.ostart + self.n - 1  # valid where n > 0
        self.has = self.n > 0

    def _place_orders(self) -> None:
        """Order times in days since the start: rhythm, pattern, recency, season."""
        rng, cal, d = self.rng, self.cal, self.d
        arch, n, pid, k, p = self.arch, self.n, self.pid, self.k, self.p

        single = cal.calendar(rng.random(p) * cal.cum[-1])
        near = np.abs((d - single) - _P.lost_max_days) < 10.0  # keep clear of the lost rule
        single = np.where(near, np.maximum(single - 20.0, 0.0), single)

        churned, won = arch == CHURNED, arch == WON_BACK
        pause = np.where(won, np.minimum(rng.uniform(400.0, 500.0, p), 0.45 * d), 0.0)
        r_abs = rng.uniform(380.0, max(381.0, 0.55 * d), p)
        r_abs = np.where(churned, np.minimum(r_abs, 0.6 * d), 0.0)
        horizon = d - pause - r_abs
        t0 = horizon * rng.uniform(_T0_LO[arch], _T0_HI[arch])
        rho = rng.uniform(_RHO_LO[arch], _RHO_HI[arch])
        band = rng.integers(0, 3, p)
        occasional_rho = np.choose(
            band,
            [rng.uniform(0.2, 1.0, p), rng.uniform(1.8, 2.6, p), rng.uniform(3.6, 5.0, p)],
        )
        rho = np.where(arch == OCCASIONAL, occasional_rho, rho)
        relative = ~churned

        # gaps in "rhythm units": gamma noise, geometric widening for drifting and churned
        gcount = np.maximum(n - 1, 0)
        gp = np.repeat(np.arange(p), gcount)
        gj = np.arange(gp.size) - _starts(gcount)[gp]
        shape = _GAP_SHAPE[arch][gp]
        gaps = 0.05 + rng.gamma(shape, 1.0 / shape)
        steps = _WIDEN_STEPS[arch]
        ratio = rng.uniform(_WIDEN_LO[arch], _WIDEN_HI[arch])
        expo = np.maximum(0, gj - (gcount[gp] - steps[gp]) + 1)
        gaps = gaps * ratio[gp] ** expo

        # scale so the first order is at t0 and the recency is rho median gaps (or r_abs)
        med = _seg_median(gaps, gp, p)
        total = np.bincount(gp, weights=gaps, minlength=p)
        multi = n >= 2
        denom = total + np.where(relative, rho * np.nan_to_num(med), 0.0)
        c = np.where(multi, (horizon - t0) / np.where(multi, denom, 1.0), 0.0)
        widest = np.zeros(p)
        if gaps.size:
            np.maximum.at(widest, gp, gaps)
        # the churned stopped after gaps that were all shorter than a year
        c = np.where(churned & multi, np.minimum(c, _R_CAP / np.maximum(widest, 1e-9)), c)
        later = k >= 1
        gstart = _starts(gcount)
        gi = gstart[pid[later]] + k[later] - 1  # gap index of each later order
        cum = _seg_cumsum(gaps, gcount)
        t = np.where(n[pid] == 1, single[pid], t0[pid])
        t[later] = t0[pid[later]] + c[pid[later]] * cum[gi]
        t_last = t[self.last[self.has]]
        tl = np.zeros(p)
        tl[self.has] = t_last

        # seasonal timing of the orders between the first and the last
        warp = _WARP[arch][pid] & later & (k < n[pid] - 1)
        if warp.any():
            wp = pid[warp]
            a, b = cal.seasonal(t0[wp]), cal.seasonal(tl[wp])
            f = (t[warp] - t0[wp]) / (tl[wp] - t0[wp])
            t[warp] = cal.calendar(a + f * (b - a))

        # exact recency in realised median gaps, compressing when it would exceed the caps
        later_idx = np.flatnonzero(later)
        g = t[later_idx] - t[later_idx - 1]
        med = _seg_median(g, gp, p)
        rt = rho * np.nan_to_num(med, nan=1.0)
        span = tl - t0
        widest = np.zeros(p)
        if g.size:
            np.maximum.at(widest, gp, g)
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = np.minimum(1.0, np.minimum(_R_CAP / rt, 0.98 * horizon / (rt + span)))
            # no gap longer than the lost rule, except the won-back pause added below
            c2 = np.minimum(c2, np.where(widest > 0, _R_CAP / widest, 1.0))
        adjust = (relative & multi)[pid]
        ap = pid[adjust]
        t[adjust] = horizon[ap] - c2[ap] * rt[ap] - c2[ap] * (tl[ap] - t[adjust])

        # nobody but the widening archetypes ends on an unusually long gap
        g = t[later_idx] - t[later_idx - 1]
        med = _seg_median(g, gp, p)
        last_gap = _starts(gcount) + gcount - 1
        smallest = _seg_argmin(g, gp, p)
        fix = (steps == 0) & (gcount >= 3)
        fix[fix] = g[last_gap[fix]] > 1.4 * med[fix]
        if fix.any():
            lg, sg = last_gap[fix], smallest[fix]
            g[lg], g[sg] = g[sg].copy(), g[lg].copy()
            t[later_idx] = t[self.ostart[pid[later_idx]]] + _seg_cumsum(g, gcount)

        # the won-back pause: every order from the comeback on moves later; the comeback is
        # the first order (from the third on) in the last 300 days before the pause ends, so
        # that it falls within the won-back window (won_back_within_days, 365) of the end
        n1 = np.maximum(n - 1, 2)
        late = won[pid] & (k >= 2) & (t > (horizon - (_P.won_back_within_days - 65.0))[pid])
        np.minimum.at(n1, pid[late], k[late])
        t = t + np.where(won[pid] & (k >= n1[pid]), pause[pid], 0.0)

        t = self._clear_of_the_base_rhythm(np.clip(t, 0.0, d - 1e-6))
        self.t = cal.business_hours(np.clip(t, 0.0, d - 1e-6))
        self.first_t = np.zeros(p)
        self.first_t[self.has] = self.t[self.ostart[self.has]]
        self.last_t = np.zeros(p)
        self.last_t[self.has] = self.t[self.last[self.has]]

    def _clear_of_the_base_rhythm(self, t: Arr) -> Arr:
        """Keep customers with one or two orders clear of the status thresholds.

        Their typical gap is the base's median gap, which the truth computes over this chunk's
        gaps and the map over the whole business; the two differ by a few per cent when a
        business comes in several chunks. A person whose time since the last order (or whose one
        gap, ended within the won-back window) lies within ``_BASE_MARGIN`` of a threshold
        (lapsing, lost) moves back, whole or the first order alone, past it.
        """
        pid, k, n, d = self.pid, self.k, self.n, self.d
        later = np.flatnonzero(k >= 1)
        if later.size == 0:
            return t
        base = float(np.median(t[later] - t[later - 1]))
        few = self.has & (n <= 2)
        last = np.zeros(self.p)
        last[self.has] = t[self.last[self.has]]
        shift = np.zeros(self.p)
        for factor in (_P.lapsing_gap_factor, _P.lost_gap_factor):
            edge = factor * base
            near = few & (np.abs(d - last - shift - edge) < _BASE_MARGIN * edge)
            shift = np.where(near, (1.0 + 2.0 * _BASE_MARGIN) * edge - (d - last), shift)
        t = t - shift[pid]
        # a two-order person's one gap, when it ends within the won-back window
        first = np.zeros(self.p)
        first[self.has] = t[self.ostart[self.has]]
        last = last - shift
        edge = min(_P.lost_gap_factor * base, float(_P.lost_max_days))
        gap = last - first
        near = (
            self.has
            & (n == 2)
            & (last > d - _P.won_back_within_days)
            & (np.abs(gap - edge) < _BASE_MARGIN * edge)
        )
        widen = np.where(near, (1.0 + 2.0 * _BASE_MARGIN) * edge - gap, 0.0)
        return np.where(k == 0, t - widen[pid], t)

    def _amounts(self) -> None:
        """Net order amounts with the shrinking tail, cleaned of accidental signals."""
        rng, arch, pid, k, n, p = self.rng, self.arch, self.pid, self.k, self.n, self.p
        b2b = self.b2b
        base_mean = np.where(b2b, 450.0, 45.0)
        base_mean = np.where(arch == LOYAL, 110.0, base_mean)
        base_mean = np.where(arch == HUNTER, 35.0, base_mean)
        base_mean = np.where(arch == BIG_CLIENT, 5000.0, base_mean)
        base = base_mean * rng.lognormal(0.0, np.where(arch == BIG_CLIENT, 0.1, 0.6), p)
        sigma = np.where(b2b, 0.15, 0.3)
        sigma = np.where(arch == BIG_CLIENT, 0.08, sigma)
        amount = base[pid] * rng.lognormal(0.0, sigma[pid])
        seasonal = ~b2b[pid]
        amount[seasonal] *= _MONTH_AMOUNT[self.cal.month_of(self.t[seasonal])]

        # b2b_shrinking: each of the last 3-4 orders 15-30 % smaller than the one before
        shrinking = arch == B2B_SHRINKING
        tail = np.where(shrinking, 3 + (rng.random(p) < 0.5), 0)
        in_tail = shrinking[pid] & (k >= n[pid] - tail[pid])
        logf = np.where(in_tail, np.log(rng.uniform(0.70, 0.85, pid.size)), 0.0)
        anchor = self.ostart + n - tail - 1
        amount[in_tail] = amount[anchor[pid[in_tail]]] * np.exp(_seg_cumsum(logf, n)[in_tail])

        # everyone else: the last three neither fall steadily nor sink below 75 % of before
        # (the rule's shrinking_orders_ratio, 0.7, with a margin)
        others = ~shrinking & (n >= 4)
        recent = k >= n[pid] - 3
        sum_recent = np.bincount(pid[recent], weights=amount[recent], minlength=p)
        sum_before = np.bincount(pid[~recent], weights=amount[~recent], minlength=p)
        avg_recent = sum_recent / 3.0
        avg_before = sum_before / np.maximum(n - 3, 1)
        low = others & (avg_recent < (_P.shrinking_orders_ratio + 0.05) * avg_before)
        lift = np.where(low, 0.8 * avg_before / np.where(low, avg_recent, 1.0), 1.0)
        amount = amount * np.where(recent, lift[pid], 1.0)
        three = ~shrinking & (n >= 3)
        i1, i2, i3 = self.last - 2, self.last - 1, self.last
        idx = np.flatnonzero(three)
        falling = (amount[i1[idx]] > amount[i2[idx]]) & (amount[i2[idx]] > amount[i3[idx]])
        sw = idx[falling]
        amount[i2[sw]], amount[i3[sw]] = amount[i3[sw]].copy(), amount[i2[sw]].copy()

        # the big client makes _BIG_CLIENT_SHARE of the trailing-year revenue
        if self.with_big:
            big = pid == p - 1
            window = self.t > self.d - _P.concentration_window_days
            others_rev = self.state.trailing_revenue + float(
                np.round(amount[window & ~big], 2).sum()
            )
            own = float(amount[window & big].sum())
            if others_rev > 0 and own > 0:
                target = others_rev * _BIG_CLIENT_SHARE / (1.0 - _BIG_CLIENT_SHARE)
                amount[big] *= target / own
        self.amount = np.maximum(np.round(amount, 2), 0.01)
        window = self.t > self.d - _P.concentration_window_days
        if self.with_big:
            window &= pid != p - 1
        self.chunk_trailing = float(self.amount[window].sum())

    def _order_details(self) -> None:
        rng, arch, pid, k, n, p = self.rng, self.arch, self.pid, self.k, self.n, self.p
        m = pid.size
        b2b = self.b2b
        # discounts: each person takes a promotion in a share of their orders of their own
        p_disc = rng.uniform(_DISCOUNT_LO[arch], _DISCOUNT_HI[arch])
        disc = rng.random(m) < p_disc[pid]
        disc |= (arch[pid] == HUNTER) & (k % 2 == 0)
        depth = np.where(arch == HUNTER, rng.uniform(0.15, 0.35, p), rng.uniform(0.05, 0.2, p))
        self.discount = np.where(
            disc, np.round(self.amount * depth[pid] / (1.0 - depth[pid]), 2), 0.0
        )
        gross = self.amount + self.discount
        cost_ratio = rng.uniform(0.5, 0.7, p)[pid] * rng.lognormal(0.0, 0.05, m)
        self.cost = np.round(gross * cost_ratio, 2)
        unit = np.where(b2b, 15.0, 20.0) * rng.lognormal(0.0, 0.5, p)
        if self.with_big:
            unit[p - 1] *= gross[pid == p - 1].mean() / 500.0
        qty = np.rint(gross / unit[pid] * rng.lognormal(0.0, 0.2, m))
        self.quantity = np.maximum(qty, 1).astype(np.int64)

        # channel
        pref = np.where(b2b, rng.choice([2, 3, 0], p=[0.4, 0.4, 0.2], size=p), 0)
        pref = np.where(b2b, pref, rng.choice([0, 1, 2], p=[0.55, 0.4, 0.05], size=p))
        other = rng.integers(0, 3, m)
        self.channel = np.where(rng.random(m) < 0.85, pref[pid], other)

        # categories: a repertoire of `breadth` neighbouring categories per person
        breadth = rng.choice([1, 2, 3, 4, 5, 6], p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1], size=p)
        breadth = np.where(b2b, rng.integers(1, 4, p), breadth)
        offset = np.where(b2b, len(_CATEGORIES) - 1, rng.integers(0, len(_CATEGORIES), p))
        c1 = (offset[pid] + rng.integers(0, breadth[pid])) % len(_CATEGORIES)
        c2 = (offset[pid] + rng.integers(0, breadth[pid])) % len(_CATEGORIES)
        c2 = np.where(rng.random(m) < 0.3, c2, c1)
        self.cat_code = np.minimum(c1, c2) * len(_CATEGORIES) + np.maximum(c1, c2)
        self.cat_mask = (1 << c1) | (1 << c2)

        # new products
        p_new = np.where(arch == INNOVATOR, 0.6, 0.03)
        p_new = np.where(arch == BIG_CLIENT, 0.0, p_new)
        has_new = rng.random(m) < p_new[pid]
        self.new_products = np.where(has_new, 1 + rng.poisson(0.4, m), 0).astype(np.int64)

        # add-on services: a habitual one per person, used never, sometimes or mostly
        habit = np.where(b2b, 0, rng.integers(0, len(_ADDONS), p))
        u = rng.random(p)
        level = (u[:, None] > np.cumsum(_ADDON_HABIT[arch], axis=1)[:, :2]).sum(axis=1)
        p_use = np.array([0.0, 0.15, 0.85])[level]
        dropper = arch == ADDON_DROPPER
        p_use = np.where(dropper, 0.95, p_use)
        used = rng.random(m) < p_use[pid]
        drop_tail = np.maximum(3, n // 4)
        tail = k >= n[pid] - drop_tail[pid]
        used = np.where(dropper[pid], ~tail & (used | (k == 0)), used)
        # anyone else who used it in half their earlier orders kept using it to the end
        before_last = k <= n[pid] - 2
        before_three = k <= n[pid] - 4
        share_a = _share_per(pid, used & before_last, np.maximum(n - 1, 0))
        share_b = _share_per(pid, used & before_three, np.maximum(n - 3, 0))
        usual = _P.addon_min_usage_share
        keep = ~dropper & (n >= 2) & ((share_a >= usual) | (share_b >= usual))
        used = used | (keep[pid] & (k >= n[pid] - 2))
        self.addon = np.where(used, habit[pid], -1)

    def _returns(self) -> None:
        rng, pid, m = self.rng, self.pid, self.pid.size
        p_ret = np.where(self.arch == PROBLEM, 0.25, 0.02)
        p_ret = np.where(self.b2b, 0.0, p_ret)
        ret = rng.random(m) < p_ret[pid]
        at = self.t + rng.uniform(1.0, 30.0, m)
        ret &= at < self.d - 0.01
        idx = np.flatnonzero(ret)
        full = rng.random(idx.size) < 0.6
        frac = np.where(full, 1.0, rng.uniform(0.2, 0.9, idx.size))
        self.ret_order = idx
        self.ret_at = self.cal.business_hours(at[idx])
        self.ret_amount = np.minimum(
            np.floor(self.amount[idx] * frac * 100.0) / 100.0, self.amount[idx]
        )
        self.ret_amount = np.maximum(self.ret_amount, 0.01)
        self.ret_reason = rng.integers(0, len(_RETURN_REASONS), idx.size)

    def _invoices(self) -> None:
        """One invoice per b2b order; delays grow for b2b_shrinking, never for the others."""
        rng, arch, p = self.rng, self.arch, self.p
        idx = np.flatnonzero(self.b2b[self.pid])
        ip = self.pid[idx]
        term = np.where(rng.random(p) < 0.5, 14.0, 30.0)
        term = np.where(arch == BIG_CLIENT, 30.0, term)
        due = self.t[idx] + term[ip]
        is_due = due < self.d
        counts = np.bincount(ip, minlength=p)
        pos = np.arange(idx.size) - _starts(counts)[ip]
        q = np.bincount(ip[is_due], minlength=p)  # invoices due by the end, per person
        usual = rng.integers(-5, 1, p)
        delay = (usual[ip] - rng.integers(0, 3, idx.size)).astype(np.float64)
        # others: the last three due delays never strictly increase
        normal = ~(arch == B2B_SHRINKING) & (q >= 3)
        first = _starts(counts)
        j1, j2, j3 = first + q - 3, first + q - 2, first + q - 1
        who = np.flatnonzero(normal)
        rising = (delay[j1[who]] < delay[j2[who]]) & (delay[j2[who]] < delay[j3[who]])
        delay[j3[who[rising]]] = delay[j1[who[rising]]]
        # b2b_shrinking: the last four due invoices paid later and later, half now overdue
        shrinking = arch[ip] == B2B_SHRINKING
        back = q[ip] - 1 - pos  # 0 for the last invoice due
        lows = np.array([26.0, 15.0, 7.0, 1.0])
        highs = np.array([35.0, 20.0, 11.0, 4.0])
        slow = shrinking & (back >= 0) & (back < 4)
        b = back[slow]
        delay[slow] = rng.uniform(lows[b], highs[b])
        delay[slow] = np.round(delay[slow])
        paid = due + delay
        unpaid_now = (arch == B2B_SHRINKING) & (rng.random(p) < 0.5)
        unpaid = (paid >= self.d) | ~is_due  # nobody pays ahead of an invoice due after the end
        unpaid |= shrinking & (back == 0) & unpaid_now[ip]
        self.inv_order = idx
        self.inv_due = due
        self.inv_paid = np.where(unpaid, np.nan, paid)

    def _duplicates(self) -> None:
        """A few regular-type persons get a second card holding one or two early orders."""
        rng, p = self.rng, self.p
        eligible = np.isin(self.arch, _DUP_ELIGIBLE) & (self.n >= 6)
        dup = eligible & (rng.random(p) < 0.02)
        if self.first_person == 0 and not dup.any() and eligible.any():
            dup[np.flatnonzero(eligible)[0]] = True
        self.dup_person = np.flatnonzero(dup)
        self.dup_by_email = rng.random(self.dup_person.size) < 0.5
        self.dup_variant = rng.integers(0, 2, self.dup_person.size)
        two = rng.random(p) < 0.5
        moved = dup[self.pid] & ((self.k == 1) | ((self.k == 2) & two[self.pid]))
        # card of every order: -1 is the person's own card, else the duplicate's index
        dup_index = np.full(p, -1, dtype=np.int64)
        dup_index[self.dup_person] = np.arange(self.dup_person.size)
        self.order_card = np.where(moved, dup_index[self.pid], -1)
        self.dup_first = self.t[self.ostart[self.dup_person] + 1]

    # ---- contacts ----------------------------------------------------------------------------

    def _contacts(self) -> None:
        rng, arch, p, b2b = self.rng, self.arch, self.p, self.b2b
        # known from a whole number of days before the first order, at the same time of day
        lead = np.minimum(rng.integers(0, 31, p), np.floor(self.first_t))
        prospect_day = self.cal.business_hours(rng.uniform(0.0, self.d - 1.0, p))
        self.created = np.where(self.has, self.first_t - lead, prospect_day)
        dnc = (rng.random(p) < 0.03) & ~b2b & (arch != LOYAL)
        self.consent_email = ((rng.random(p) < 0.8) | b2b | (arch == PROSPECT)) & ~dnc
        self.consent_sms = (rng.random(p) < 0.5) & ~dnc
        self.consent_messenger = (rng.random(p) < 0.3) & ~dnc
        self.consent_phone = ((rng.random(p) < 0.4) | b2b) & ~dnc
        self.dnc = dnc
        manager = rng.integers(0, len(_MANAGERS), p)
        has_manager = b2b | ((arch == LOYAL) & (rng.random(p) < 0.4)) | (rng.random(p) < 0.05)
        self.manager = np.where(has_manager, manager, -1)

    def _interactions(self) -> None:
        self._contacts()
        box = _Interactions()
        marketing = ~self.dnc & (self.consent_email | self.consent_sms | self.consent_messenger)
        channel = np.where(
            self.consent_email,
            _CHANNEL["email"],
            np.where(self.consent_sms, _CHANNEL["sms"], _CHANNEL["messenger"]),
        )
        self._offers(box, marketing, channel)
        self._touches(box, marketing, channel)
        self._inbound(box)

        cal, d = self.cal, self.d
        person = np.concatenate(box.person)
        at_all = np.concatenate(box.at)
        order = np.argsort(person * (d + 10.0) + at_all, kind="stable")
        self.ia_person = person[order]
        self.ia_at = cal.business_hours(at_all[order])
        resp_all = np.concatenate(box.responded)[order]
        self.ia_resp = np.where(
            np.isnan(resp_all), np.nan, cal.business_hours(np.nan_to_num(resp_all))
        )
        self.ia_resp = np.where(self.ia_resp < self.ia_at, self.ia_at, self.ia_resp)
        self.ia_channel = np.concatenate(box.channel)[order]
        self.ia_direction = np.concatenate(box.direction)[order]
        self.ia_kind = np.concatenate(box.kind)[order]
        self.ia_outcome = np.concatenate(box.outcome)[order]
        self.ia_manager = np.concatenate(box.manager)[order]

    def _offers(self, box: _Interactions, marketing: Arr, channel: Arr) -> None:
        """Offers every 2-4 months; the unresponsive never answer, the others answer the last."""
        rng, p, d = self.rng, self.p, self.d
        s0 = self.created + rng.uniform(5.0, 40.0, p)
        step = rng.uniform(60.0, 120.0, p)
        count = np.where(marketing & (s0 < d - 20.0), np.floor((d - 20.0 - s0) / step) + 1, 0)
        count = count.astype(np.int64)
        op = np.repeat(np.arange(p), count)
        oj = np.arange(op.size) - _starts(count)[op]
        at = s0[op] + oj * step[op] + rng.uniform(0.0, 5.0, op.size)
        self.unresponsive = (rng.random(p) < _UNRESPONSIVE_P[self.arch]) & (count >= 3)
        p_resp = rng.uniform(0.2, 0.7, p)
        answered = (rng.random(op.size) < p_resp[op]) | (oj == count[op] - 1)
        answered &= ~self.unresponsive[op]
        responded = np.where(answered, at + rng.uniform(0.05, 9.0, op.size), np.nan)
        accepted = rng.random(op.size) < 0.6
        outcome = np.where(
            answered, np.where(accepted, _OUTCOME["accepted"], _OUTCOME["declined"]), -1
        )
        box.add(op, at, channel[op], _OUT, _KIND["offer"], responded, outcome)

    def _touches(self, box: _Interactions, marketing: Arr, channel: Arr) -> None:
        """Greetings, reminders, the manager's calls and event invitations."""
        rng, arch, p, d, cal = self.rng, self.arch, self.p, self.d, self.cal
        years = range(self.spec.start.year, self.spec.end.year + 1)
        # season's greetings to customers, every year on 20 December
        for year in years:
            day = cal.day_of(date(year, 12, 20))
            if 0 <= day < d:
                who = np.flatnonzero(marketing & self.has & (self.created < day))
                box.add(who, np.full(who.size, float(day)), channel[who], _OUT, _KIND["greeting"])

        # reminders to the drifting (some click) and the churned (nobody does)
        last_t = self.last_t
        for share, who_mask in (
            (0.5, (arch == DRIFTING) | (arch == CHURNED)),
            (0.8, arch == CHURNED),
        ):
            who = np.flatnonzero(who_mask & marketing & self.has)
            at = last_t[who] + share * (d - last_t[who])
            click = (arch[who] == DRIFTING) & (rng.random(who.size) < 0.3)
            resp = np.where(
                click, np.minimum(at + rng.uniform(0.1, 5.0, who.size), d - 0.01), np.nan
            )
            outcome = np.where(click, _OUTCOME["clicked"], -1)
            box.add(who, at, channel[who], _OUT, _KIND["reminder"], resp, outcome)

        # quarterly calls from the manager to companies
        first_t = np.where(self.has, self.first_t, d)
        calls = np.where(
            self.b2b & (first_t + 40.0 < d), np.floor((d - first_t - 40.0) / 91.0) + 1, 0
        ).astype(np.int64)
        cp = np.repeat(np.arange(p), calls)
        cj = np.arange(cp.size) - _starts(calls)[cp]
        at = first_t[cp] + 30.0 + 91.0 * cj + rng.uniform(0.0, 10.0, cp.size)
        talked = rng.random(cp.size) < 0.8
        resp = np.where(talked, at + 0.01, np.nan)
        outcome = np.where(talked, _OUTCOME["talked"], _OUTCOME["no_answer"])
        box.add(cp, at, _CHANNEL["phone"], _OUT, _KIND["call"], resp, outcome, self.manager[cp])

        # yearly event invitations to advocates and companies
        for year in years:
            day = cal.day_of(date(year, 10, 10))
            if 0 <= day < d:
                invited = np.isin(arch, (LOYAL, *_B2B)) & ~self.dnc & (self.created < day)
                who = np.flatnonzero(invited & (rng.random(p) < 0.6))
                replied = rng.random(who.size) < 0.7
                resp = np.where(replied, day + rng.uniform(1.0, 5.0, who.size), np.nan)
                attends = rng.random(who.size) < 0.6
                outcome = np.where(
                    replied, np.where(attends, _OUTCOME["attended"], _OUTCOME["declined"]), -1
                )
                at = np.full(who.size, float(day))
                resp = np.minimum(resp, d - 0.01)
                box.add(
                    who, at, _CHANNEL["email"], _OUT, _KIND["event"], resp, outcome,
                    self.manager[who],
                )  # fmt: skip

    def _inbound(self, box: _Interactions) -> None:
        """Complaints (the problem customers: one in the last 90 days) and support questions."""
        rng, arch, d = self.rng, self.arch, self.d
        first_t = np.where(self.has, self.first_t, d)
        problem = np.flatnonzero((arch == PROBLEM) & self.has)
        recent = np.maximum(d - rng.uniform(3.0, 80.0, problem.size), first_t[problem] + 0.5)
        extra = rng.random(self.pid.size) < np.where(arch[self.pid] == PROBLEM, 0.15, 0.004)
        eo = np.flatnonzero(extra)
        who = np.concatenate([problem, self.pid[eo]])
        at = np.concatenate([recent, self.t[eo] + rng.uniform(1.0, 10.0, eo.size)])
        ok = at < d - 0.01
        who, at = who[ok], at[ok]
        handled = at + rng.uniform(0.05, 3.0, at.size)
        resp = np.where(handled < d, handled, np.nan)
        settled = rng.choice([_OUTCOME[o] for o in ("resolved", "refund", "replacement")], at.size)
        outcome = np.where(handled < d, settled, _OUTCOME["open"])
        channel = rng.choice([_CHANNEL["phone"], _CHANNEL["email"]], size=at.size)
        box.add(who, at, channel, _IN, _KIND["complaint"], resp, outcome, self.manager[who])

        # support questions after some orders
        so = np.flatnonzero(rng.random(self.pid.size) < 0.03)
        at = self.t[so] + rng.uniform(0.5, 10.0, so.size)
        ok = at < d - 0.01
        so, at = so[ok], at[ok]
        answered_at = at + rng.uniform(0.02, 2.0, so.size)
        resp = np.where(answered_at < d, answered_at, np.nan)
        outcome = np.where(answered_at < d, _OUTCOME["answered"], _OUTCOME["open"])
        channel = rng.choice([_CHANNEL[c] for c in ("email", "phone", "messenger")], size=so.size)
        box.add(self.pid[so], at, channel, _IN, _KIND["support"], resp, outcome)

    def _feedback(self) -> None:
        rng, arch, n, p, d = self.rng, self.arch, self.n, self.p, self.d
        answers = (self.has & (rng.random(p) < _ANSWER_P[arch])).astype(np.int64)
        answers = np.minimum(n, answers * (1 + rng.binomial(2, 0.4, p)))
        fp = np.repeat(np.arange(p), answers)
        fj = np.arange(fp.size) - _starts(answers)[fp]
        order_k = np.floor((fj + rng.random(fp.size)) * n[fp] / answers[fp]).astype(np.int64)
        at = self.t[self.ostart[fp] + order_k] + rng.uniform(0.5, 5.0, fp.size)
        # answers in the order they were given, all before the end
        key = np.maximum.accumulate(fp * (d + 10.0) + at) - fp * (d + 10.0) + fj * 1e-3
        at = np.minimum(key, d - 0.01 - (answers[fp] - 1 - fj) * 1e-3)
        is_last = fj == answers[fp] - 1
        dist = _NPS_BY_ARCHETYPE[arch[fp], is_last.astype(np.int64)]
        nps = (rng.random(fp.size)[:, None] > _NPS_CDF[dist][:, :10]).sum(axis=1)
        csat = np.clip(1 + np.rint(nps * 0.4 + rng.normal(0.0, 0.5, fp.size)), 1, 5)
        complaint = ((arch[fp] == PROBLEM) & is_last) | ((nps <= 3) & (rng.random(fp.size) < 0.3))
        text = np.where(
            nps >= _P.promoter_min_nps,
            rng.integers(0, 2, fp.size),
            np.where(
                nps >= _P.passive_min_nps,
                2 + rng.integers(0, 2, fp.size),
                4 + rng.integers(0, 3, fp.size),
            ),
        )
        self.fb_person = fp
        self.fb_at = self.cal.business_hours(at)
        self.fb_nps = nps.astype(np.int64)
        self.fb_csat = csat.astype(np.int64)
        self.fb_csat_null = rng.random(fp.size) < 0.2
        self.fb_complaint = complaint
        self.fb_text = np.where(rng.random(fp.size) < 0.4, text, -1)

    def _referrals(self) -> None:
        """Advocates (and a few regulars) bring customers whose first order comes later."""
        rng, arch, p = self.rng, self.arch, self.p
        first_t = np.full(p, np.inf)
        first_t[self.has] = self.t[self.ostart[self.has]]
        slots = np.where(arch == LOYAL, rng.integers(1, 4, p), 0)
        slots = np.where((arch == REGULAR) & (rng.random(p) < 0.03), 1, slots)
        slots = np.where(self.has, slots, 0)
        rp = np.repeat(np.arange(p), slots)
        candidate = self.has & (arch != BIG_CLIENT)
        cands = np.flatnonzero(candidate)
        cands = cands[np.argsort(first_t[cands], kind="stable")]
        cfirst = first_t[cands]
        lo = np.searchsorted(cfirst, first_t[rp] + 14.0, side="right")
        ok = lo < cands.size
        rp, lo = rp[ok], lo[ok]
        pick = lo + np.floor(rng.random(rp.size) * (cands.size - lo)).astype(np.int64)
        referee = cands[pick]
        _, keep = np.unique(referee, return_index=True)  # one referrer per referee
        keep = np.sort(keep)
        rp, referee = rp[keep], referee[keep]
        at = first_t[referee] - rng.uniform(1.0, 20.0, rp.size)
        at = np.maximum(at, (first_t[rp] + first_t[referee]) / 2.0)
        order = np.lexsort((at, rp))
        self.ref_from = rp[order]
        self.ref_to = referee[order]
        self.ref_at = self.cal.business_hours(at[order])

    # ---- truth -------------------------------------------------------------------------------

    def _truth(self) -> pa.Table:
        arch, pid, k, n, p, d, t = self.arch, self.pid, self.k, self.n, self.p, self.d, self.t
        later = np.flatnonzero(k >= 1)
        gap = t[later] - t[later - 1]
        gp = pid[later]
        med = _seg_median(gap, gp, p)
        last_t = np.zeros(p)
        last_t[self.has] = t[self.last[self.has]]
        recency = d - last_t
        # DOMAIN §4 with MapParams' defaults: the own median gap from two gaps on, else the
        # base's median over every gap of every customer
        own = n >= _P.min_gaps_for_own_rhythm + 1
        base_med = float(np.median(gap)) if gap.size else np.nan
        typical = np.where(own, med, base_med)
        comeback = np.zeros(p)  # the longest gap ended within the won-back window
        recent = t[later] > d - _P.won_back_within_days
        if recent.any():
            np.maximum.at(comeback, gp[recent], gap[recent])
        lost_after = np.minimum(_P.lost_gap_factor * typical, _P.lost_max_days)
        with np.errstate(invalid="ignore"):
            lost = self.has & (
                (recency > _P.lost_max_days) | (recency > _P.lost_gap_factor * typical)
            )
            lapsing = self.has & ~lost & (recency > _P.lapsing_gap_factor * typical)
            was_lost = self.has & (comeback > lost_after) & (comeback >= _P.won_back_min_gap_days)
        since = d - _P.complaints_window_days
        complaints = (
            _any_per(self.pid[self.ret_order], self.ret_at > since, p)
            | _any_per(
                self.ia_person, (self.ia_kind == _KIND["complaint"]) & (self.ia_at > since), p
            )
            | _any_per(self.fb_person, self.fb_complaint & (self.fb_at > since), p)
        )
        # latest and previous NPS (feedback rows are in time order per person)
        fcount = np.bincount(self.fb_person, minlength=p)
        fstart = _starts(fcount)
        latest = np.full(p, -1)
        prev = np.full(p, -1)
        one = fcount >= 1
        latest[one] = self.fb_nps[fstart[one] + fcount[one] - 1]
        two = fcount >= 2
        prev[two] = self.fb_nps[fstart[two] + fcount[two] - 2]
        detractor = one & (
            (latest <= _P.detractor_max_nps) | (two & (prev - latest >= _P.detractor_nps_drop))
        )
        promoter = one & (latest >= _P.promoter_min_nps)
        cats = np.zeros(p, dtype=np.int64)
        if pid.size:
            np.bitwise_or.at(cats, pid, self.cat_mask)
        n_cats = _POPCOUNT[cats]
        flags = {
            "is_lost": lost,
            "is_lapsing": lapsing,
            "won_back": was_lost & ~lost & ~lapsing,
            "widening_gaps": np.isin(arch, (DRIFTING, CHURNED)),
            "shrinking_orders": arch == B2B_SHRINKING,
            "slower_payments": arch == B2B_SHRINKING,
            "dropped_addons": arch == ADDON_DROPPER,
            "complaints_returns": complaints,
            "unresponsive": self.unresponsive,
            "detractor": detractor,
            "promoter": promoter,
            "referrer": np.bincount(self.ref_from, minlength=p) > 0,
            "discount_driven": (
                _share_per(pid, self.discount > 0, n) > _P.discount_driven_min_share
            ),
            "innovator": _share_per(pid, self.new_products > 0, n) >= _P.innovator_min_share,
            "focused": (n >= _P.regular_min_orders) & (n_cats <= _P.focused_max_categories),
            "diverse": n_cats >= _P.diverse_min_categories,
        }
        dp = self.dup_person
        cards = np.concatenate([np.arange(p), dp])
        archetype = np.concatenate([arch, np.full(dp.size, DUPLICATE)])
        dup_of = np.concatenate([np.full(p, -1), self._person_number(dp)])
        columns: dict[str, Any] = {
            "customer_id": self._card_ids(),
            "archetype": _strings(ARCHETYPES, archetype),
            "segment": _strings(("b2c", "b2b"), self.b2b[cards].astype(np.int64)),
            "duplicate_of": _null_where(
                _ids("C", np.maximum(dup_of, 0), self.widths.customer), dup_of < 0
            ),
        }
        for name in TRUTH_FLAGS:
            columns[name] = pa.array(flags[name][cards], pa.bool_())
        return pa.table(columns, schema=SCHEMAS["truth"])

    # ---- tables ------------------------------------------------------------------------------

    def _person_number(self, persons: Arr) -> Arr:
        number = self.first_person + persons + 1
        if self.with_big:
            number = np.where(persons == self.p - 1, self.spec.customers, number)
        return number.astype(np.int64)

    def _person_ids(self, persons: Arr) -> pa.Array:
        return _ids("C", self._person_number(persons), self.widths.customer)

    def _dup_numbers(self) -> Arr:
        return self.spec.customers + self.state.duplicates + 1 + np.arange(self.dup_person.size)

    def _card_ids(self) -> pa.Array:
        numbers = np.concatenate([self._person_number(np.arange(self.p)), self._dup_numbers()])
        return _ids("C", numbers, self.widths.customer)

    def _customers_table(self) -> pa.Table:
        rng, p, b2b, arch = self.rng, self.p, self.b2b, self.arch
        numbers = self._person_number(np.arange(p))
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
        canonical[self.dup_person] = True
        no_email = ~b2b & (arch != PROSPECT) & ~canonical & (rng.random(p) < 0.15)
        no_phone = ~b2b & ~canonical & (rng.random(p) < 0.3)
        birthday = rng.integers(-7305, 13149, p).astype(np.int32)  # 1950-01-01 .. 2005-12-31
        no_birthday = b2b | (rng.random(p) < 0.4)
        disc = np.where(rng.random(p) < 0.4, rng.integers(1, 5, p), 0)
        decision = np.where(rng.random(p) < 0.3, rng.integers(1, 3, p), 0)
        perception = np.where(rng.random(p) < 0.2, rng.integers(1, 4, p), 0)
        attributes = _attributes(b2b, disc, decision, perception)

        # duplicate cards: same person, e-mail in other letters or phone in another format
        dp = self.dup_person
        dn = dp.size
        by_email = self.dup_by_email
        dup_email = pc.if_else(
            pa.array(self.dup_variant == 0),
            pc.utf8_upper(email.take(dp)),
            pc.utf8_title(email.take(dp)),
        )
        dup_phone = pc.if_else(
            pa.array(self.dup_variant == 0),
            _join("+3725", digits.take(dp)),
            _join("(+372) 5", d3.take(dp), "-", d4.take(dp)),
        )
        created = np.concatenate(
            [self.created, np.maximum(self.dup_first - rng.uniform(0.0, 0.01, dn), 0.0)]
        )
        columns = {
            "customer_id": self._card_ids(),
            "name": pa.concat_arrays([name, name.take(dp)]),
            "email": pa.concat_arrays(
                [_null_where(email, no_email), _null_where(dup_email, ~by_email)]
            ),
            "phone": pa.concat_arrays(
                [_null_where(phone, no_phone), _null_where(dup_phone, by_email)]
            ),
            "created_at": self.cal.timestamps(created),
            "birthday": pa.array(
                np.concatenate([birthday, np.zeros(dn, np.int32)]),
                pa.date32(),
                mask=np.concatenate([no_birthday, np.ones(dn, bool)]),
            ),
            "manager": _strings(
                _MANAGERS,
                np.concatenate([self.manager, np.zeros(dn, np.int64)]),
                np.concatenate([self.manager < 0, np.ones(dn, bool)]),
            ),
            "consent_email": np.concatenate([self.consent_email, rng.random(dn) < 0.5]),
            "consent_sms": np.concatenate([self.consent_sms, np.zeros(dn, bool)]),
            "consent_messenger": np.concatenate([self.consent_messenger, np.zeros(dn, bool)]),
            "consent_phone": np.concatenate([self.consent_phone, np.zeros(dn, bool)]),
            "do_not_contact": np.concatenate([self.dnc, np.zeros(dn, bool)]),
            "attributes": pa.concat_arrays([attributes, attributes.take(dp)]),
        }
        return pa.table(columns, schema=SCHEMAS["customers"])

    def _order_customer_ids(self) -> pa.Array:
        numbers = self._person_number(self.pid)
        moved = self.order_card >= 0
        if moved.any():
            numbers[moved] = self._dup_numbers()[self.order_card[moved]]
        return _ids("C", numbers, self.widths.customer)

    def _order_numbers(self, idx: Arr) -> Arr:
        return (self.state.orders + 1 + idx).astype(np.int64)

    def _orders_table(self) -> pa.Table:
        m = self.pid.size
        w = self.widths
        columns = {
            "order_id": _ids("O", self._order_numbers(np.arange(m)), w.order),
            "customer_id": self._order_customer_ids(),
            "ordered_at": self.cal.timestamps(self.t),
            "amount": self.amount,
            "currency": pa.repeat(pa.scalar(self.spec.currency), m),
            "discount_amount": self.discount,
            "cost": self.cost,
            "channel": _strings(_ORDER_CHANNELS, self.channel),
            "quantity": self.quantity,
            "categories": _strings(_CATEGORY_PAIRS, self.cat_code),
            "new_products": self.new_products,
            "addons": _strings(_ADDONS, np.maximum(self.addon, 0), self.addon < 0),
        }
        return pa.table(columns, schema=SCHEMAS["orders"])

    def _returns_table(self) -> pa.Table:
        r = self.ret_order.size
        w = self.widths
        columns = {
            "return_id": _ids("R", self.state.returns + 1 + np.arange(r), w.other),
            "order_id": _ids("O", self._order_numbers(self.ret_order), w.order),
            "returned_at": self.cal.timestamps(self.ret_at),
            "amount": self.ret_amount,
            "reason": _strings(_RETURN_REASONS, self.ret_reason),
        }
        return pa.table(columns, schema=SCHEMAS["returns"])

    def _invoices_table(self) -> pa.Table:
        i = self.inv_order.size
        w = self.widths
        columns = {
            "invoice_id": _ids("INV", self.state.invoices + 1 + np.arange(i), w.other),
            "customer_id": self._person_ids(self.pid[self.inv_order]),
            "due_at": self.cal.timestamps(self.inv_due),
            "amount": self.amount[self.inv_order],
            "order_id": _ids("O", self._order_numbers(self.inv_order), w.order),
            "paid_at": self.cal.timestamps(self.inv_paid, np.isnan(self.inv_paid)),
        }
        return pa.table(columns, schema=SCHEMAS["invoices"])

    def _interactions_table(self) -> pa.Table:
        x = self.ia_person.size
        columns = {
            "interaction_id": _ids(
                "IA", self.state.interactions + 1 + np.arange(x), self.widths.other
            ),
            "customer_id": self._person_ids(self.ia_person),
            "at": self.cal.timestamps(self.ia_at),
            "channel": _strings(_CONTACT_CHANNELS, self.ia_channel),
            "direction": _strings(_DIRECTIONS, self.ia_direction),
            "kind": _strings(_KINDS, self.ia_kind),
            "responded_at": self.cal.timestamps(self.ia_resp, np.isnan(self.ia_resp)),
            "outcome": _strings(_OUTCOMES, np.maximum(self.ia_outcome, 0), self.ia_outcome < 0),
            "manager": _strings(_MANAGERS, np.maximum(self.ia_manager, 0), self.ia_manager < 0),
        }
        return pa.table(columns, schema=SCHEMAS["interactions"])

    def _feedback_table(self) -> pa.Table:
        f = self.fb_person.size
        columns = {
            "feedback_id": _ids("FB", self.state.feedback + 1 + np.arange(f), self.widths.other),
            "customer_id": self._person_ids(self.fb_person),
            "at": self.cal.timestamps(self.fb_at),
            "nps": self.fb_nps,
            "csat": pa.array(self.fb_csat, pa.int64(), mask=self.fb_csat_null),
            "complaint": self.fb_complaint,
            "text": _strings(_FEEDBACK_TEXT, np.maximum(self.fb_text, 0), self.fb_text < 0),
        }
        return pa.table(columns, schema=SCHEMAS["feedback"])

    def _referrals_table(self) -> pa.Table:
        r = self.ref_from.size
        referrer = self._person_ids(self.ref_from)
        columns = {
            "referral_id": _ids("RF", self.state.referrals + 1 + np.arange(r), self.widths.other),
            "referrer_id": referrer,
            "referee_id": self._person_ids(self.ref_to),
            "at": self.cal.timestamps(self.ref_at),
            "code": _join("REF-", referrer),
        }
        return pa.table(columns, schema=SCHEMAS["referrals"])

    def _advance_state(self) -> None:
        s = self.state
        s.orders += self.pid.size
        s.returns += self.ret_order.size
        s.invoices += self.inv_order.size
        s.interactions += self.ia_person.size
        s.feedback += self.fb_person.size
        s.referrals += self.ref_from.size
        s.duplicates += self.dup_person.size
        s.trailing_revenue += self.chunk_trailing


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


# --------------------------------------------------------------------------------------------
# public API


def iter_business(spec: DemoSpec) -> Iterator[dict[str, pa.Table]]:
    """Generate a synthetic business chunk by chunk.

    Parameters
    ----------
    spec
        What to generate; identical specs give identical tables.

    Yields
    ------
    dict of str to pyarrow.Table
        For every chunk of ``spec.chunk_customers`` persons, the tables ``customers``,
        ``orders``, ``returns``, ``invoices``, ``interactions``, ``feedback``, ``referrals`` and
        ``truth``, each with the schema in :data:`SCHEMAS`. Ids are unique across chunks; rows
        of one chunk only reference customers and orders of the same chunk. The big client
        comes in the last chunk.
    """
    cal = _Calendar(spec.start, spec.end)
    n_regular = spec.customers - 1
    extra_cards = spec.customers // 20 + 10
    widths = _Widths(
        customer=max(6, len(str(spec.customers + extra_cards))),
        order=max(7, len(str(math.ceil(spec.customers * spec.orders_per_customer * 1.5)))),
        other=max(7, len(str(math.ceil(spec.customers * spec.orders_per_customer * 1.5)))),
    )
    state = _State()
    chunks = spec.chunks
    for index in range(chunks):
        lo = index * spec.chunk_customers
        hi = min(n_regular, lo + spec.chunk_customers)
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(index,)))
        chunk = _Chunk(spec, cal, widths, state, lo, hi - lo, index == chunks - 1, rng)
        yield chunk.build()


def generate_business(spec: DemoSpec | None = None) -> dict[str, pa.Table]:
    """Generate a whole synthetic business in memory (for small sizes).

    Parameters
    ----------
    spec
        What to generate (default: ``DemoSpec()``, 2,000 customers).

    Returns
    -------
    dict of str to pyarrow.Table
        The tables of :func:`iter_business`, each concatenated over all chunks.
    """
    spec = spec or DemoSpec()
    parts: dict[str, list[pa.Table]] = {name: [] for name in SCHEMAS}
    for chunk in iter_business(spec):
        for name, table in chunk.items():
            parts[name].append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}
