"""The archetypes of the demo business and the vocabularies of its tables."""

from __future__ import annotations

import numpy as np

from regulars.analytics.params import MapParams

_P = MapParams()  # the map's default thresholds: the truth follows the same rules as the map

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

