"""``regulars playbooks test-send``: one test message through a channel's settings
(``[email]``, ``[messages]``), to check them before a playbook sends for real (issue 20).

Registered on the ``playbooks`` group when imported (``app.py``).
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Annotated

import typer

from regulars import bootstrap
from regulars.domain.errors import ConfigError
from regulars.entrypoints.cli.common import ConfigOpt, fail, out
from regulars.entrypoints.cli.main import handled, settings_from
from regulars.entrypoints.cli.playbooks_cmd import playbooks_app
from regulars.i18n import _
from regulars.services.playbooks.ports import ChannelError, Outgoing


class ChannelName(StrEnum):
    email = "email"
    sms = "sms"
    messenger = "messenger"


_SETTINGS = {"email": "[email] host", "sms": "[messages] sms_url and secret",
             "messenger": "[messages] messenger_url and secret"}


@playbooks_app.command("test-send", help=_(
    "Send one test message through a channel's settings ([email] for e-mail, [messages] for "
    "the SMS and messenger gateways) to check them; nothing is recorded."))
def test_send(
    to: Annotated[str, typer.Argument(help=_(
        "Where to: an e-mail address, a phone number, a messenger id."))],
    channel: Annotated[ChannelName, typer.Option(
        help=_("The channel to try."), case_sensitive=False)] = ChannelName.email,
    config: ConfigOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, None)
        found = bootstrap.playbook_channels(settings).get(channel.value)
        if found is None:
            raise ConfigError(_("the {channel} channel is not configured: set {keys}").format(
                channel=channel.value, keys=_SETTINGS[channel.value]))
        message = Outgoing(
            message_id=f"test-{secrets.token_hex(8)}", customer_id="test",
            channel=channel.value, purpose="transactional", to=to,
            subject=_("regulars: a test message"),
            text=_("This is a test message from regulars: the {channel} settings work.").format(
                channel=channel.value))
        try:
            provider_id = found.send(message)
        except ChannelError as e:
            fail(_("the test message was not sent: {detail}").format(detail=e.detail), 1)
        out.print(_("sent to {to} ({id})").format(to=to, id=provider_id), highlight=False,
                  markup=False)
