"""One canonical form of an email address, used at registration and at login alike.

Two spellings a person would call the same address must find the same account, and characters that no address
contains must never reach the database:

- control characters (NUL, newlines, C1 controls) are refused by both request schemas: PostgreSQL cannot store a
  NUL, and the OpenAPI document states the rule (`NO_CONTROL_CHARACTERS`);
- registration also refuses invisible formatting characters (zero-width and bidirectional marks) and unassigned
  code points, which let two addresses look identical;
- NFKC folds compatibility forms, so full-width look-alikes (U+FF41 for `a`, ...) and NFD sequences are the
  address they look like rather than a second account;
- the domain goes through IDNA (UTS 46): its punycode form (`xn--bcher-kva.example`) and its Unicode form
  (`bücher.example`) are one domain, kept in Unicode (the form accounts were always stored in);
- the whole address is lower-cased, as registration has always done, so `Ann@X.org` is `ann@x.org`.
"""

from __future__ import annotations

import unicodedata

import idna

NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
"""The schemas' pattern: no C0 or C1 control character and no DEL (JSON Schema regex syntax)."""
_INVISIBLE = {"Cf": "an invisible formatting character", "Cs": "a surrogate", "Cn": "an unassigned code point"}


def refuse_control_characters(value: str) -> str:
    for character in value:
        if unicodedata.category(character) == "Cc":
            raise ValueError(f"the email contains a control character (U+{ord(character):04X})")
    return value


def canonical_email(value: str) -> str:
    """The canonical address; ValueError naming what is wrong when the value cannot be an address."""
    refuse_control_characters(value)
    for character in value:
        category = unicodedata.category(character)
        if category in _INVISIBLE:
            raise ValueError(f"the email contains {_INVISIBLE[category]} (U+{ord(character):04X})")
    folded = unicodedata.normalize("NFKC", value).strip()
    local, at, domain = folded.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("an email needs a local part, an @ and a domain")
    return f"{local.lower()}@{_canonical_domain(domain)}"


def login_email(value: str) -> str:
    """The canonical address to look up. A value that could never have registered (no @, an invalid domain) is
    looked up as sent: it matches no account, so login answers the same 401 as for any unknown address."""
    refuse_control_characters(value)
    try:
        return canonical_email(value)
    except ValueError:
        return value


def _canonical_domain(domain: str) -> str:
    try:
        return idna.decode(idna.encode(domain, uts46=True))
    except (idna.IDNAError, UnicodeError) as error:
        raise ValueError(f"the email's domain {domain!r} is not a valid domain name") from error
