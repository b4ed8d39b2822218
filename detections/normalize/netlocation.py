"""``networkLocationDetails``: the named locations a sign-in matched.

Graph objects and the diagnostic export's ``properties`` carry a list of
``{networkType, networkNames}``; Log Analytics' ``NetworkLocationDetails`` column is the
same list as JSON text. ``networkType`` ``trusted`` (documented) or ``trustedNamedLocation``
(seen in exports) marks a trusted named location; ``namedNetwork`` alone says only that a
named location matched, which may be a block list, so it is not trust.
"""

from __future__ import annotations

from collections.abc import Mapping

from detections.normalize.fields import FieldError, json_type, string
from detections.normalize.nested import parse_json_text

TRUSTED_TYPES = frozenset({"trusted", "trustednamedlocation"})
MAX_NAMES = 16  # a hostile record cannot make a sign-in carry thousands of names


def network_location(value: object, field: str) -> tuple[bool | None, tuple[str, ...]]:
    """(trusted named location, the names matched); (None, ()) when the record says nothing."""
    if value is None or value == "" or value == []:
        return None, ()
    if isinstance(value, str):
        value = parse_json_text(value, field, "array")
        if value is None or value == []:
            return None, ()
    if not isinstance(value, list):
        raise FieldError(field, f"expected a list, got {json_type(value)}")
    trusted = False
    names: list[str] = []
    for i, item in enumerate(value):
        at = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise FieldError(at, f"expected an object, got {json_type(item)}")
        kind = string(item.get("networkType"), f"{at}.networkType")
        trusted |= bool(kind) and (kind or "").lower() in TRUSTED_TYPES
        raw = item.get("networkNames")
        if raw is None or raw == "":
            continue
        if not isinstance(raw, list):
            raise FieldError(f"{at}.networkNames", f"expected a list, got {json_type(raw)}")
        for j, name in enumerate(raw):
            text = string(name, f"{at}.networkNames[{j}]")
            if text and text not in names:
                names.append(text)
    return trusted, tuple(names[:MAX_NAMES])
