"""The Azure clouds blank-vhd writes page blobs to, and the storage API version every request carries.

Pure data and checks: no Azure SDK, no request. A profile says where a cloud's accounts are (the endpoint
suffix; Azure Stack has one per deployment), which x-ms-version to send, the newest it accepts, and its
limits (page-blob cap, blob-name length). The names are `az cloud list`'s, plus the two Azure Stacks.

The version on the wire is chosen here and only here: the SDK would send its own newest, which Azurite and
Azure Stack refuse and which changes with every SDK upgrade.
API_VERSION (2019-07-07) is the first version whose Get Account Information reports a hierarchical namespace
and the newest Azure Stack Hub accepts (update 2008 on); the Azure Stack profiles send 2019-02-02, the newest
that Azure Stack Edge's REST documentation and Hub update 2005 list, and nothing blank-vhd does there needs
more. Precedence: the caller's (a resource's `api_version`, `--api-version`), then VHDCORE_STORAGE_API_VERSION,
then the cloud's.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from ..errors import CloudError
from ..format.sizes import SizeLimit, TiB

API_VERSION = "2019-07-07"
STACK_API_VERSION = "2019-02-02"
ENV_API_VERSION = "VHDCORE_STORAGE_API_VERSION"
# The oldest version the SDK can send; it also has every operation blank-vhd uses.
OLDEST_API_VERSION = "2019-02-02"
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Cloud:
    """One cloud's storage: where accounts are, what to send, and what it holds."""

    name: str
    endpoint_suffix: str | None  # None: each deployment has its own (Azure Stack)
    api_version: str  # sent unless the caller or the environment says otherwise
    newest_api_version: str | None  # the newest it accepts; None: whatever the SDK can send
    page_blob_max: int
    max_blob_name: int
    # Its Azure Resource Manager endpoint, for managed disks (compute.py); None: one per deployment (Azure Stack).
    resource_manager: str | None = None

    @property
    def size_limit(self) -> SizeLimit:
        return SizeLimit(self.page_blob_max, self.name)

    @property
    def is_stack(self) -> bool:
        return self.endpoint_suffix is None


AZURE_CLOUD = Cloud("AzureCloud", "core.windows.net", API_VERSION, None, 8 * TiB, 1024, "https://management.azure.com")
CLOUDS = {
    cloud.name: cloud for cloud in (
        AZURE_CLOUD,
        Cloud("AzureChinaCloud", "core.chinacloudapi.cn", API_VERSION, None, 8 * TiB, 1024,
              "https://management.chinacloudapi.cn"),
        Cloud("AzureUSGovernment", "core.usgovcloudapi.net", API_VERSION, None, 8 * TiB, 1024,
              "https://management.usgovcloudapi.net"),
        # Hub: newest 2019-07-07 from update 2008; Edge: its REST page lists up to 2019-02-02, its newer VM
        # guides set AzCopy to 2019-07-07. Both cap page blobs at 1 TiB and blob names at 880 characters.
        Cloud("AzureStackHub", None, STACK_API_VERSION, "2019-07-07", TiB, 880),
        Cloud("AzureStackEdge", None, STACK_API_VERSION, "2019-07-07", TiB, 880),
    )
}
DEFAULT_CLOUD = AZURE_CLOUD.name
_STACK_SUFFIX_HINT = "your deployment's, e.g. local.azurestack.external"


def cloud_named(name: object, *, field: str = "cloud") -> Cloud:
    """The profile called `name` (exactly as `az cloud list` spells it), else CloudError listing the names."""
    if isinstance(name, str) and name in CLOUDS:
        return CLOUDS[name]
    close = difflib.get_close_matches(str(name).lower(), [n.lower() for n in CLOUDS], n=1, cutoff=0.6)
    hint = next((f" (did you mean {n}?)" for n in CLOUDS if close and n.lower() == close[0]), "")
    raise CloudError(f"{field} {name!r} is not a cloud blank-vhd knows{hint}; use one of {', '.join(CLOUDS)}.")


def public_cloud_of(endpoint: str) -> Cloud | None:
    """The public cloud whose blob endpoints `endpoint` is one of (https://acct.blob.<suffix>), if any."""
    host = (urlsplit(endpoint).hostname or "").lower()
    return next((c for c in CLOUDS.values() if c.endpoint_suffix and host.endswith(f".blob.{c.endpoint_suffix}")),
                None)


def api_version(explicit: str | None = None, *, cloud: Cloud = AZURE_CLOUD,
                environ: Mapping[str, str] = os.environ) -> str:
    """The x-ms-version to send: the caller's, else the environment's, else the cloud's; checked against it."""
    if explicit is not None:
        return check_api_version(explicit, cloud)
    if from_env := environ.get(ENV_API_VERSION):
        return check_api_version(from_env, cloud, field=ENV_API_VERSION)
    return cloud.api_version


def check_api_version(value: object, cloud: Cloud = AZURE_CLOUD, *, field: str = "storage API version") -> str:
    """`value` if it can be a storage API version for `cloud`, else CloudError naming the rule."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value) or not _is_date(value):
        raise CloudError(f"{field} {value!r} is not a date like {cloud.api_version}; give a version the Storage "
                         f"REST API documents (default {cloud.api_version}).")
    if value < OLDEST_API_VERSION:
        raise CloudError(f"{field} {value!r} is older than {OLDEST_API_VERSION}, the oldest storage API version the "
                         f"Azure SDK can send; use {OLDEST_API_VERSION} or newer (default {cloud.api_version}).")
    if cloud.newest_api_version is not None and value > cloud.newest_api_version:
        raise CloudError(f"{field} {value!r} is newer than {cloud.name} accepts ({cloud.newest_api_version} at most, "
                         f"which it answers with 400 InvalidHeaderValue); use {cloud.api_version} (the default) or "
                         f"{cloud.newest_api_version}.")
    return value


def check_endpoint(cloud: Cloud, endpoint: str, *, explicit_cloud: bool, suffix: str | None) -> None:
    """CloudError if the blob endpoint cannot be in `cloud`: a public cloud's endpoint under another cloud, or
    an endpoint suffix that is not the cloud's."""
    owner = public_cloud_of(endpoint)
    if suffix is not None and not cloud.is_stack and suffix != cloud.endpoint_suffix:
        if explicit_cloud or owner is not None:
            raise CloudError(f"endpoint suffix {suffix!r} is not {cloud.name}'s ({cloud.endpoint_suffix}); drop it, "
                             "or set cloud to the one it belongs to.")
        raise CloudError(f"endpoint suffix {suffix!r} belongs to no public cloud; for Azure Stack set cloud to "
                         f"AzureStackHub or AzureStackEdge, else use {AZURE_CLOUD.endpoint_suffix} or the "
                         "suffix of AzureChinaCloud or AzureUSGovernment.")
    if owner is not None and owner is not cloud:
        fix = (f"give your Azure Stack account's URL or endpoint suffix ({_STACK_SUFFIX_HINT})" if cloud.is_stack
               else f"set cloud to {owner.name} or point at an account in {cloud.name}")
        raise CloudError(f"blob endpoint {endpoint} is in {owner.name} ({owner.endpoint_suffix}), not in cloud "
                         f"{cloud.name}; {fix}.")


def stack_needs_endpoint(cloud: Cloud) -> CloudError:
    return CloudError(f"cloud {cloud.name} has no standard endpoint suffix, so an account name alone says nowhere; "
                      f"give the account URL, or the endpoint suffix ({_STACK_SUFFIX_HINT}).")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True

