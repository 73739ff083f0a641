"""Every way a call can fail, normalised: one ``UpstreamError`` with a plain-language hint.

Error bodies come in many shapes (OpenAI, AI/ML API, ``{"detail": …}``, plain text, an HTML
proxy page, an error inside a 200 or a stream); they all end up here. Keys are scrubbed from
anything shown. No Flask, no requests: pure functions over what came back.
"""

from __future__ import annotations

import email.utils
import json
import re
import time

RETRYABLE_STATUSES = {408, 409, 429} | set(range(500, 600))

# kind -> (what happened, what to do); the views add the status and the raw body.
KINDS = {
    "bad_request": ("The provider rejected the request",
                    "Check the parameters; some models do not accept every option."),
    "auth": ("The API key was rejected",
             "Check AIMLAPI_API_KEY in your .env or environment, then restart the app."),
    "credits": ("The account cannot pay for this call",
                "Top up credits or check the plan on the provider's dashboard."),
    "not_found": ("The provider does not know this model or endpoint",
                  "Check the model name against the suggestions, and the base URL."),
    "rate_limited": ("Rate limited by the provider", "Wait a moment, then run again."),
    "too_large": ("The request or reply was too large",
                  "Shorten the prompt or lower max_tokens."),
    "server": ("The provider is having trouble",
               "This is on the provider's side; try again shortly or another model."),
    "timeout": ("The provider took too long to answer",
                "Try again, choose a faster model or lower max_tokens."),
    "unreachable": ("The provider could not be reached",
                    "Check AIMLAPI_BASE_URL and your network connection."),
    "redirect": ("The provider answered with a redirect, which is not followed",
                 "Point AIMLAPI_BASE_URL at the final API address."),
    "invalid_response": ("The provider's answer was not valid chat-completions JSON",
                         "Check that AIMLAPI_BASE_URL is an OpenAI-compatible API."),
    "stream_error": ("The provider reported an error in the middle of the reply",
                     "The partial reply is kept; run again to get a complete one."),
    "incomplete": ("The reply stream ended early",
                   "The partial reply is kept; run again to get a complete one."),
}
STATUS_KINDS = {400: "bad_request", 401: "auth", 402: "credits", 403: "credits",
                404: "not_found", 408: "timeout", 413: "too_large", 422: "bad_request",
                429: "rate_limited"}


class UpstreamError(Exception):
    """A failed call, normalised from whatever shape the provider used."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, body: str = "",
                 request_id: str | None = None, retry_after: float | None = None,
                 retryable: bool = False) -> None:
        super().__init__(message)
        self.kind, self.message, self.status, self.body = kind, message, status, body
        self.request_id, self.retry_after, self.retryable = request_id, retry_after, retryable

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, ("The call failed", ""))[0]

    @property
    def hint(self) -> str:
        hint = KINDS.get(self.kind, ("", "Try again."))[1]
        if self.kind == "rate_limited" and self.retry_after:
            hint = f"The provider asks to wait {self.retry_after:g} s before the next run."
        return hint

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "status": self.status,
                "body": self.body, "request_id": self.request_id,
                "retry_after": self.retry_after}

    @classmethod
    def from_dict(cls, data: dict) -> UpstreamError:
        return cls(data.get("kind", "server"), data.get("message", ""),
                   status=data.get("status"), body=data.get("body", ""),
                   request_id=data.get("request_id"), retry_after=data.get("retry_after"))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret in text, so a key echoed by a provider is never shown."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from retry-after-ms, Retry-After seconds or an HTTP date."""
    try:
        if headers.get("retry-after-ms"):
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(when.timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, OverflowError):
        return None


def _message_from(data) -> str | None:
    """The provider's own words from any of the error-body shapes we know."""
    if isinstance(data, dict):
        for key in ("error", "detail", "message", "msg", "errors"):
            found = _message_from(data.get(key))
            if found:
                return found
        return None
    if isinstance(data, list):
        parts = [m for m in (_message_from(item) for item in data[:5]) if m]
        return "; ".join(parts) or None
    if isinstance(data, str | int | float) and str(data).strip():
        return str(data).strip()
    return None


def error_from_body(status: int | None, headers, text: str) -> UpstreamError:
    """Normalise an error response (JSON in several shapes, plain text, an HTML page)."""
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    message = _message_from(data) if data is not None else None
    if message is None and text.lstrip()[:1] == "<":
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        message = f"HTML page: {title.group(1).strip()}" if title else "an HTML page, not JSON"
    if message is None:
        message = text.strip()[:300] or "an empty body"
    error_obj = data.get("error") if isinstance(data, dict) else None
    code = error_obj.get("code") or error_obj.get("type") if isinstance(error_obj, dict) else None
    # A 200 that carries an error (in a body or mid-stream) is judged by the error's own code.
    effective = code if isinstance(code, int) and 400 <= code < 600 else status
    kind = STATUS_KINDS.get(effective, "bad_request" if 400 <= (effective or 500) < 500
                            else "server")
    quota = "quota" in str(code).lower() or "insufficient_quota" in text
    if quota:
        kind = "credits"
    request_id = headers.get("x-request-id") or headers.get("request-id")
    if not request_id and isinstance(data, dict):
        request_id = data.get("requestId") or data.get("request_id")
    should_retry = (headers.get("x-should-retry") or "").lower()
    retryable = status in RETRYABLE_STATUSES and not quota
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    return UpstreamError(kind, message[:2000], status=status, body=text,
                         request_id=str(request_id) if request_id else None,
                         retry_after=parse_retry_after(headers), retryable=retryable)
