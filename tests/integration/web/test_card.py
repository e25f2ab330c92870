"""The customer card (``/customers/{id}``) and its forms, over HTTP as a browser sends them:
who sees which card, what it shows, and what each form writes (or refuses, writing nothing)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from ...support.web import csrf_token, seed_map

EVIL = '<img src=x onerror="alert(1)">'


@pytest.fixture
def store(services):
    """The seeded map: C000..C011, odd ones Anna K's (the manager user's), even ones Boris's;
    C001 has a return, a coupon-less loyalty membership is not set up here."""
    from regulars.domain.tables import Kind

    seed_map(services, extra=[(Kind.RETURNS, {"return_id": "R1", "order_id": "O001-1",
                                              "returned_at": datetime(2024, 3, 5, 12),
                                              "amount": 40})])
    return services


def _form(client, path: str, data: dict[str, str], **kw):
    token = csrf_token(client.get("/welcome").text)
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def _customer_row(services, cid: str) -> dict:
    return services.store.customer_card(cid)["profile"]


# -- who sees what --------------------------------------------------------------------------


def test_the_owner_sees_any_card_with_its_sections(browser, store):
    r = browser("owner").get("/customers/C001")
    assert r.status_code == 200
    html = r.text
    assert "<h1 id=\"card-heading\">Customer 1</h1>" in html
    for section in ("consent", "tags", "evidence", "predictions", "orders", "tasks",
                    "contacts"):
        assert f'id="{section}"' in html, section
    assert "Anna K" in html  # the manager
    assert '<svg id="orders-timeline"' in html  # the timeline, drawn on the server
    assert "Return " in html  # the return is marked on it


def test_a_manager_sees_their_own_customers_and_not_the_others(browser, store):
    manager = browser("manager")  # bound to "Anna K": the odd customers
    assert manager.get("/customers/C001").status_code == 200
    r = manager.get("/customers/C002")
    assert r.status_code == 404
    assert "Customer 2" not in r.text


def test_the_marketer_reads_a_card_without_its_forms_and_may_not_post(browser, store):
    marketer = browser("marketer")
    r = marketer.get("/customers/C001")
    assert r.status_code == 200
    assert 'action="/customers/C001/tags"' not in r.text
    r = _form(marketer, "/customers/C001/tags", {"tag": "vip"})
    assert r.status_code == 403
    assert _customer_row(store, "C001")["attributes"] is None


def test_a_cashier_is_refused_the_card(browser, store):
    assert browser("cashier").get("/customers/C001").status_code == 403


def test_an_unknown_customer_is_the_404_page(browser, store):
    r = browser("owner").get("/customers/NOPE")
    assert r.status_code == 404
    assert "Page not found" in r.text


def test_a_form_without_its_token_is_refused(browser, store):
    r = browser("owner").post("/customers/C001/tags", data={"tag": "vip"})
    assert r.status_code == 403
    assert _customer_row(store, "C001")["attributes"] is None


# -- what it says -----------------------------------------------------------------------------


def test_evidence_is_written_in_the_readers_language(browser, store):
    owner = browser("owner")
    en = owner.get("/customers/C000").text
    _form(owner, "/language", {"lang": "ru", "next": "/"})
    ru = owner.get("/customers/C000").text
    assert "Last order" in en or "last order" in en
    assert "Постоянный" in ru or "заказ" in ru
    assert "Evidence" not in ru


def test_the_orders_table_shows_the_latest_first_and_more_on_asking(browser, store):
    owner = browser("owner")
    html = owner.get("/customers/C000?orders=2").text
    rows = re.findall(r"<td>(O000-\d)</td>", html)
    assert rows == ["O000-5", "O000-4"]
    assert "?orders=6" in html  # show more: up to the 6 there are
    html = owner.get("/customers/C000?orders=50").text
    assert len(re.findall(r"<td>(O000-\d)</td>", html)) == 6
    assert "?orders=" not in html.split('id="orders"')[1].split("</section>")[0]


# -- the forms ---------------------------------------------------------------------------------


def test_a_tag_is_added_through_ingest_and_audited_under_the_login(browser, store):
    owner = browser("owner")
    r = _form(owner, "/customers/C001/tags", {"tag": "  vip  client "})
    assert r.status_code == 303
    assert r.headers["location"] == "/customers/C001#tags"
    assert _customer_row(store, "C001")["attributes"] == "vip client"
    entry = store.store.audit_entries(5)[0]
    assert (entry["key_id"], entry["channel"], entry["use_case"]) == (
        "web:owner", "web", "ingest")
    page = owner.get("/customers/C001").text
    assert "Tag vip client added." in page  # the flash after the redirect
    _form(owner, "/customers/C001/tags", {"tag": "b2b"})
    assert _customer_row(store, "C001")["attributes"] == "vip client;b2b"
    _form(owner, "/customers/C001/tags/remove", {"tag": "vip client"})
    assert _customer_row(store, "C001")["attributes"] == "b2b"


def test_a_bad_tag_is_shown_next_to_the_field_and_nothing_is_written(browser, store):
    owner = browser("owner")
    r = _form(owner, "/customers/C001/tags", {"tag": "a;b"})
    assert r.status_code == 422
    assert 'id="tag-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert 'value="a;b"' in r.text  # what was typed stays
    assert _customer_row(store, "C001")["attributes"] is None


def test_consent_is_changed_and_unknown_stays_unknown(browser, store):
    owner = browser("owner")
    r = _form(owner, "/customers/C001/consent", {"consent_email": "yes", "consent_sms": "no",
                                                 "consent_messenger": "", "consent_phone": ""})
    assert r.status_code == 303
    row = _customer_row(store, "C001")
    assert (row["consent_email"], row["consent_sms"], row["consent_messenger"],
            row["consent_phone"]) == (True, False, None, None)
    assert row["name"] == "Customer 1"  # the rest of the card as it was
    r = _form(owner, "/customers/C001/consent", {"consent_email": "maybe"})
    assert r.status_code == 422
    assert 'id="consent_email-error"' in r.text
    assert _customer_row(store, "C001")["consent_email"] is True


def test_a_manager_creates_a_task_of_their_own(browser, store):
    manager = browser("manager")
    day = store.tasks.today() + timedelta(days=3)
    r = _form(manager, "/customers/C001/tasks", {"action": "call", "due_on": day.isoformat(),
                                                 "note": EVIL})
    assert r.status_code == 303
    [task] = store.tasks.list()
    assert (task["owner"], task["due_on"], task["note"]) == ("Anna K", day.isoformat(), EVIL)
    assert task["created_by"] == "web:manager"
    html = manager.get("/customers/C001").text
    assert EVIL not in html
    assert "&lt;img src=x onerror=" in html


def test_a_task_due_in_the_past_is_refused_next_to_its_field(browser, store):
    owner = browser("owner")
    r = _form(owner, "/customers/C001/tasks", {"action": "call", "due_on": "2001-01-01",
                                               "note": "keep me"})
    assert r.status_code == 422
    assert 'id="task-due_on-error"' in r.text
    assert "keep me" in r.text
    assert store.tasks.list() == []
    r = _form(owner, "/customers/C001/tasks", {"action": "call", "due_on": "soon"})
    assert r.status_code == 422
    assert store.tasks.list() == []


def test_a_logged_call_is_a_contact_with_its_note(browser, store):
    manager = browser("manager")
    r = _form(manager, "/customers/C001/calls", {"outcome": "reached", "channel": "phone",
                                                 "note": "Will order next week"})
    assert r.status_code == 303
    [contact] = store.store.contact_history("C001", 10)
    assert (contact["direction"], contact["kind"], contact["outcome"], contact["manager"],
            contact["note"]) == ("out", "call", "reached", "Anna K", "Will order next week")
    assert contact["responded_at"] is not None
    [task] = store.tasks.list()
    assert (task["state"], task["outcome"]) == ("done", "reached")
    html = manager.get("/customers/C001").text
    assert "Will order next week" in html
    entry = store.store.audit_entries(1)[0]
    assert (entry["use_case"], entry["key_id"]) == ("tasks.log", "web:manager")


def test_a_call_without_an_outcome_is_refused(browser, store):
    r = _form(browser("owner"), "/customers/C001/calls", {"outcome": "", "note": "x"})
    assert r.status_code == 422
    assert 'id="call-outcome-error"' in r.text
    assert store.store.contact_history("C001", 10) == []


def test_a_manager_cannot_act_on_another_managers_customer(browser, store):
    manager = browser("manager")
    for path, data in (("/customers/C002/tags", {"tag": "x"}),
                       ("/customers/C002/calls", {"outcome": "reached"}),
                       ("/customers/C002/tasks", {"action": "call"}),
                       ("/customers/C002/consent", {"consent_email": "yes"})):
        assert _form(manager, path, data).status_code == 404, path
    assert _customer_row(store, "C002")["attributes"] is None
    assert store.tasks.list() == []


def test_htmx_gets_the_card_with_the_message_in_the_section(browser, store):
    owner = browser("owner")
    r = _form(owner, "/customers/C001/tags", {"tag": "vip"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text  # the main block only
    tags = r.text.split('id="tags"')[1].split("</section>")[0]
    assert "Tag vip added." in tags


def test_names_and_tags_that_are_html_are_shown_as_text(browser, store):
    from regulars.domain.tables import Kind

    store.ingest.run([(Kind.CUSTOMERS, {"customer_id": "C001", "name": EVIL,
                                        "manager": "Anna K"})])
    owner = browser("owner")
    _form(owner, "/customers/C001/tags", {"tag": "<script>x</script>"})
    html = owner.get("/customers/C001").text
    assert EVIL not in html and "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_the_points_statement_shows_for_a_member_only(browser, store):
    from regulars.domain.tables import Kind

    owner = browser("owner")
    assert 'id="points"' not in owner.get("/customers/C001").text
    store.loyalty.service.enrol("C001")
    store.ingest.run([(Kind.ORDERS, {"order_id": "NEW-1", "customer_id": "C001",
                                     "ordered_at": datetime.now() - timedelta(days=1),
                                     "amount": 250})])
    points = store.loyalty.card_points("C001")
    assert points["pending"] > 0
    html = owner.get("/customers/C001").text
    section = html.split('id="points"')[1].split("</section>")[0]
    assert "Balance" in section and "Pending" in section
    assert f"<dd>{points['pending']}</dd>" in section
    assert points["tier"] in section
