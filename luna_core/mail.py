"""Sending Luna's e-mails: over SMTP when ``LUNA_SMTP_HOST`` is set, else into a spool
directory (``data_dir/mail``, one ``.eml`` file per message) that only the operator can read,
so development and the demo need no mail server."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from luna_core.settings import Settings


def spool_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "mail"


def send(settings: Settings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@luna>"
    message.set_content(body)
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
        return
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    path.chmod(0o600)
