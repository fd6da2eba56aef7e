"""Delivery settings, read from ``KOTOUTUS_*`` environment variables, and the channels they make.

Nothing configured is the embedded mode: emails become ``.eml`` files and text messages
``.txt`` files under ``outbox_dir``, so nothing leaves the machine. Setting ``smtp_host``
sends email over SMTP instead.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notifications.delivery.channel import Channel, ChannelRouter
from services.notifications.delivery.message import ChannelKind
from services.notifications.delivery.retry import RetryPolicy
from services.notifications.delivery.send_window import DEFAULT_OFFSETS, SendHours
from services.notifications.delivery.sms import SmsFileChannel
from services.notifications.delivery.smtp import (
    EmlFolderChannel,
    SmtpChannel,
    SmtpSettings,
    TlsMode,
)
from services.notifications.delivery.webhook import WebhookChannel
from shared.clock import Clock, utc_now
from shared.contracts.records import MAILBOX_PATTERN


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOTOUTUS_", frozen=True, extra="ignore")

    outbox_dir: Path = Field(
        default=Path("kotoutus-data/outbox"),
        description="Embedded mode: folder of the .eml and SMS .txt files.",
    )
    mail_from: str = Field(default="kotoutus@localhost", pattern=MAILBOX_PATTERN)
    smtp_host: str | None = Field(default=None, description="Set to send email over SMTP.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: TlsMode = "starttls"
    smtp_validate_certs: bool = True
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Partner webhook URL → signing secret, as JSON: {"https://…": "…"}.',
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    retry_max_attempts: int = Field(default=5, ge=1)
    reminder_offsets: tuple[int, ...] = Field(
        default=DEFAULT_OFFSETS, description="Days before a due day to remind on, e.g. [14,3,0]."
    )
    staff_daily_digest: bool = Field(
        default=False, description="One digest per worker a day instead of single reminders."
    )
    staff_hours_start: time = time(8)
    staff_hours_end: time = time(16)
    client_hours_start: time = time(8)
    client_hours_end: time = time(20)
    official_language: Literal["fi", "sv"] = "fi"
    directory: Path | None = Field(
        default=None,
        description="TOML or JSON file: staff and partner addresses (see notifications.directory).",
    )
    dispatch_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the dispatcher looks at the clock and the log."
    )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base_seconds=self.retry_base_seconds,
            cap_seconds=self.retry_cap_seconds,
            max_attempts=self.retry_max_attempts,
        )

    @property
    def staff_hours(self) -> SendHours:
        return SendHours(start=self.staff_hours_start, end=self.staff_hours_end)

    @property
    def client_hours(self) -> SendHours:
        return SendHours(start=self.client_hours_start, end=self.client_hours_end)

    def channels(self, clock: Clock = utc_now) -> ChannelRouter:
        """The configured channels: SMTP or the .eml folder, the webhook, SMS files."""
        mail: Channel
        if self.smtp_host is None:
            folder = self.outbox_dir / "email"
            mail = EmlFolderChannel(folder, from_address=self.mail_from, clock=clock)
        else:
            mail = SmtpChannel(
                SmtpSettings(
                    host=self.smtp_host,
                    port=self.smtp_port,
                    username=self.smtp_username,
                    password=self.smtp_password,
                    tls=self.smtp_tls,
                    validate_certs=self.smtp_validate_certs,
                    ca_file=self.smtp_ca_file,
                    timeout_seconds=self.smtp_timeout_seconds,
                    from_address=self.mail_from,
                ),
                clock=clock,
            )
        channels: dict[ChannelKind, Channel] = {
            "email": mail,
            "webhook": WebhookChannel(
                self.webhook_secrets, timeout_seconds=self.webhook_timeout_seconds, clock=clock
            ),
            "sms": SmsFileChannel(self.outbox_dir / "sms", clock=clock),
        }
        return ChannelRouter(channels)
