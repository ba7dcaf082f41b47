"""Which URIs an app may register: redirect URIs (RFC 6749 §3.1.2, RFC 8252, RFC 9700 §4.1)
and its website (`client_uri`).

Every check answers with the reason a URI is refused, or None when it is acceptable. A URI
whose scheme FitTrackee refuses gets FitTrackee's own answer, `Invalid redirect URI scheme`;
the other reasons are this server's own, more precise ones.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

# RFC 3986 §2: unreserved, reserved and "%"; anything else (spaces, controls, "\", quotes,
# non-ASCII) must be percent-encoded, or browsers and servers disagree on what the URI is.
URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
DNS_NAME = re.compile(rf"{LABEL}(?:\.{LABEL})*\Z")
LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
LOOPBACK_V6 = ipaddress.IPv6Address("::1")

HTTP_NOT_LOOPBACK = "http is allowed only on loopback hosts (127.0.0.0/8, [::1], localhost)"
# FitTrackee 1.3.5's answer (and message) for a redirect URI whose scheme it does not accept.
INVALID_SCHEME = "Invalid redirect URI scheme"
# The schemes FitTrackee 1.3.5 accepts for non-web apps, besides http and https.
FITTRACKEE_PRIVATE_SCHEMES = frozenset({"myapp", "app", "indoorbike"})


def private_use_schemes(extra: Iterable[str] = ()) -> frozenset[str]:
    """The schemes without a period accepted for native apps: FitTrackee's, plus `extra`
    (`OAUTH2_EXTRA_REDIRECT_SCHEMES`). Reverse-domain schemes are accepted anyway."""
    return FITTRACKEE_PRIVATE_SCHEMES | {scheme.lower() for scheme in extra}


def is_loopback_host(host: str) -> bool:
    """RFC 8252 §7.3 / §8.3: a loopback IP literal, or the name `localhost`.

    `host` is the URI's host without brackets, as `urlsplit(...).hostname` gives it.
    """
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in LOOPBACK_V4
    return address == LOOPBACK_V6


def _syntax_problem(uri: str) -> str | None:
    if not uri:
        return "empty URI"
    if not URI_CHARACTERS.issuperset(uri):
        return "characters outside RFC 3986 must be percent-encoded"
    if BAD_PERCENT.search(uri):
        return "malformed percent-encoding"
    return None


def _host_problem(host: str, bracketed: bool) -> str | None:
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "invalid host"
        return None
    if not DNS_NAME.match(host):
        return "invalid host"
    if host.rpartition(".")[2].isdigit():
        # An all-numeric last label is an IPv4 address to a browser (`127.1`), so it must be
        # one written in full.
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "invalid host"
    return None


def _web_uri(uri: str) -> tuple[SplitResult | None, str | None]:
    """Split an http(s) URI and check its authority: a host, a valid port, no user info."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None, "invalid URI"
    if parts.scheme.lower() not in ("http", "https"):
        return None, "an http or https URL is required"
    if not parts.netloc:
        return None, "absolute URI with a host required"
    if "@" in parts.netloc:
        # User info in a URI is a phishing tool (`https://good.example@evil.example/`).
        return None, "user information is not allowed"
    host = parts.hostname or ""
    problem = _host_problem(host, parts.netloc.startswith("["))
    if problem:
        return None, problem
    return parts, None


def redirect_scheme_allowed(
    uri: str, private_schemes: frozenset[str] = FITTRACKEE_PRIVATE_SCHEMES
) -> bool:
    """Whether `uri` is absolute with an acceptable scheme: http, https, a reverse-domain
    private-use scheme (RFC 8252 §7.1) or one of `private_schemes`."""
    scheme, colon, _ = uri.partition(":")
    if not colon or not SCHEME.match(scheme):
        return False
    scheme = scheme.lower()
    return scheme in ("http", "https") or "." in scheme or scheme in private_schemes


def redirect_uri_problem(
    uri: str, private_schemes: frozenset[str] = FITTRACKEE_PRIVATE_SCHEMES
) -> str | None:
    """Why `uri` cannot be a registered redirect URI, or None.

    - an acceptable scheme (`redirect_scheme_allowed`), else FitTrackee's `INVALID_SCHEME`:
      https; http only on a loopback host (RFC 8252 §7.3, §8.3; RFC 9700 §4.1, §2.6), which
      a native app listens on; a private-use scheme in reverse-domain form (RFC 8252 §7.1) or
      one of `private_schemes` (FitTrackee's `myapp`, `app`, `indoorbike` and the operator's),
      with a path, for native apps. Anything else (`javascript:`, `data:`, `file:`, a
      relative reference...) is refused;
    - RFC 3986 characters, no fragment (RFC 6749 §3.1.2).
    """
    if not redirect_scheme_allowed(uri, private_schemes):
        return INVALID_SCHEME
    problem = _syntax_problem(uri)
    if problem:
        return problem
    if "#" in uri:
        return "a fragment is not allowed (RFC 6749 §3.1.2)"
    scheme, _, rest = uri.partition(":")
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        parts, problem = _web_uri(uri)
        if parts is None:
            return problem
        if scheme == "http" and not is_loopback_host(parts.hostname or ""):
            return HTTP_NOT_LOOPBACK
        return None
    if not rest.strip("/"):
        return "a private-use scheme URI needs a path (RFC 8252 §7.1)"
    return None


def website_problem(uri: str) -> str | None:
    """Why `uri` cannot be an app's website (`client_uri`), or None: an http(s) URL."""
    problem = _syntax_problem(uri)
    if problem:
        return problem
    return _web_uri(uri)[1]
