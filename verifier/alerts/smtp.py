"""Mail delivery over SMTP: STARTTLS or implicit TLS, AUTH with a password from a file."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from verifier.alerts.errors import DeliveryError
from verifier.config import Config, SmtpConfig, bare_address, read_secret
from verifier.errors import ConfigError


class MailRelay:
    """One SMTP session: connected, secured and authenticated once, for several messages."""

    def __init__(self, client: smtplib.SMTP, smtp: SmtpConfig) -> None:
        self._client = client
        self._smtp = smtp

    def send(self, message: bytes, recipient: str) -> None:
        """Hand one message for one recipient to the relay; DeliveryError if it refuses."""
        try:
            refused = self._client.sendmail(
                bare_address(self._smtp.sender), [bare_address(recipient)], message
            )
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{self._smtp.host}: {_describe(exc)}") from None
        if refused:
            raise DeliveryError(f"{self._smtp.host} refused {recipient}: {refused}")


def _tls_context(smtp: SmtpConfig, config: Config) -> ssl.SSLContext:
    cafile = config.source_path.resolve().parent / smtp.ca_file if smtp.ca_file else None
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


@contextmanager
def open_relay(smtp: SmtpConfig, config: Config) -> Iterator[MailRelay]:
    """Connect to the relay (TLS as configured, then AUTH); quit at the end."""
    try:
        password = read_secret(smtp.password_file, config) if smtp.password_file else None
    except ConfigError as exc:
        raise DeliveryError(str(exc)) from None
    timeout = smtp.timeout.total_seconds()
    port = smtp.effective_port
    client: smtplib.SMTP | None = None
    try:
        if smtp.tls == "implicit":
            client = smtplib.SMTP_SSL(
                smtp.host, port, timeout=timeout, context=_tls_context(smtp, config)
            )
        else:
            client = smtplib.SMTP(smtp.host, port, timeout=timeout)
            if smtp.tls == "starttls":
                client.starttls(context=_tls_context(smtp, config))
        if smtp.username and password is not None:
            client.login(smtp.username, password)
    except (smtplib.SMTPException, OSError) as exc:
        if client is not None:
            client.close()
        raise DeliveryError(f"{smtp.host}:{port}: {_describe(exc)}") from None
    try:
        yield MailRelay(client, smtp)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        return f"{exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
