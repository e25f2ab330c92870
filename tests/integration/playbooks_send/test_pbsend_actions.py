"""The steps besides sending (issue 20): a task for the customer's manager, points and a
gift coupon through the loyalty engine, tags, a signed webhook — each once per job, each
skipped with its reason when it cannot be done, none for the control arm."""

from __future__ import annotations

import json

import pytest

from regulars import bootstrap
from regulars.domain.playbooks.model import AwardPoints, CallWebhook, CreateTask, IssueCoupon, Tag
from regulars.services.api.webhooks import verify
from regulars.services.tasks import TaskFilter

SECRET = "playbook-webhooks-0123456789abcdef012345"
LOYALTY = {"release": "immediately", "bonus_sign_up": 0,
           "rewards": [{"code": "coffee", "name": "Free coffee", "kind": "discount_coupon",
                        "points": 100, "value": 3}]}


@pytest.fixture
def world(store_url, kit):
    settings = kit.make_settings(store_url, messages={"secret": SECRET, "backoff": 0},
                                 loyalty=LOYALTY)
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    loyalty = bootstrap.open_loyalty(settings, audit_store=store)
    tasks = bootstrap.open_tasks(settings, store)
    actions = bootstrap.playbook_actions(settings, templates=kit.TEMPLATES, engine=kit.engine,
                                         store=store, tasks=tasks, loyalty=loyalty)
    yield actions, tasks, loyalty
    loyalty.close()
    store.close()


def test_a_task_for_the_manager_once_per_job_and_not_beside_a_live_one(world, kit):
    actions, tasks, _loyalty = world
    step = CreateTask(id="call", action="call_detractor", due_in_days=2, note="apologise")
    first = actions.run(kit.step_context(step, "RU1", job="t1"))
    assert first.outcome == "created"
    again = actions.run(kit.step_context(step, "RU1", job="t1"))
    assert (again.outcome, again.detail) == ("created", first.detail)  # the same task
    other = actions.run(kit.step_context(step, "RU1", job="t2"))
    assert (other.outcome, other.reason) == ("skipped", "task_exists")
    nobody = actions.run(kit.step_context(step, "NOM", job="t3"))
    assert (nobody.outcome, nobody.reason) == ("skipped", "no_manager")
    [task] = tasks.store.list_tasks(TaskFilter(), kit.AT.date())
    assert (task["customer_id"], task["owner"], task["source"], task["reason"]) == (
        "RU1", "Mari", "playbook", "greet")
    assert (task["action"], task["note"]) == ("call_detractor", "apologise")
    # due two days after the step ran, in the business's days
    assert task["due_on"].isoformat() == "2026-12-10"


def test_points_and_a_gift_coupon_once_per_job_and_members_only(world, kit):
    actions, _tasks, loyalty = world
    loyalty.enrol("RU1")
    award = AwardPoints(id="p", points=50)
    assert actions.run(kit.step_context(award, "RU1", job="p1")).outcome == "awarded"
    assert actions.run(kit.step_context(award, "RU1", job="p1")).outcome == "awarded"
    assert loyalty.find_members(member_id="RU1")[0][1].balance == 50  # once, not twice
    out = actions.run(kit.step_context(award, "ET1", job="p2"))
    assert (out.outcome, out.reason) == ("skipped", "not_member")

    coupon = IssueCoupon(id="c", reward="coffee")
    first = actions.run(kit.step_context(coupon, "RU1", job="c1"))
    again = actions.run(kit.step_context(coupon, "RU1", job="c1"))
    assert first.outcome == again.outcome == "issued"
    assert first.detail == again.detail  # the same coupon code
    assert [c.code for c in loyalty.coupons_of("RU1")] == [first.detail]
    assert loyalty.find_members(member_id="RU1")[0][1].balance == 50  # a gift spends nothing
    audit = actions.tags.api.audit_entries()
    gifts = [e for e in audit if e["use_case"] == "loyalty.gift_coupon"]
    assert [e["subject"] for e in gifts] == ["RU1", "RU1"]  # the gift, and its replay
    unknown = actions.run(kit.step_context(IssueCoupon(id="c", reward="nope"), "RU1", job="c2"))
    assert (unknown.outcome, unknown.reason) == ("failed", "loyalty_refused")


def test_tags_are_a_set(world, kit):
    actions, _tasks, _loyalty = world
    store = actions.tags
    add = Tag(id="t", tag="vip_candidate")
    assert actions.run(kit.step_context(add, "ET1", job="a")).detail == "changed"
    assert actions.run(kit.step_context(add, "ET1", job="b")).detail == "unchanged"
    assert store.tags("ET1") == ["vip_candidate"]
    drop = Tag(id="t", tag="vip_candidate", remove=True)
    assert actions.run(kit.step_context(drop, "ET1", job="c")).outcome == "tagged"
    assert store.tags("ET1") == []


def test_a_webhook_step_posts_the_journey_signed(world, kit):
    actions, _tasks, _loyalty = world
    r = kit.Receiver([502])
    try:
        out = actions.run(kit.step_context(CallWebhook(id="w", url=r.url + "/hook"), "ET1",
                                           job="w1"))
        assert out.outcome == "called"
        assert len(r.requests) == 2  # a 502, then delivered
        _path, headers, body = r.requests[-1]
        assert verify(SECRET, headers["Regulars-Signature"], body)
        assert headers["Regulars-Delivery"] == "w1"
        assert json.loads(body)["customer_id"] == "ET1"
        assert json.loads(body)["playbook"] == "greet"
    finally:
        r.close()


def test_the_control_arm_receives_nothing_and_a_dry_run_changes_nothing(world, kit):
    actions, tasks, loyalty = world
    loyalty.enrol("RU1")
    for step in (CreateTask(id="x", action="call"), AwardPoints(id="x", points=5),
                 Tag(id="x", tag="t")):
        out = actions.run(kit.step_context(step, "RU1", job=f"ctl-{step.id}", arm="control"))
        assert (out.outcome, out.reason) == ("skipped", "control")
        dry = actions.run(kit.step_context(step, "RU1", job="dry", dry_run=True))
        assert dry.outcome == "dry_run"
    assert actions.tags.tags("RU1") == []
    assert loyalty.find_members(member_id="RU1")[0][1].balance == 0
    assert tasks.store.list_tasks(TaskFilter(), kit.AT.date()) == []


def test_a_message_after_an_issue_coupon_step_names_the_coupon(store_url, smtp, kit):
    """The win-back offer: issue a coupon, then send it — the template's ``coupon``."""
    import email
    import email.policy

    from regulars.adapters.db.tables import playbook_jobs
    from regulars.domain.playbooks.model import Send

    handler, port = smtp
    settings = kit.make_settings(store_url, port, loyalty=LOYALTY)
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    loyalty = bootstrap.open_loyalty(settings, audit_store=store)
    try:
        actions = bootstrap.playbook_actions(settings, templates=kit.TEMPLATES,
                                             engine=kit.engine, store=store, loyalty=loyalty)
        loyalty.enrol("ET1")
        # the runner's jobs of the journey: the coupon step's, then the message's
        with store.writer.begin() as conn:
            conn.execute(playbook_jobs.insert(), [
                {"job_id": job, "journey_id": "jr-w", "playbook": "greet", "customer_id": "ET1",
                 "step_id": step, "seq": seq, "due_at": kit.AT.replace(tzinfo=None),
                 "status": "claimed", "attempts": 0}
                for seq, (job, step) in enumerate([("w-1", "c"), ("w-2", "m")], 1)])
        issued = actions.run(kit.step_context(IssueCoupon(id="c", reward="coffee"), "ET1",
                                              job="w-1", journey="jr-w"))
        sent = actions.run(kit.step_context(Send(id="m", channel="email", template="offer"),
                                            "ET1", job="w-2", journey="jr-w"))
        assert (issued.outcome, sent.outcome) == ("issued", "sent")
        msg = email.message_from_bytes(handler.envelopes[0].content,
                                       policy=email.policy.default)
        assert msg.get_content().strip() == f"Teie kood: {issued.detail} (coffee)"
    finally:
        loyalty.close()
        store.close()
