"""kill -9 in the middle of a send (issue 20, "never twice"): a worker process hands a mail to
a real SMTP server and dies before it can record it. Run again, the job does not send the mail
a second time (at most once: ``failed``, ``unknown_after_crash``), the server holds exactly one
copy, and the message counts towards the caps as a contact that may have happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from regulars import bootstrap
from regulars.adapters.db.playbook_messages import SqlMessageStore

WORKER = """
import sys
from datetime import UTC, datetime
from regulars import bootstrap
from regulars.domain.playbooks.model import Playbook, Send, Template, Trigger
from regulars.services.playbooks.ports import Job, Journey, Rendered, StepContext

class Engine:
    def check(self, t): return []
    def render(self, t, ctx): return Rendered("Tere", "Tere!", None)

class Templates:
    def choose(self, name, language): return Template(name, "et", "Tere!")

url, port = sys.argv[1], int(sys.argv[2])
settings = bootstrap.load_settings(database_url=url, timezone="Europe/Tallinn",
                                   email={"host": "127.0.0.1", "port": port,
                                          "sender": "shop@kohvik.ee"})
store = bootstrap.open_api_store(settings)
sender = bootstrap.playbook_sender(settings, templates=Templates(), engine=Engine(),
                                   store=store)
at = datetime(2026, 12, 8, 10, tzinfo=UTC)
step = Send(id="mail", channel="email", template="hello")
pb = Playbook(name="greet", title="g", set="x", trigger=Trigger(kind="cadence", every="year"),
              steps=(step,))
jr = Journey("jr", "greet", pb.version, "ET1", "k", "treated", at, "active")
facts = {"customer_id": "ET1", "email": "mari@example.ee", "language": "et",
         "time_zone": "Europe/Tallinn", "status": "active"}
print(sender.run(StepContext(jr, Job("crash-job", "jr", "greet", "ET1", "mail", 1, at,
                                     "claimed"), pb, step, facts, at)), flush=True)
"""


class SlowInbox:
    """Takes the whole message, then waits before answering 250: the window in which the
    sender has handed the mail over and not yet recorded it."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        self.received.set()
        await asyncio.sleep(30)
        return "250 OK"


@pytest.mark.slow
def test_kill_9_between_handing_over_and_recording_never_sends_twice(store_url, kit, tmp_path):
    settings = kit.make_settings(store_url)
    kit.add_customers(settings)
    inbox = SlowInbox()
    port = __import__("socket").socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    controller = Controller(inbox, hostname="127.0.0.1", port=number)
    controller.start()
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(bootstrap.__file__).parents[1])}
    log = tmp_path / "worker.log"
    with log.open("wb") as out, subprocess.Popen(
            [sys.executable, str(script), store_url, str(number)], env=env, stdout=out,
            stderr=subprocess.STDOUT) as worker:
        try:
            got = inbox.received.wait(60)
            assert got, log.read_text()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert worker.returncode == -signal.SIGKILL

    store = bootstrap.open_api_store(settings)
    try:
        messages = SqlMessageStore(store)
        assert messages.message("crash-job")["state"] == "sending"  # what the crash left
        sender = bootstrap.playbook_sender(settings, templates=kit.TEMPLATES,
                                           engine=kit.engine, store=store)
        # the restarted worker runs the same job again
        out = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="crash-job"))
        assert (out.outcome, out.reason) == ("failed", "unknown_after_crash")
        time.sleep(0.2)
        assert len(inbox.envelopes) == 1  # counted at the server: once
        row = messages.message("crash-job")
        assert (row["state"], row["reason"]) == ("failed", "unknown_after_crash")
        assert len(messages.in_flight("ET1")) == 1  # a cap counts it
    finally:
        store.close()
        controller.stop(no_assert=True)
