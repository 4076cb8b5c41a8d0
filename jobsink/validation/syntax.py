"""String formats of the Kubernetes API (apimachinery's ``util/validation``).

Each ``is_*`` function returns the list of problems (empty when valid), phrased as the apiserver
phrases them, so callers can build ``Invalid value`` errors without rewording.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

DNS1123_LABEL_MAX: Final = 63
DNS1123_SUBDOMAIN_MAX: Final = 253
QUALIFIED_NAME_MAX: Final = 63
LABEL_VALUE_MAX: Final = 63
IANA_SVC_NAME_MAX: Final = 15
TOTAL_ANNOTATION_SIZE: Final = 256 * 1024
PORT_RANGE: Final = "must be between 1 and 65535, inclusive"

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_IANA_SVC_NAME = re.compile(r"[-a-z0-9]+")
_CONFIG_MAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_DOMAIN_PATH = re.compile(r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")
#: Printable ASCII (space to tilde) but '='; one regex rather than a test per character.
_ENV_VAR_NAME = re.compile(r"[ -<>-~]+")


def _shaped(value: str, limit: int, pattern: re.Pattern[str], wording: str) -> list[str]:
    """The two checks most formats share: at most ``limit`` characters, and ``pattern``."""
    problems = []
    if len(value) > limit:
        problems.append(f"must be no more than {limit} characters")
    if not pattern.fullmatch(value):
        problems.append(wording)
    return problems


def is_dns1123_label(value: str) -> list[str]:
    return _shaped(
        value,
        DNS1123_LABEL_MAX,
        _DNS1123_LABEL,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
        "'-', and must start and end with an alphanumeric character",
    )


def is_dns1123_subdomain(value: str) -> list[str]:
    return _shaped(
        value,
        DNS1123_SUBDOMAIN_MAX,
        _DNS1123_SUBDOMAIN,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character",
    )


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or condition type: ``[prefix/]name``."""
    prefix, slash, name = value.rpartition("/")
    problems = []
    if slash:
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += [f"prefix part {p}" for p in is_dns1123_subdomain(prefix)]
    if not name:
        problems.append("name part must be non-empty")
        return problems
    if value.count("/") > 1:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character, with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    wording = (
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
        "an alphanumeric character"
    )
    return problems + [
        f"name part {p}" for p in _shaped(name, QUALIFIED_NAME_MAX, _QUALIFIED_NAME, wording)
    ]


def is_label_value(value: str) -> list[str]:
    return _shaped(
        value,
        LABEL_VALUE_MAX,
        _LABEL_VALUE,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character",
    )


def is_iana_svc_name(value: str) -> list[str]:
    """A port name: at most 15 characters, lowercase alphanumerics and single inner dashes."""
    problems = _shaped(
        value,
        IANA_SVC_NAME_MAX,
        _IANA_SVC_NAME,
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    )
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def is_env_var_name(value: str) -> list[str]:
    """Environment variable names: printable ASCII except '=' (relaxed rule, GA since 1.34)."""
    if _ENV_VAR_NAME.fullmatch(value):
        return []
    return [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]


def is_config_map_key(value: str) -> list[str]:
    problems = _shaped(
        value,
        DNS1123_SUBDOMAIN_MAX,
        _CONFIG_MAP_KEY,
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    )
    if value in (".", ".."):
        problems.append(f"must not be '{value}'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def is_domain_prefixed_path(value: str) -> list[str]:
    """``acme.io/foo``: a DNS subdomain, a slash, then URL path characters."""
    domain, slash, path = value.partition("/")
    if not slash or not domain or not path:
        return ['must be a domain-prefixed path (such as "acme.io/foo")']
    problems = is_dns1123_subdomain(domain)
    if not _DOMAIN_PATH.fullmatch(path):
        problems.append("path part must contain only URL path characters")
    return problems


def is_relative_path(value: str) -> list[str]:
    """A volume sub-path or item path: relative, without '..' elements."""
    problems = []
    if value.startswith("/"):
        problems.append("must be a relative path")
    if ".." in value.replace("\\", "/").split("/"):
        problems.append("must not contain '..'")
    return problems


IP_PROBLEM: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
