"""The plugin's door: property values between the engine's wire form (PropertyValue maps, camelCase names, secrets
marked) and the plain bags the core works with (Python names, numbers as floats, `Unknown` for what preview does not
know yet), exactly as the dynamic resources receive them. Nothing else differs between the two doors.

Secrets: a value the engine sent marked secret comes back marked (in every map a response holds), and so does every
property the declaration marks secret, whatever was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime.rpc import UNKNOWN

from ..common import ProviderConfig
from ..schema import CONFIG, PACKAGE, SECRET_FIELDS, camel

_CAPITAL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """The Python name of a wire name (`sizeGb` -> `size_gb`); the inverse of schema.camel for every name here."""
    return _CAPITAL.sub(r"_\1", name).lower()


def plain_value(value: PropertyValue) -> Any:
    """A PropertyValue as the core sees values: None, bool, float, str, list, dict, or Unknown."""
    inner = value.value
    if isinstance(inner, Computed) or inner == UNKNOWN:
        return Unknown()  # type: ignore[no-untyped-call]  # the SDK's marker class has no typed constructor
    if isinstance(inner, Mapping):
        return {key: plain_value(item) for key, item in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [plain_value(item) for item in inner]
    return inner  # None, bool, float, str; an asset or a resource reference is no input of ours: check refuses it


def plain(values: Mapping[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
    """A wire map as a plain bag with Python names (null values dropped, as the dynamic door drops them), and the
    Python names of the values that were secret anywhere inside."""
    bag: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in values.items():
        name = snake(key)
        if value.contains_secret():
            secret.add(name)
        if value.value is not None:
            bag[name] = plain_value(value)
    return bag, secret


def wire_value(value: Any, *, secret: bool = False) -> PropertyValue:
    """A plain value as a PropertyValue: ints as floats (the wire has only doubles), Unknown as the engine's unknown
    sentinel."""
    if isinstance(value, Unknown):
        return PropertyValue(UNKNOWN, is_secret=secret)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return PropertyValue(value, is_secret=secret)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value), is_secret=secret)
    if isinstance(value, Mapping):
        return PropertyValue({str(k): wire_value(v) for k, v in value.items()}, is_secret=secret)
    if isinstance(value, Sequence):
        return PropertyValue([wire_value(v) for v in value], is_secret=secret)
    raise TypeError(f"{type(value).__name__} is not a property value")


def wire(bag: Mapping[str, Any], secret: Iterable[str] = ()) -> dict[str, PropertyValue]:
    """A plain bag as a wire map with camelCase names; None dropped; secret: the declared secrets and `secret`."""
    marked = {*SECRET_FIELDS, *secret}
    return {camel(name): wire_value(value, secret=name in marked) for name, value in bag.items() if value is not None}


def provider_config(args: Mapping[str, PropertyValue]) -> ProviderConfig:
    """The provider config (`blank-vhd:<key>` stack config, or an explicit provider's inputs) the core takes; keys
    it does not declare are left alone (a project named blank-vhd keeps its own config in the same namespace)."""
    declared = {p.camel: p.name for p in CONFIG}
    values: dict[str, str] = {}
    for key, value in args.items():
        inner = plain_value(value)
        if key in declared and inner is not None and not isinstance(inner, Unknown):
            values[declared[key]] = str(inner)
    unknown = any(isinstance(plain_value(v), Unknown) for k, v in args.items() if k in declared)
    keys = {p.name: f"provider config {PACKAGE}:{p.camel}" for p in CONFIG}
    return ProviderConfig(values=values, keys=keys, unknown=unknown)
