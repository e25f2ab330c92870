"""Editing the programme: new versions made on the web, the file's adopted again, and what
changed between two versions in words (DOMAIN §8; issue 19's loyalty admin).

Once the programme is edited on the web the store is its source (see
:class:`~regulars.services.loyalty.core.LoyaltyCore`): an edit saves a new version into
``loyalty_programmes`` with its author and note, effective now or from a chosen later day;
every process runs the store's version in force. An edit names the version it was based on
(the form carries it) and the part it touches (a reward, a tier, an offer, the bonuses). When
that part changed in a version saved since, the edit is refused
(:class:`~regulars.domain.loyalty.errors.StaleProgrammeError`): saving it would undo the other
change unseen. A change to another part is kept: the edit applies to the newest version.

The pure changes (:func:`put_reward`, :func:`put_tier`, :func:`put_offer`, :func:`set_rules`)
and the checks across the programme (:func:`check_programme`) raise
:class:`~regulars.domain.loyalty.errors.ProgrammeRuleError` naming the field at fault.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from regulars.domain.loyalty.errors import (
    LoyaltyError,
    ProgrammeRuleError,
    StaleProgrammeError,
)
from regulars.domain.loyalty.programme import Offer, Programme, Reward, Tier, aware
from regulars.i18n import N_, _, fmt_date, fmt_number, ngettext
from regulars.services.loyalty.core import RETRIES, LoyaltyCore, Version
from regulars.services.loyalty.ports import SOURCE_FILE, SOURCE_WEB, DuplicateKey

#: a programme's part an edit touches: what must not have changed since its base version
Part = Callable[[Programme], object]

#: the longest note kept with a version
NOTE_MAX = 500


def reward_part(code: str) -> Part:
    return lambda p: p.reward(code)


def tier_part(name: str) -> Part:
    return lambda p: next((t for t in p.tiers if t.name == name), None)


def offer_part(name: str) -> Part:
    return lambda p: p.offer(name)


def rules_part(*names: str) -> Part:
    return lambda p: tuple(getattr(p, n) for n in names)


# -- the pure changes -------------------------------------------------------------------------


def new_code(name: str, taken: Sequence[str], prefix: str = "reward") -> str:
    """A code for a new item named ``name``: its Latin letters and digits in lower case,
    joined by ``-`` (``prefix`` when it has none), made unique among ``taken``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or prefix
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}-{n}"
    return code


def put_reward(programme: Programme, reward: Reward, *, new: bool) -> Programme:
    """``programme`` with ``reward`` added (``new``) or replacing the one with its code (the
    same reward added again, a form sent twice, changes nothing)."""
    exists = programme.reward(reward.code) is not None
    if new and programme.reward(reward.code) == reward:
        return programme
    if new and exists:
        raise ProgrammeRuleError(_("a reward with the code {code} exists already").format(
            code=reward.code), field="code")
    if not new and not exists:
        raise ProgrammeRuleError(_("no reward {code} in the catalogue").format(
            code=reward.code))
    rewards = ((*programme.rewards, reward) if new else
               tuple(reward if r.code == reward.code else r for r in programme.rewards))
    return check_programme(dataclasses.replace(programme, rewards=rewards))


def put_tier(programme: Programme, tier: Tier, *, new: bool) -> Programme:
    """``programme`` with ``tier`` added (``new``) or replacing the one with its name (a
    tier's name is what members hold: it is not changed; the same tier added again changes
    nothing)."""
    exists = any(t.name == tier.name for t in programme.tiers)
    if new and tier in programme.tiers:
        return programme
    if new and exists:
        raise ProgrammeRuleError(_("a tier called {name} exists already").format(
            name=tier.name), field="name")
    if not new and not exists:
        raise ProgrammeRuleError(_("no tier {name} in the programme").format(name=tier.name))
    others = [t for t in programme.tiers if t.name != tier.name]
    if any(t.threshold == tier.threshold for t in others):
        raise ProgrammeRuleError(_("another tier starts at this threshold"), field="threshold")
    lowest = programme.tiers[0]
    if not new and tier.name == lowest.name and tier.threshold != 0:
        raise ProgrammeRuleError(_("the first tier starts at 0: every member holds one"),
                                 field="threshold")
    return check_programme(dataclasses.replace(programme, tiers=(*others, tier)))


def put_offer(programme: Programme, offer: Offer, *, new: bool) -> Programme:
    """``programme`` with ``offer`` added (``new``) or replacing the one with its name (the
    same offer added again changes nothing)."""
    exists = programme.offer(offer.name) is not None
    if new and programme.offer(offer.name) == offer:
        return programme
    if new and exists:
        raise ProgrammeRuleError(_("an offer called {name} exists already").format(
            name=offer.name), field="name")
    if not new and not exists:
        raise ProgrammeRuleError(_("no offer {name} in the programme").format(name=offer.name))
    offers = ((*programme.offers, offer) if new else
              tuple(offer if o.name == offer.name else o for o in programme.offers))
    return check_programme(dataclasses.replace(programme, offers=offers))


def set_rules(programme: Programme, **values: Any) -> Programme:
    """``programme`` with some of its plain rules (the bonuses, …) set."""
    return check_programme(dataclasses.replace(programme, **values))


def check_programme(programme: Programme) -> Programme:
    """The checks across the programme the settings make of ``[loyalty]``, in the reader's
    words, each naming its field: references to rewards and tiers, an inactive reward still
    offered by an active offer or punch card. Returns the programme rebuilt as the store
    reads it back (so it is what a saved version will be)."""
    codes = {r.code: r for r in programme.rewards}
    tiers = {t.name for t in programme.tiers}
    for r in programme.rewards:
        if r.min_tier is not None and r.min_tier not in tiers:
            raise ProgrammeRuleError(_("there is no tier {name}").format(name=r.min_tier),
                                     field="min_tier")
    for o in programme.offers:
        if o.reward not in codes:
            raise ProgrammeRuleError(_("{name} names reward {code}, which is not in "
                                       "rewards").format(name=o.name, code=o.reward),
                                     field="reward")
        if o.tier is not None and o.tier not in tiers:
            raise ProgrammeRuleError(_("there is no tier {name}").format(name=o.tier),
                                     field="tier")
        if o.active and not codes[o.reward].active:
            raise ProgrammeRuleError(_("offer {offer} gives {reward}, which is no longer "
                                       "offered").format(offer=o.name,
                                                         reward=codes[o.reward].name),
                                     field="active")
    for c in programme.punch_cards:
        if c.reward in codes and not codes[c.reward].active:
            raise ProgrammeRuleError(_("punch card {card} gives {reward}: it stays "
                                       "offered").format(card=c.name,
                                                         reward=codes[c.reward].name),
                                     field="active")
    try:
        return Programme.from_dict(programme.to_dict())
    except ValueError as e:  # the domain's own invariants (unique names and codes)
        raise ProgrammeRuleError(str(e)) from None


# -- saving versions --------------------------------------------------------------------------


class Programmes(LoyaltyCore):
    """The programme's versions as the loyalty admin edits them.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def version(self, number: int) -> Version | None:
        return next((v for v in self.versions() if v.number == number), None)

    def newest_version(self) -> Version:
        """The newest version (which may start later than now): what an edit is based on."""
        return self.versions()[-1]

    def in_force(self) -> Version:
        """The version in force now."""
        return self._in_force(self.versions())

    def save_programme(self, change: Callable[[Programme], Programme], *, base_version: int,
                       part: Part, author: str, note: str | None = None,
                       starts: date | None = None) -> Version | None:
        """Save ``change`` of the newest version as a new version made on the web, by
        ``author`` with ``note``, in force from now or from the start of the local day
        ``starts``. None when it changes nothing.

        Refused with :class:`StaleProgrammeError` when ``part`` differs between
        ``base_version`` and the newest version, and with :class:`ProgrammeRuleError` for a
        change that breaks a rule or a day before today or before the newest version's.
        """
        note = (note or "").strip()[:NOTE_MAX] or None
        for _attempt in range(RETRIES):
            self.forget_versions()
            versions = self.versions()
            newest = versions[-1]
            base = next((v for v in versions if v.number == base_version), None)
            if base is None:
                raise ProgrammeRuleError(_("there is no version {n} of the programme").format(
                    n=base_version))
            changed = change(newest.programme)
            changed = dataclasses.replace(changed, timezone=newest.programme.timezone)
            if changed.fingerprint() == newest.programme.fingerprint():
                return None  # nothing to write, so nothing to lose (a form sent twice)
            if base.number != newest.number and part(base.programme) != part(
                    newest.programme):
                raise StaleProgrammeError(
                    _("This was changed in version {n} by {author} after you opened the "
                      "form. The form now shows the current values: make your change "
                      "again.").format(n=newest.number, author=newest.author or _("the file")),
                    base=base.number, version=newest.number, author=newest.author)
            start = self._start(starts, newest)
            try:
                return self._add_version(newest.number + 1, start, changed, SOURCE_WEB,
                                         author, note)
            except DuplicateKey:
                continue  # another edit saved this number first: look again
        raise LoyaltyError(_("too many edits at once; try again"))

    def adopt_file(self, *, author: str, note: str | None = None) -> Version:
        """Make the settings file's ``[loyalty]`` the source again: it is saved as a new
        version (in force from now, or from its ``effective_from`` when later) even when its
        rules equal the newest version's, and later edits of the file apply as before."""
        for _attempt in range(RETRIES):
            self.forget_versions()
            newest = self.versions()[-1]
            start = max(aware(self.configured.effective_from or self.now()), self.now(),
                        newest.effective_from)
            try:
                return self._add_version(newest.number + 1, start, self.configured, SOURCE_FILE,
                                         author, note)
            except DuplicateKey:
                continue
        raise LoyaltyError(_("too many edits at once; try again"))

    def _start(self, starts: date | None, newest: Version) -> datetime:
        now = self.now()
        today = self.programme.local(now).date()
        if starts is not None and starts < today:
            raise ProgrammeRuleError(_("{day} has passed: a version cannot apply to orders "
                                       "already placed").format(day=fmt_date(starts)),
                                     field="starts")
        start = now if starts is None or starts == today else self.programme.midnight(starts)
        if start < newest.effective_from:
            raise ProgrammeRuleError(_("version {n} applies from {day}: choose that day or a "
                                       "later one").format(
                n=newest.number, day=fmt_date(self.programme.local(newest.effective_from)
                                              .date())), field="starts")
        return start

    def _add_version(self, number: int, start: datetime, programme: Programme, source: str,
                     author: str, note: str | None) -> Version:
        definition = programme.to_dict()
        fp = programme.fingerprint()
        now = self.now()
        with self.store.transaction() as tx:
            tx.add_programme_version(number, start, fp, definition, now, source=source,
                                     author=author, note=note)
            tx.commit()
        self.forget_versions()
        saved = self.version(number)
        assert saved is not None
        return saved


# -- what changed between two versions, in words -----------------------------------------------

_REWARD_FIELDS = {
    "name": N_("name"), "kind": N_("kind"), "points": N_("cost"), "value": N_("value"),
    "percent": N_("percent off"), "valid_days": N_("valid for"),
    "min_tier": N_("lowest tier"), "stock": N_("stock"), "per_member": N_("per member"),
}
_TIER_FIELDS = {
    "threshold": N_("threshold"), "multiplier": N_("points multiplier"),
    "discount_percent": N_("discount"), "perks": N_("perks"),
}
_OFFER_FIELDS = {
    "kind": N_("kind"), "reward": N_("reward"), "min_spend": N_("spent over"),
    "window_days": N_("window"), "min_tenure_days": N_("customer for"), "tier": N_("tier"),
    "winners": N_("winners"),
}
#: the programme's plain rules the pages edit, and their names
RULE_NAMES = {
    "bonus_sign_up": N_("sign-up bonus"), "bonus_birthday": N_("birthday bonus"),
    "bonus_first_order": N_("first-order bonus"), "bonus_review": N_("review bonus"),
    "bonus_nps_answer": N_("survey answer bonus"),
    "referrer_points": N_("referral bonus for the referrer"),
    "referee_points": N_("referral bonus for the new member"),
    "referral_min_order_amount": N_("referral: smallest qualifying order"),
    "max_referrals_per_referrer": N_("referrals per member"),
}
#: the kinds of rewards and offers, and their names
REWARD_KIND_NAMES = {
    "discount_coupon": N_("discount coupon"), "free_item": N_("free item"),
    "service": N_("service"), "gift": N_("gift"),
}
OFFER_KIND_NAMES = {
    "spent_over": N_("for those who spent over an amount"),
    "tenure": N_("for customers of long standing"), "draw": N_("prize draw in a tier"),
}
KIND_NAMES = {**REWARD_KIND_NAMES, **OFFER_KIND_NAMES}
_POINTS = frozenset({"points", "bonus_sign_up", "bonus_birthday", "bonus_first_order",
                     "bonus_review", "bonus_nps_answer", "referrer_points", "referee_points"})
_DAYS = frozenset({"valid_days", "window_days", "min_tenure_days"})


def _value(key: str, value: Any) -> str:
    if value is None:
        return _("no limit") if key in ("stock", "per_member", "max_referrals_per_referrer") \
            else "—"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "—"
    if key == "kind" and value in KIND_NAMES:
        return _(KIND_NAMES[value])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | Decimal | float) or (isinstance(value, str) and re.fullmatch(
            r"-?\d+(\.\d+)?", value)):
        number = Decimal(str(value))
        text = fmt_number(number, 0 if number == number.to_integral_value() else 2)
        if key in _POINTS:
            return ngettext("{n} point", "{n} points", int(number)).format(n=text)
        if key in _DAYS:
            return ngettext("{n} day", "{n} days", int(number)).format(n=text)
        if key in ("percent", "discount_percent"):
            return f"{text} %"
        return text
    return str(value)


#: what is said of an item, per kind (each its own sentence: the languages' genders differ)
_SAID: dict[str, dict[str, str]] = {
    "reward": {"added": N_("reward {name!r} added"),
               "deactivated": N_("reward {name!r} deactivated"),
               "again": N_("reward {name!r} offered again"),
               "changed": N_("reward {name!r}: {field} {old} → {new}"),
               "removed": N_("reward {name!r} removed")},
    "tier": {"added": N_("tier {name!r} added"), "deactivated": "", "again": "",
             "changed": N_("tier {name!r}: {field} {old} → {new}"),
             "removed": N_("tier {name!r} removed")},
    "offer": {"added": N_("offer {name!r} added"),
              "deactivated": N_("offer {name!r} deactivated"),
              "again": N_("offer {name!r} active again"),
              "changed": N_("offer {name!r}: {field} {old} → {new}"),
              "removed": N_("offer {name!r} removed")},
}


def _items(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]], key: str,
           what: str, labels: dict[str, str], defaults: dict[str, Any]) -> list[str]:
    said = _SAID[what]
    out: list[str] = []
    before = {i[key]: i for i in old}
    after = {i[key]: i for i in new}
    for k, item in after.items():
        shown = item.get("name") or k
        if k not in before:
            out.append(_(said["added"]).format(name=shown))
            continue
        was = before[k]
        if was.get("active", True) != item.get("active", True):
            out.append(_(said["deactivated"] if not item.get("active", True)
                         else said["again"]).format(name=shown))
        for field, label in labels.items():
            a, b = was.get(field, defaults.get(field)), item.get(field, defaults.get(field))
            if a != b:
                out.append(_(said["changed"]).format(
                    name=was.get("name") or k, field=_(label), old=_value(field, a),
                    new=_value(field, b)))
    for k, item in before.items():
        if k not in after:
            out.append(_(said["removed"]).format(name=item.get("name") or k))
    return out


def describe_changes(old: Programme, new: Programme) -> list[str]:
    """What changed from ``old`` to ``new``, one sentence each, in the reader's language:
    "reward 'Coffee': cost 100 points → 120 points"."""
    a, b = old.to_dict(), new.to_dict()
    reward_defaults = {f.name: f.default for f in dataclasses.fields(Reward)}
    offer_defaults = {f.name: f.default for f in dataclasses.fields(Offer)}
    out = _items(a["rewards"], b["rewards"], "code", "reward", _REWARD_FIELDS,
                 _jsonable_defaults(reward_defaults))
    out += _items(a["tiers"], b["tiers"], "name", "tier", _TIER_FIELDS, {})
    out += _items(a["offers"], b["offers"], "name", "offer", _OFFER_FIELDS,
                  _jsonable_defaults(offer_defaults))
    for key in a:
        if key in ("rewards", "tiers", "offers") or a[key] == b.get(key):
            continue
        label = _(RULE_NAMES[key]) if key in RULE_NAMES else key
        out.append(_("{field}: {old} → {new}").format(field=label, old=_value(key, a[key]),
                                                      new=_value(key, b.get(key))))
    return out


def _jsonable_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in defaults.items():
        out[k] = (str(int(v)) if v == v.to_integral_value() else str(v.normalize())) \
            if isinstance(v, Decimal) else v
    return out


def version_changes(versions: Sequence[Version]) -> dict[int, list[str]]:
    """Per version (but the first), what changed from the one before it."""
    return {b.number: describe_changes(a.programme, b.programme)
            for a, b in itertools.pairwise(versions)}
