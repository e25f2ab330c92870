"""The worklist page on a real server and store (SQLite and PostgreSQL): a manager's open
tasks by bucket with names, an outcome recorded through the tasks service (the task leaves
the list, the contact is written, the audit names the person), snoozes, refusals next to
their field, another manager's task a 404, and names and notes shown as text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ...support.web import EVIL_NAME, csrf_token, seed_map


@pytest.fixture
def day(services, people):
    """The seeded map, and tasks: Anna K's due today, overdue and in two days; Boris's."""
    seed_map(services)
    tasks = services.tasks
    today = tasks.today()
    made = {
        "today": tasks.add(customer_id="C001", action="call", owner="Anna K",
                           note="<img src=x onerror=alert(1)>").task,
        "later": tasks.add(customer_id="C003", action="reminder", owner="Anna K",
                           due_on=today + timedelta(days=2)).task,
        "boris": tasks.add(customer_id="C002", action="call", owner="Boris").task,
    }
    return made


def task_of(services, task_id):
    return next(t for t in services.tasks.list() if t["task_id"] == task_id)


def main_of(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def section(html: str, bucket: str) -> str:
    return html.split(f'id="wl-h-{bucket}"', 1)[1].split("</section>", 1)[0]


def test_the_manager_sees_their_own_tasks_by_bucket_with_names(browser, day):
    page = browser("manager").get("/worklist")
    assert page.status_code == 200
    html = main_of(page.text)
    assert 'href="/customers/C001">Customer 1</a>' in section(html, "today")
    assert 'href="/customers/C003">Customer 3</a>' in section(html, "week")
    assert "Customer 2" not in html  # Boris's
    assert "added by hand" in html
    # the note a person typed is text, never markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


def test_an_outcome_closes_the_task_and_records_the_contact(browser, services, day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["today"]["task_id"]
    r = client.post(f"/worklist/tasks/{tid}/done",
                    data={"outcome": "no_answer", "note": "call back <b>later</b>",
                          "csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/worklist")
    page = client.get("/worklist")
    assert "Customer 1: done, no answer." in page.text  # the message
    assert f'id="task-{tid}"' not in page.text  # gone from the list
    task = task_of(services, tid)
    assert (task["state"], task["outcome"], task["note"]) == (
        "done", "no_answer", "call back <b>later</b>")
    [entry] = [e for e in services.store.audit_entries() if e["use_case"] == "tasks.done"]
    assert (entry["channel"], entry["key_id"]) == ("web", "web:manager")


def test_with_htmx_the_row_is_replaced_in_place(browser, day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["today"]["task_id"]
    r = client.post(f"/worklist/tasks/{tid}/done", data={"outcome": "reached"},
                    headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 200
    assert r.text.strip().startswith(f'<li class="wl-item wl-gone" id="task-{tid}"')
    assert "Customer 1: done, reached." in r.text
    assert "<html" not in r.text


def test_snoozing_moves_the_task_off_this_list(browser, services, day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["today"]["task_id"]
    r = client.post(f"/worklist/tasks/{tid}/snooze",
                    data={"when": "next_week", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    today = services.tasks.today()
    monday = today + timedelta(days=7 - today.weekday())
    task = task_of(services, tid)
    assert (task["state"], task["snoozed_until"]) == ("snoozed", monday.isoformat())
    assert f'id="task-{tid}"' not in client.get("/worklist").text


def test_a_bad_snooze_day_is_shown_next_to_its_field_and_nothing_changes(browser, services,
                                                                        day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["today"]["task_id"]
    for until, words in (("2000-01-01", "is not after today"), ("", "Give the day")):
        r = client.post(f"/worklist/tasks/{tid}/snooze",
                        data={"when": "date", "until": until, "csrf_token": token})
        assert r.status_code == 422
        field = re.search(rf'id="until-error-{tid}"[^>]*>([^<]*)<', r.text)
        assert field and words in field.group(1)
        assert f'id="until-{tid}" name="until" type="date"' in r.text
    task = task_of(services, tid)
    assert task["state"] == "open"


def test_an_unknown_outcome_is_refused_next_to_the_buttons(browser, day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["today"]["task_id"]
    r = client.post(f"/worklist/tasks/{tid}/done", data={"outcome": "maybe",
                                                          "csrf_token": token})
    assert r.status_code == 422
    assert "is not an outcome" in r.text


def test_a_manager_cannot_act_on_another_managers_task(browser, services, day):
    client = browser("manager")
    token = csrf_token(client.get("/worklist").text)
    tid = day["boris"]["task_id"]
    for action, data in (("done", {"outcome": "reached"}), ("snooze", {"when": "tomorrow"})):
        r = client.post(f"/worklist/tasks/{tid}/{action}", data={**data, "csrf_token": token})
        assert r.status_code == 404
        assert "Page not found" in r.text
    assert client.get("/worklist?manager=Boris").status_code == 404
    task = task_of(services, tid)
    assert task["state"] == "open"


def test_the_owner_picks_a_manager_and_acts_on_their_tasks(browser, services, day):
    client = browser("owner")
    page = client.get("/worklist?manager=Boris")
    assert page.status_code == 200
    assert '<option value="Boris" selected>' in page.text
    assert "Customer 2" in main_of(page.text)
    tid = day["boris"]["task_id"]
    r = client.post(f"/worklist/tasks/{tid}/done",
                    data={"outcome": "ordered", "manager": "Boris",
                          "csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/worklist?manager=Boris")
    assert client.get("/worklist?manager=Nobody").status_code == 404


def test_a_form_without_its_token_is_refused(browser, day):
    r = browser("manager").post(f"/worklist/tasks/{day['today']['task_id']}/done",
                                data={"outcome": "reached"})
    assert r.status_code == 403
    assert "The form has expired" in r.text


def test_a_customer_named_in_html_is_shown_as_text(browser, services, day):
    from regulars.domain.tables import Kind

    services.ingest.run([(Kind.CUSTOMERS,
                          {"customer_id": "C001", "name": EVIL_NAME, "manager": "Anna K"})])
    html = main_of(browser("manager").get("/worklist").text)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Boss&lt;/b&gt;" in html
    assert "<script>" not in html
