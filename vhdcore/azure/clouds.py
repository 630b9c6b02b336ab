"""The storage API version every request carries, chosen here and only here.

Pure: no Azure SDK, no request. The SDK would otherwise send its own newest version (2026-10-06 with
azure-storage-blob 12.31.1), which Azurite and Azure Stack refuse and which changes with every SDK upgrade.
API_VERSION is the oldest version that reports everything we ask for (Get Account Information's
x-ms-is-hns-enabled arrived in 2019-07-07) and the newest Azure Stack Hub accepts (update 2008 on).

Precedence: the caller's (a resource's `api_version`, `--api-version`), then the VHDCORE_STORAGE_API_VERSION
variable, then API_VERSION.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date

from ..errors import CloudError

API_VERSION = "2019-07-07"
ENV_API_VERSION = "VHDCORE_STORAGE_API_VERSION"
# The oldest version the SDK can send; it also has every operation blank-vhd uses.
OLDEST_API_VERSION = "2019-02-02"
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def api_version(explicit: str | None = None, *, environ: Mapping[str, str] = os.environ) -> str:
    """The x-ms-version to send: the caller's, else the environment's, else API_VERSION; checked."""
    if explicit is not None:
        return check_api_version(explicit)
    if from_env := environ.get(ENV_API_VERSION):
        return check_api_version(from_env, field=ENV_API_VERSION)
    return API_VERSION


def check_api_version(value: object, *, field: str = "storage API version") -> str:
    """`value` if it can be a storage API version blank-vhd works with, else CloudError naming the rule."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value) or not _is_date(value):
        raise CloudError(f"{field} {value!r} is not a date like {API_VERSION}; give a version the Storage REST API "
                         f"documents (default {API_VERSION}).")
    if value < OLDEST_API_VERSION:
        raise CloudError(f"{field} {value!r} is older than {OLDEST_API_VERSION}, the oldest storage API version the "
                         f"Azure SDK can send; use {OLDEST_API_VERSION} or newer (default {API_VERSION}).")
    return value


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
