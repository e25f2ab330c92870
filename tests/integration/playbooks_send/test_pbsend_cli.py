"""``regulars playbooks test-send`` against aiosmtpd, pointed at it the way the issue says:
``REGULARS_EMAIL__HOST=127.0.0.1 REGULARS_EMAIL__PORT=<port>``."""

from __future__ import annotations

import email
import email.policy
import os

import pytest
from typer.testing import CliRunner

from regulars.entrypoints.cli.app import app

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("REGULARS_") and name not in (
                "REGULARS_TEST_POSTGRES_URL", "REGULARS_LANG"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_a_test_mail_goes_to_the_server_the_environment_names(clean_env, smtp):
    handler, port = smtp
    clean_env.setenv("REGULARS_EMAIL__HOST", "127.0.0.1")
    clean_env.setenv("REGULARS_EMAIL__PORT", str(port))
    result = runner.invoke(app, ["playbooks", "test-send", "anna@example.ee"])
    assert result.exit_code == 0, result.output
    assert "sent to anna@example.ee" in result.output
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["anna@example.ee"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"] == "regulars: a test message"
    assert msg["List-Unsubscribe"] is None  # not marketing


def test_a_channel_not_configured_and_a_server_that_is_down_are_clear_errors(clean_env):
    result = runner.invoke(app, ["playbooks", "test-send", "+3725551234", "--channel", "sms"])
    assert result.exit_code == 2
    assert "the sms channel is not configured: set [messages] sms_url and secret" in (
        result.output)
    clean_env.setenv("REGULARS_EMAIL__HOST", "127.0.0.1")
    clean_env.setenv("REGULARS_EMAIL__PORT", "1")
    result = runner.invoke(app, ["playbooks", "test-send", "anna@example.ee"])
    assert result.exit_code == 1
    assert "the test message was not sent" in result.output
