"""The words of the shipped playbooks (``src/regulars/playbooks/*.toml``: titles,
descriptions, task notes), marked for the catalogues: TOML cannot call ``N_``, so they are
listed here, and :func:`shown` translates them where they are shown. A business's own words
are not in the catalogues and are shown as written.

``tests/unit/playbooks`` checks that this list is exactly the shipped files' words.
"""

from __future__ import annotations

from regulars.i18n import N_, _

SHIPPED_WORDS = (
    N_("New Year greeting by e-mail, a few days before"),
    N_("Attention and a reminder (article 001). Former customers get it too, and nothing else of"
       " this plan: with the retention set's one win-back offer that is at most two contacts a "
       "year."),
    N_("Greeting on the client's professional day"),
    N_("The day is the customer attribute professional_day (MM-DD), e.g. professional_day=05-07 "
       "(Radio Day) in the customer's attributes."),
    N_("Greeting on the client company's birthday"),
    N_("The day is the customer attribute founded (YYYY-MM-DD or MM-DD)."),
    N_("The quarterly call between orders"),
    N_("The manager calls the contact person once a quarter: shares the business's news and "
       "learns the customer's."),
    N_("A messenger touch once a month (2-3 a quarter)"),
    N_("News, a useful link, a personal date; the contact policy's caps decide whether the third"
       " of a quarter goes out."),
    N_("Printed material or a gift once a year"),
    N_("A task for the manager before the year's end: send or hand over a catalogue, a calendar "
       "or a gift."),
    N_("Printed material or a gift: a catalogue, a calendar, a book, a souvenir."),
    N_("Event invitations, two a year"),
    N_("An invitation to meet in person in spring and in autumn: a conference, a fair, a seminar."),
    N_("Overdue: remind them of the order they are due to place"),
    N_("Shrinking orders: the manager calls to ask what changed"),
    N_("Detractor: an apology call within two days"),
    N_("Service, not marketing: the call is due within two days of the low score, and the "
       "customer's marketing consent does not matter for it."),
    N_("Transactional: hear the complaint out and apologise."),
    N_("Dropped add-ons: ask how the service served them"),
    N_("Valuable and lost: one win-back offer"),
    N_("Valuable: a golden customer (the few largest who make most of the revenue). Once per "
       "customer, ever."),
)


def shown(text: str) -> str:
    """``text`` in the reader's language when it is one of the shipped words, else as it is."""
    return _(text) if text in _KNOWN else text


_KNOWN = frozenset(SHIPPED_WORDS)
