"""The `[sites.X.mailbox]` settings, and `open_mailbox`, which turns them into a Mailbox.

[sites.shop.mailbox]          # the built-in sink (the default kind)
kind = "sink"
port = 8025
max_message_mb = 25           # bigger messages are refused, and reported as email_refused

[sites.shop.mailbox]          # a real inbox
kind = "imap"
host = "imap.example.com"
user = "shop-tests@example.com"
password = "${IMAP_PASSWORD}"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    from auditor.mail.mailbox import Mailbox
    from auditor.store import Store


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SinkMailboxConfig(_Model):
    """Mail sent to auditor's own SMTP sink on `host:port` (started for the run if none is running)."""

    kind: Literal["sink"] = "sink"
    host: str = Field("127.0.0.1", description="the address the sink listens on")
    port: int = Field(8025, ge=1, le=65535, description="the SMTP port the shop sends to")
    max_message_mb: float = Field(
        25, gt=0, le=2048, description="a bigger message is refused (and reported as `email_refused`)"
    )


class ImapMailboxConfig(_Model):
    """Mail read from a folder of a real IMAP account."""

    kind: Literal["imap"] = "imap"
    host: str = Field(min_length=1, description="the IMAP server")
    port: int = Field(993, ge=1, le=65535, description="993 for ssl, usually 143 for starttls or none")
    security: Literal["ssl", "starttls", "none"] = Field("ssl", description="how the connection is encrypted")
    user: str = Field(min_length=1, description="the login")
    password: SecretStr = Field(description="the password; use ${ENV_VAR} to keep it out of the file")
    folder: str = Field("INBOX", min_length=1, description="where the shop's emails land")


MailboxConfig = Annotated[SinkMailboxConfig | ImapMailboxConfig, Field(discriminator="kind")]


def open_mailbox(config: SinkMailboxConfig | ImapMailboxConfig, store: Store) -> Mailbox:
    """The Mailbox `config` describes; close it with `await mailbox.close()`.

    For the sink: when an auditor sink already answers on `host:port` (`auditor mail-sink`), the
    mailbox reads what it stores; when nothing listens there, a sink is started on that port for
    as long as the mailbox is open. Any other server on that port is an error, because the shop's
    mail would go there and never reach auditor.
    """
    # Imported here: the settings models above must stay cheap to import for auditor.config.
    from auditor.mail.imap import ImapMailbox
    from auditor.mail.mailbox import MailboxError
    from auditor.mail.sink import IDENT, MB, MailSink, SinkMailbox, sink_banner

    if isinstance(config, ImapMailboxConfig):
        return ImapMailbox(
            config.host,
            config.port,
            user=config.user,
            password=config.password.get_secret_value(),
            security=config.security,
            folder=config.folder,
        )
    banner = sink_banner(config.host, config.port)
    if banner is None:
        sink = MailSink(store, config.host, config.port, max_message_bytes=int(config.max_message_mb * MB))
        sink.start()
        return SinkMailbox(store, sink)
    if IDENT not in banner:
        raise MailboxError(
            f"another server answers on {config.host}:{config.port} ({banner!r}), so the shop's mail "
            "would not reach auditor's sink. Stop it, or set another port in [sites.X.mailbox] and "
            "point the shop's SMTP at that port."
        )
    return SinkMailbox(store)
