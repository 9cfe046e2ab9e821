"""Run-failure alerts: the message people read and the webhook POST that carries it.

Plain Python (no Dagster), so the message and the delivery are tested without a run; the run-failure sensor only
gathers the facts and logs what this module reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

WEBHOOK_TIMEOUT_SECONDS = 5.0
"""Short: a slow or dead webhook must not hold up the sensor, which evaluates every 30 seconds."""
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class RunFailure:
    """What an on-call reader needs first: which job, which run, which steps, and why."""

    job_name: str
    run_id: str
    failed_steps: tuple[str, ...]
    error: str


def run_url(webserver_url: str | None, run_id: str) -> str | None:
    return None if webserver_url is None else f"{webserver_url.rstrip('/')}/runs/{run_id}"


def failure_text(failure: RunFailure, webserver_url: str | None = None) -> str:
    """One message for the log and for chat: the facts on the first line, the error below."""
    steps = ", ".join(failure.failed_steps) or "no step (the run itself failed)"
    lines = [f"Dagster run {failure.run_id} of job {failure.job_name} failed; failed steps: {steps}."]
    link = run_url(webserver_url, failure.run_id)
    if link is not None:
        lines.append(f"Run: {link}")
    lines.append(f"Error: {_shortened(failure.error)}")
    return "\n".join(lines)


def alert_payload(failure: RunFailure, webserver_url: str | None = None) -> dict[str, object]:
    """Slack's incoming webhooks read `text`; other receivers get the same facts as fields."""
    return {
        "text": failure_text(failure, webserver_url),
        "job_name": failure.job_name,
        "run_id": failure.run_id,
        "failed_steps": list(failure.failed_steps),
        "error": _shortened(failure.error),
        "run_url": run_url(webserver_url, failure.run_id),
    }


def send_alert(
    url: str,
    payload: dict[str, object],
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
    transport: httpx.BaseTransport | None = None,
) -> str | None:
    """POST `payload` as JSON; None once delivered, otherwise why not.

    Returns rather than raises: an alert that cannot be delivered must not fail the sensor that reports the
    original failure (which would hide it). The reason never contains the URL, which is a secret.
    """
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(url, json=payload)
    except httpx.HTTPError as error:
        return f"the webhook could not be reached: {type(error).__name__}"
    if response.is_error:
        return f"the webhook answered HTTP {response.status_code}"
    return None


def _shortened(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
