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
Column names and order are read from ``regulars.domain.tables`` (:data:`SCHEMAS`). Money is
float64 rounded to cents, timestamps are naive ``timestamp[us]`` at whole seconds within
business hours, dates are ``date32``, list columns are ``;``-joined strings. Ids are prefixed
zero-padded numbers (``C000001``, ``O0000001``, ``R…``, ``INV…``, ``IA…``, ``FB…``, ``RF…``),
unique across chunks. ``chunk_customers`` is part of a
business's identity: another chunk size gives another (equally valid) business.

Modules
-------
:mod:`~regulars.demo.spec` (what to generate, the schemas), :mod:`~regulars.demo.archetypes`
(the archetypes' parameters and vocabularies), :mod:`~regulars.demo.chunk` (persons, their
orders and contacts), :mod:`~regulars.demo.contacts`, :mod:`~regulars.demo.truth`,
:mod:`~regulars.demo.tables` (the arrow tables), :mod:`~regulars.demo.generate` (the entry
points) and :mod:`~regulars.demo.files` (writing a business to a directory).
"""

from __future__ import annotations

from regulars.demo.archetypes import ARCHETYPES, TRUTH_FLAGS
from regulars.demo.generate import generate_business, iter_business
from regulars.demo.spec import SCHEMAS, DemoSpec

__all__ = [
    "ARCHETYPES",
    "SCHEMAS",
    "TRUTH_FLAGS",
    "DemoSpec",
    "generate_business",
    "iter_business",
]
