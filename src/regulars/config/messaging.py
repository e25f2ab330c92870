"""The ``[email]`` and ``[messages]`` sections (issue 20): how playbooks send.

``[email]`` is the SMTP server mail goes through (``REGULARS_EMAIL__HOST=127.0.0.1
REGULARS_EMAIL__PORT=2525`` points it at a test server); ``[messages]`` the gateways SMS and
messenger messages are posted to (signed like every webhook), and the base of the one-click
unsubscribe links.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from regulars.i18n import _


def _http_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise ValueError(_("must be an http:// or https:// URL"))
    return value


class EmailSettings(BaseModel):
    """The ``[email]`` section: the SMTP server playbooks send e-mail through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str | None = Field(
        default=None,
        description="SMTP server's host name; unset: no e-mail is sent (such steps are "
                    "skipped with the reason no_channel).")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server's port.")
    sender: str = Field(
        default="noreply@example.com",
        description="The From address of every message (and the mailto: of List-Unsubscribe, "
                    "unless unsubscribe_mailto is set).")
    sender_name: str | None = Field(
        default=None, description="The name shown with the From address (the business's).")
    reply_to: str | None = Field(default=None, description="A Reply-To address, if any.")
    username: str | None = Field(
        default=None, description="SMTP user name; unset: no authentication.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")
    starttls: bool | None = Field(
        default=None,
        description="Upgrade the connection with STARTTLS (the server's certificate is "
                    "verified): true: always (refuse a server that cannot); false: never; "
                    "unset: when the server offers it, and always when a username is set "
                    "(a password never goes in clear).")
    ssl: bool = Field(
        default=False,
        description="Connect over TLS from the first byte (port 465); excludes starttls.")
    timeout: float = Field(default=30.0, gt=0, le=600,
                           description="Seconds to wait for the SMTP server.")
    unsubscribe_mailto: str | None = Field(
        default=None,
        description="Address of the mailto: in List-Unsubscribe; unset: the sender.")

    @model_validator(mode="after")
    def _one_tls(self) -> EmailSettings:
        if self.ssl and self.starttls is True:
            raise ValueError(_("ssl and starttls exclude each other: set starttls = false "
                               "for a server that speaks TLS from the start (port 465)"))
        return self


class MessagesSettings(BaseModel):
    """The ``[messages]`` section: SMS and messenger gateways, unsubscribe links."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sms_url: str | None = Field(
        default=None,
        description="URL of the SMS gateway: each SMS is POSTed to it as signed JSON "
                    "(like a webhook); unset: SMS steps are skipped with the reason no_channel.")
    messenger_url: str | None = Field(
        default=None,
        description="URL of the messenger gateway (a Telegram bot behind a gateway, …), "
                    "POSTed to like sms_url.")
    secret: SecretStr | None = Field(
        default=None,
        description="The key the gateways' posts and playbooks' webhook steps are signed "
                    "with (Regulars-Signature, HMAC-SHA256, as webhooks are); needed when a "
                    "gateway URL is set.")
    max_attempts: int = Field(
        default=4, ge=1, le=20,
        description="Tries of one post to a gateway: a 5xx answer or no answer is tried "
                    "again, a 4xx is not.")
    backoff: float = Field(
        default=1.0, ge=0, le=300,
        description="Seconds before the second try, doubled before each next one.")
    timeout: float = Field(default=10.0, gt=0, le=600,
                           description="Seconds to wait for a gateway's answer.")
    public_url: str | None = Field(
        default=None,
        description="The server's public base URL (https://crm.example.com): unsubscribe "
                    "links are <public_url>/unsubscribe/<token>. Unset: marketing e-mail has "
                    "only the mailto: unsubscribe.")
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="The key unsubscribe links are signed with (at least 32 characters; "
                    "changing it voids the links already sent). Unset: the server makes one "
                    "on first use and keeps it in the store.")

    @field_validator("sms_url", "messenger_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("unsubscribe_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(_("must be at least 32 characters (a random string)"))
        return value

    @model_validator(mode="after")
    def _secret_for_gateways(self) -> MessagesSettings:
        if (self.sms_url or self.messenger_url) and self.secret is None:
            raise ValueError(_("a gateway URL is set but no secret to sign its posts: set "
                               "[messages] secret"))
        return self
