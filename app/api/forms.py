"""Reading the OAuth2 endpoints' form bodies (urlencoded or multipart), strictly and cheaply.

RFC 6749 §3.1/§3.2: parameters must not be sent twice, and a parameter sent without a value is
treated as omitted. Limits keep a hostile body from costing much: the body as a whole is capped
by `BodyLimitMiddleware`, the number of fields and each value's length here.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FIELDS = 32
MAX_VALUE_LENGTH = 4096


class FormError(Exception):
    """The body is not a form we accept; the message says why, for the endpoint's error."""


async def read_form(
    request: Request, *, max_value_length: int = MAX_VALUE_LENGTH
) -> dict[str, str]:
    """The form's parameters, each at most once, empty ones dropped; none longer than
    `max_value_length` (a page's form may allow a longer field than the OAuth2 endpoints).

    urlencoded bodies are parsed with `parse_qsl` straight from the raw bytes (the fast path
    third-party clients take); multipart goes through Starlette, with no files allowed.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == URLENCODED:
        pairs = _urlencoded_pairs(await request.body())
    elif media_type == MULTIPART:
        pairs = await _multipart_pairs(request, max_value_length)
    else:
        raise FormError(f"the body must be {URLENCODED} or {MULTIPART}")
    return single_valued(pairs, max_value_length=max_value_length)


def _urlencoded_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise FormError("the body is not valid UTF-8") from None
    except ValueError:
        raise FormError(f"more than {MAX_FIELDS} parameters") from None


async def _multipart_pairs(request: Request, max_value_length: int) -> list[tuple[str, str]]:
    try:
        form = await request.form(
            max_files=0, max_fields=MAX_FIELDS, max_part_size=max_value_length
        )
    except HTTPException as exc:
        raise FormError(f"malformed multipart body: {exc.detail}") from None
    pairs: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise FormError("files are not accepted")
        pairs.append((key, value))
    return pairs


def single_valued(
    pairs: list[tuple[str, str]], *, max_value_length: int = MAX_VALUE_LENGTH
) -> dict[str, str]:
    """Parameters sent at most once each, none too long, empty ones dropped (RFC 6749 §3.1);
    FormError otherwise. Also the rule for the consent page's query."""
    seen: set[str] = set()
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in seen:
            raise FormError(f'"{key}" is sent more than once')
        seen.add(key)
        if len(value) > max_value_length or len(key) > MAX_VALUE_LENGTH:
            raise FormError(f'"{key[:64]}" is longer than {max_value_length} characters')
        if value:
            params[key] = value
    return params
