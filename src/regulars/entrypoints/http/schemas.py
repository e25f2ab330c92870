"""Request and response models. Ingest models are generated from the column contract
(``regulars.domain.tables``), so the API accepts exactly the columns an import does."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from regulars.domain import rules as domain_rules
from regulars.domain.rules import (
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    Check,
    InputRules,
    broken,
    limits,
)
from regulars.domain.tables import SPECS, ColumnType, Kind, TableSpec
from regulars.entrypoints.http.fields import (
    Day,
    Flag,
    Instant,
    amount_schema,
    money,
    whole_number,
)
from regulars.entrypoints.http.loyalty_schemas import PointsLine, PointsStatement
from regulars.i18n import _
from regulars.services.api.ingest import canonical

# no NUL characters: PostgreSQL text cannot hold them (schemathesis sent one: a 500 before);
# the lengths are the input rules' (regulars.domain.rules), for the fields outside records
NO_NUL = r"^[^\x00]*$"
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                      max_length=MAX_ID_LENGTH, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH, pattern=NO_NUL)]


# Fields of ingested records carry their types only: their limits (no NUL, lengths, ranges,
# dates, amounts) are the importer's, regulars.domain.rules, checked once per record (below,
# for HTTP), so that both doors give the same verdict and the same message.
_RecordText = Annotated[str, StringConstraints(strip_whitespace=True)]


def _documented_range(spec: TableSpec, name: str) -> tuple[Any, Any]:
    """The range the input rules give a number column, at their defaults: what the OpenAPI
    document promises (a business's [input] may narrow or widen the amounts)."""
    lo: Any = None
    hi: Any = None
    for limit in limits(spec, InputRules(), domain_rules.today()):
        if limit.column == name and limit.check is Check.AT_LEAST:
            lo = limit.bound
        elif limit.column == name and limit.check is Check.AT_MOST:
            hi = limit.bound
    return lo, hi


def _python_type(spec: TableSpec, name: str) -> tuple[Any, Any]:
    """The annotation and default of one column's field."""
    col = spec.column(name)
    t = col.type
    desc = col.description or None
    kw: dict[str, Any] = {"description": desc}
    typ: Any
    if t is ColumnType.ID:
        typ = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    elif t is ColumnType.TEXT:
        # the choices, from the column contract, name the values in the OpenAPI document
        typ = Literal[col.choices] if col.choices else _RecordText
    elif t is ColumnType.LIST:
        typ = list[str] | _RecordText
    elif t is ColumnType.TIMESTAMP:
        typ = Instant
    elif t is ColumnType.DATE:
        typ = Day
    elif t is ColumnType.MONEY:
        # validated to the store's NUMERIC(18, 4) only: the range (not negative, at most
        # [input] max_amount) is the domain's rule, checked with its own words below, and
        # documented from it (at its defaults)
        lo, hi = _documented_range(spec, name)
        typ = Annotated[money(ge=Decimal("-99999999999999"), le=Decimal("99999999999999"),
                              description=desc), amount_schema(ge=lo, le=hi)]
    elif t is ColumnType.INTEGER:
        # likewise: NPS 0-10, CSAT 1-5 and counts are the domain's rules
        lo, hi = _documented_range(spec, name)
        typ = Annotated[whole_number(ge=-(2**53), le=2**53, description=desc),
                        WithJsonSchema({"anyOf": [
                            {"type": "integer", "minimum": lo, "maximum": hi},
                            {"type": "string", "pattern": r"^[+-]?\d{1,16}$" if lo < 0
                             else r"^\+?\d{1,16}$"}]})]
        kw = {}
    else:
        typ = Flag
    required = col.required or (name == spec.id_column and not spec.derived_id)
    if required:
        return typ, Field(..., **kw)
    return typ | None, Field(None, **kw)


INPUT_RULES: ContextVar[InputRules | None] = ContextVar("regulars_input_rules", default=None)
"""The business's input rules while a request is validated (set by the app per request)."""
_KINDS: dict[type[BaseModel], Kind] = {}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # the record as the store keeps it, typed by the check below (an order's missing
    # currency left None): what the router hands the ingest, typed once (``typed_row``)
    _row: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _within_limits(self) -> _Record:
        """The domain's limits, checked here for HTTP, so that a record whose types are
        right but whose values break a limit is reported in the same answer as the type
        errors of the other records. This is the one check of an HTTP record: the router
        tells the ingest service so (``Ingest.run(checked=True)``), which checks the
        records of its other callers itself."""
        kind = _KINDS.get(type(self))
        if kind is None:
            return self
        spec = SPECS[kind]
        data = self.model_dump()
        rules = limits(spec, INPUT_RULES.get() or InputRules(), domain_rules.today())
        self._row = row = canonical(spec, data, None)
        bad = broken(row, rules)
        if bad:
            raise ValidationError.from_exception_data(type(self).__name__, [
                {"type": PydanticCustomError("input_limit", limit.message(_)),
                 "loc": (limit.column,), "input": data.get(limit.column)} for limit in bad])
        return self


def record_model(kind: Kind, name: str, *, extra: dict[str, Any] | None = None,
                 drop: tuple[str, ...] = ()) -> type[BaseModel]:
    spec = SPECS[kind]
    fields: dict[str, Any] = {n: _python_type(spec, n) for n in spec.names if n not in drop}
    fields.update(extra or {})
    model: type[BaseModel] = create_model(name, __base__=_Record, **fields)
    _KINDS[model] = kind  # the table whose limits apply
    model.__doc__ = f"One row of the {kind.value} table (DOMAIN §2)."
    return model


CustomerIn = record_model(Kind.CUSTOMERS, "CustomerIn")
OrderIn = record_model(Kind.ORDERS, "OrderIn")
ReturnIn = record_model(Kind.RETURNS, "ReturnIn")


def _event(kind: Kind, name: str, tag: str) -> type[BaseModel]:
    return record_model(kind, name, extra={"type": (Literal[tag], Field(...))})


FeedbackEvent = _event(Kind.FEEDBACK, "FeedbackEvent", "feedback")
InteractionEvent = _event(Kind.INTERACTIONS, "InteractionEvent", "interaction")
ReferralEvent = _event(Kind.REFERRALS, "ReferralEvent", "referral")
InvoiceEvent = _event(Kind.INVOICES, "InvoiceEvent", "invoice")


class AbandonedCartEvent(_Record):
    """A cart left without an order: stored as an incoming interaction of kind ``event``
    with outcome ``abandoned_cart``."""

    type: Literal["abandoned_cart"]
    event_id: Id | None = None
    customer_id: Id
    at: Instant
    channel: Text = "web"


class NamedEvent(BaseModel):
    """An event for playbooks (issue 20), told apart from the records above by having a
    ``name`` and no ``type``: stored in ``playbook_events``, where playbooks' event triggers
    read it. The name is a known event (signed_up, cart_abandoned, …) or the business's own:
    lower case letters, digits and ``_``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    event_id: Annotated[Id | None, Field(
        max_length=128, description="Yours: a resend with the same id is a no-op. Without "
        "one, the id is derived from the event's content.")] = None
    customer_id: Annotated[Id, Field(description="A known customer.")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                           pattern=NO_NUL), Field(
        description="signed_up, cart_abandoned, nps_answered, review_posted, or your own "
                    "(^[a-z][a-z0-9_]{0,63}$).", examples=["signed_up"])]
    at: Annotated[Instant | None, Field(description="When it happened (default: when "
                                                    "received).")] = None
    properties: Annotated[dict[str, Any] | None, Field(
        description="Anything to keep with the event (a JSON object, at most 16 KB).")] = None


EventIn = Annotated[
    FeedbackEvent | InteractionEvent | ReferralEvent | InvoiceEvent | AbandonedCartEvent,  # type: ignore[valid-type]
    Field(discriminator="type"),
]

EVENT_KINDS: dict[str, Kind] = {
    "feedback": Kind.FEEDBACK, "interaction": Kind.INTERACTIONS, "referral": Kind.REFERRALS,
    "invoice": Kind.INVOICES, "abandoned_cart": Kind.INTERACTIONS,
}


def _shape(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


def one_or_many(model: Any) -> Any:
    """A body that is one record, or a JSON array of them."""
    return Annotated[
        Annotated[model, Tag("one")]
        | Annotated[list[model], Field(min_length=1), Tag("many")],
        Discriminator(_shape),
    ]


CustomersBody = one_or_many(CustomerIn)
OrdersBody = one_or_many(OrderIn)
ReturnsBody = one_or_many(ReturnIn)


def _events_kind(value: Any) -> str:
    """``named`` for playbooks' events (a ``name`` and no ``type``, judged by the first of a
    batch: one request holds one kind), else ``typed``, the records told apart by type."""
    first = value[0] if isinstance(value, list) and value else value
    if isinstance(first, NamedEvent) or (
            isinstance(first, dict) and "name" in first and "type" not in first):
        return "named"
    return "typed"


def _records_or_events(typed: Any, named: Any) -> Any:
    return Annotated[Annotated[typed, Tag("typed")] | Annotated[named, Tag("named")],
                     Discriminator(_events_kind)]


EventsBody = _records_or_events(one_or_many(EventIn), one_or_many(NamedEvent))


def typed_row(record: BaseModel) -> dict[str, Any]:
    """A record of customers, orders or returns as the store keeps it (``Ingest.run``'s
    ``typed``): the row its check typed."""
    row = getattr(record, "_row", None)
    if row is None:  # not a checked record model
        raise TypeError(type(record).__name__)
    return dict(row)


def event_record(event: BaseModel) -> tuple[Kind, dict[str, Any]]:
    """The input table row an event becomes."""
    data = event.model_dump()
    tag = data.pop("type")
    if tag == "abandoned_cart":
        data = {"interaction_id": data["event_id"], "customer_id": data["customer_id"],
                "at": data["at"], "channel": data["channel"], "direction": "in",
                "kind": "event", "outcome": "abandoned_cart"}
    return EVENT_KINDS[tag], data


# -- responses -------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(_utc)]
"""A moment in an answer: the store keeps UTC without an offset; answers say ``Z``."""


class FieldError(BaseModel):
    field: str
    message: str
    index: int | None = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class Merge(BaseModel):
    alias_id: str
    customer_id: str
    reason: str


class IngestOut(BaseModel):
    received: int
    added: int
    already_present: int
    duplicates_in_request: int
    customers_created: int
    customers_updated: int
    merged: list[Merge]
    ids: list[str]
    points: list[PointsLine] | None = Field(
        None, description="Points earned by the orders (or taken back by the returns) of "
                          "loyalty members; absent when none of them is a member.")


AsOfSource = Literal["last order", "clock", "given"]
AS_OF_SOURCE = ("How the map's as-of moment was chosen: the end of the day of the last order in "
                "the store (api.map_as_of = \"last_order\", the default, as regulars analyze), "
                "the clock (api.map_as_of = \"now\"), or given to POST /v1/map/rebuild; null "
                "for a map built before this was recorded.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    map_as_of: Moment | None
    map_as_of_source: AsOfSource | None = Field(None, description=AS_OF_SOURCE)
    map_customers: int
    live_pending: int = Field(
        0, description="Customers touched by ingests and not refreshed in the map yet.")


class Degraded(BaseModel):
    """The answer of ``GET /v1/health`` (503) when the store cannot be used."""

    status: Literal["degraded"]
    version: str
    database: str
    store: Literal["disk_full", "read_only", "locked", "unreachable", "auth", "missing",
                   "io"] = Field(description="Why the store cannot be used.")
    detail: str = Field(description="What is wrong and what to do, in one sentence.")


class CustomerSummary(BaseModel):
    customer_id: str
    name: str | None = Field(description="From the customer's card, as it is now.")
    email: str | None
    phone: str | None
    manager: str | None = Field(description="The responsible person, from the card.")
    tier: str | None = Field(None, description="The loyalty tier, when a member.")
    rung: str
    status: str | None
    signals: list[str]
    traits: list[str]
    rfm_segment: str | None
    orders: int
    revenue: float | None
    last_order_at: Moment | None
    days_since_last_order: float | None


class CustomerPage(BaseModel):
    items: list[CustomerSummary]
    next_cursor: str | None
    as_of: Moment | None = Field(
        None, description="The moment the map snapshot describes (a customer refreshed live "
                          "since may be later: the card says); null before the first map.")
    as_of_source: AsOfSource | None = Field(None, description=AS_OF_SOURCE)


class Predictions(BaseModel):
    p_alive: float = Field(description="The probability that the customer still buys.")
    expected_orders: float | None = Field(
        description="Orders expected in the next expected_orders_days days.")
    expected_orders_days: int | None
    next_order_expected_at: Moment | None = Field(
        description="When the next order is expected, if the customer is alive.")
    clv: float | None = Field(description="Lifetime value over the configured months.")
    value_at_risk: float | None = Field(
        description="(1 − p_alive) × the value the customer would bring if still active.")


class CustomerCard(BaseModel):
    customer_id: str
    name: str | None = Field(None, description="From the profile, as the list gives it.")
    manager: str | None = None
    email: str | None = None
    phone: str | None = None
    profile: dict[str, Any]
    rung: str | None
    status: str | None
    signals: list[str]
    traits: list[str]
    rfm: dict[str, Any] | None
    facts: dict[str, Any] | None
    predictions: Predictions | None = Field(
        None, description="The customer's predictions (docs/predictions.md), when the map "
                          "was built with them.")
    evidence: list[dict[str, Any]]
    evidence_text: list[str]
    map_as_of: Moment | None
    map_as_of_source: AsOfSource | None = Field(None, description=AS_OF_SOURCE)
    orders: list[dict[str, Any]]
    points: PointsStatement | None = Field(
        None, description="The points statement, when the customer is a loyalty member.")


class CustomerExport(BaseModel):
    customer_id: str
    exported_at: Moment
    tables: dict[str, list[dict[str, Any]]]


class Erased(BaseModel):
    customer_id: str
    erased: dict[str, int]


class MapState(BaseModel):
    as_of: Moment
    as_of_source: AsOfSource | None = Field(None, description=AS_OF_SOURCE)
    built_at: Moment
    customers: int
    not_evaluated: dict[str, str] = Field(
        default_factory=dict,
        description="What the map could not evaluate (signals, predictions), and why.")


class RebuildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Instant | None = None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "manager", "integration", "readonly"]
    name: Text = ""
    manager: Text | None = Field(
        default=None, min_length=1,
        description="Bind a key of the role manager to this manager: it sees and closes "
                    "that manager's tasks only.")


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: str
    created_at: Moment
    revoked_at: Moment | None
    replaced_by: str | None
    manager: str | None = None


class NewKey(BaseModel):
    key: str = Field(description="The key itself: shown this once, stored only as a hash.")
    record: KeyOut


def _reachable_form(url: str) -> str:
    """A URL whose host name can be looked up: a label over 63 characters, or one IDNA
    cannot encode, made every delivery fail in the resolver, retried forever."""
    host = urlsplit(url).hostname or ""
    try:
        host.encode("idna")
    except UnicodeError as e:
        raise ValueError(_("the host name {host!r} is not a valid domain name").format(
            host=host[:80])) from e
    if not host:
        raise ValueError(_("the URL names no host"))
    return url


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000),
                   AfterValidator(_reachable_form)]
    events: list[Literal["rung_changed", "status_changed", "signal_raised", "tier_changed",
                         "points_expiring"]] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: Moment
    secret: str | None = Field(None, description="Only in the answer to the subscription.")


class AuditEntry(BaseModel):
    id: int
    at: Moment
    key_id: str
    action: str
    subject: str
    status: int | None = Field(None, description="The HTTP status answered (HTTP entries only).")
    detail: str
    channel: str | None = Field(None, description="http, cli, python or web (None: not recorded).")
    use_case: str | None = None
    outcome: str | None = None


# --- playbooks (issue 20): codes as written in the playbooks files ------------------------------


class _StepOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str


class WaitStepOut(_StepOut):
    kind: Literal["wait"]
    days: int
    hours: int
    until: str | None = Field(description="HH:MM of the customer's wall clock.")


class PlaybookConditionOut(BaseModel):
    all: list[dict[str, Any]] = Field(description="Clauses that must all hold: "
                                                  "{field, <op>: value}.")
    any: list[dict[str, Any]] = Field(description="Clauses of which one must hold, when any.")


class BranchStepOut(_StepOut):
    kind: Literal["branch"]
    condition: PlaybookConditionOut
    then: str
    else_: str | None = Field(alias="else")


class SendStepOut(_StepOut):
    kind: Literal["send"]
    channel: Literal["email", "sms", "messenger"]
    template: str
    purpose: Literal["marketing", "transactional"]


class TaskStepOut(_StepOut):
    kind: Literal["task"]
    action: str
    due_in_days: int
    channel: str
    note: str | None


class AwardPointsStepOut(_StepOut):
    kind: Literal["award_points"]
    points: int
    reason: str


class IssueCouponStepOut(_StepOut):
    kind: Literal["issue_coupon"]
    reward: str


class TagStepOut(_StepOut):
    kind: Literal["tag"]
    tag: str
    remove: bool


class WebhookStepOut(_StepOut):
    kind: Literal["webhook"]
    url: str


class ExitStepOut(_StepOut):
    kind: Literal["exit"]


PlaybookStepOut = Annotated[
    WaitStepOut | BranchStepOut | SendStepOut | TaskStepOut | AwardPointsStepOut
    | IssueCouponStepOut | TagStepOut | WebhookStepOut | ExitStepOut,
    Field(discriminator="kind")]


class PlaybookTriggerOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    kind: Literal["event", "change", "date", "cadence"]
    event: str | None = None
    field: str | None = None
    to: str | None = None
    from_: str | None = Field(None, alias="from")
    base: str | None = None
    holiday: str | None = None
    attribute: str | None = None
    offset_days: int | None = None
    every: str | None = None


class PlaybookGoalOut(BaseModel):
    event: str
    days: int


class PlaybookSummaryOut(BaseModel):
    name: str
    title: str
    set: str = Field(description="communication_plan, retention, or the business's own set.")
    enabled: bool = Field(description="Whether it runs: its set is in [playbooks] enabled, "
                                      "and it is not switched off.")
    trigger: PlaybookTriggerOut
    conditions: PlaybookConditionOut
    goal: PlaybookGoalOut | None = Field(description="None: the playbook has no goal.")
    reentry: Literal["never", "after_exit", "after_days"]
    reentry_days: int
    exit_when_unmatched: bool
    control_share: float
    steps_count: int
    version: str = Field(description="A digest of what the playbook does; a journey records "
                                     "the version it entered.")
    source: str = Field(description="The file it was read from.")
    description: str


class PlaybookOut(PlaybookSummaryOut):
    steps: list[PlaybookStepOut]


class PlaybooksOut(BaseModel):
    playbooks: list[PlaybookSummaryOut]
    enabled_sets: list[str]
