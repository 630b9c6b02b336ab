"""The blank-vhd Pulumi program: it only declares resources. Config keys are described in Pulumi.yaml.

- target `local` (default): a BlobContainer and `diskCount` BlankVhds on Azurite, through a connection string,
  and with `imagePath` set, a VhdImage: that disk image uploaded as a fixed VHD.
- target `azure`: resource group, StorageV2 account, container, BlankVhds, one managed disk imported
  from each, and optionally a Linux VM with those disks attached.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import CONFIG, get_config_env

from providers import BlankVhd, BlankVhdArgs, BlobContainer, VhdImage

# Azure's built-in "Storage Blob Data Contributor" role.
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
DEV_STORAGE = "UseDevelopmentStorage=true"

config = pulumi.Config()


def refuse_undeclared_config() -> None:
    """A key in this project's namespace that Pulumi.yaml does not declare is a typo the engine would ignore
    (`sizeGB=2` would leave the disks at the default size): fail the preview, naming the declared key."""
    project = pulumi.get_project()
    declared = list((yaml.safe_load((Path(__file__).resolve().parent / "Pulumi.yaml").read_text()) or {})
                    .get("config") or {})
    given = {*CONFIG.get(), *get_config_env()}
    for key in sorted(given):
        namespace, _, name = key.partition(":")
        if namespace != project or name in declared:
            continue
        folded = [k for k in declared if k.lower() == name.lower()]
        close = folded or difflib.get_close_matches(name, declared, n=1)
        hint = f"did you mean {project}:{close[0]}? " if close else ""
        raise pulumi.RunError(f"config {key} is not declared in Pulumi.yaml, so it would be ignored; {hint}remove it "
                              f"with `pulumi config rm {name}` (the declared keys are {', '.join(declared)}).")


refuse_undeclared_config()


def setting(value: int | None, default: int) -> int:
    return default if value is None else value


# The fallbacks repeat Pulumi.yaml's defaults, which the CLI applies but unit-test mocks do not.
size_gb = setting(config.get_int("sizeGb"), 1)
disk_count = setting(config.get_int("diskCount"), 1)
container_name = config.get("containerName") or "vhds"
image_path = config.get("imagePath") or None
image_sha256 = config.get("imageSha256") or None


def disk_args(index: int, container: pulumi.Input[str], **account: Any) -> BlankVhdArgs:
    """Arguments of disk `index`; an explicit blobName gets -<index> before .vhd when there are several."""
    blob_name = config.get("blobName") or None
    if blob_name and disk_count > 1:
        stem, dot, ext = blob_name.rpartition(".")
        blob_name = f"{stem}-{index}.{ext}" if dot else f"{blob_name}-{index}"
    return BlankVhdArgs(
        size_gb=size_gb,
        container_name=container,
        blob_name=blob_name,
        adopt_existing=config.get_bool("adoptExisting") or False,
        allow_shrink_by_replace=config.get_bool("allowShrinkByReplace") or False,
        **account,
    )


def local_disks() -> list[BlankVhd]:
    # A secret Output throughout; the fallbacks apply inside it.
    configured = config.get_secret("storageConnectionString") or pulumi.Output.secret("")
    connection_string = configured.apply(
        lambda value: value or os.environ.get("AZURE_STORAGE_CONNECTION_STRING") or DEV_STORAGE
    )
    container = BlobContainer("container", container_name=container_name, connection_string=connection_string)
    if image_path:
        image = VhdImage("image", source=image_path, source_sha256=image_sha256,
                         container_name=container.container_name, connection_string=connection_string)
        for key in ("url", "blob_name", "fingerprint", "bytes_sent", "size_bytes", "unique_id"):
            pulumi.export(f"image_{key}", getattr(image, key))
    return [
        BlankVhd(f"vhd-{i}", disk_args(i, container.container_name, connection_string=connection_string))
        for i in range(disk_count)
    ]


def azure_disks() -> list[BlankVhd]:
    from pulumi_azure_native import authorization, compute, resources, storage

    location = config.get("location") or "westeurope"
    group = resources.ResourceGroup("rg", location=location)
    account = storage.StorageAccount(
        "account",
        resource_group_name=group.name,
        location=location,
        kind="StorageV2",
        sku=storage.SkuArgs(name="Standard_LRS"),
        allow_blob_public_access=False,
        minimum_tls_version="TLS1_2",
    )
    container = storage.BlobContainer(
        "container", container_name=container_name, account_name=account.name, resource_group_name=group.name
    )
    credentials: dict[str, Any] = {}
    waits_for: list[pulumi.Resource] = [container]
    if config.get_bool("keyless") is not False:
        # The provider authenticates with DefaultAzureCredential: give the same principal blob data rights.
        client = authorization.get_client_config_output()
        waits_for.append(authorization.RoleAssignment(
            "blob-data-contributor",
            principal_id=client.object_id,
            role_definition_id=client.subscription_id.apply(
                lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                f"{BLOB_DATA_CONTRIBUTOR}"
            ),
            scope=account.id,
        ))
    else:
        keys = storage.list_storage_account_keys_output(account_name=account.name, resource_group_name=group.name)
        credentials["account_key"] = pulumi.Output.secret(keys.keys[0].value)
    # The container's name once it exists (its id is known): a preview that is about to make the container gives
    # the disks an unknown name, so their check does not refuse a container this same update creates.
    made = pulumi.Output.all(container.id, container.name).apply(lambda known: str(known[1]))
    vhds, disks = [], []
    for i in range(disk_count):
        vhd = BlankVhd(
            f"vhd-{i}",
            disk_args(i, made, storage_account_name=account.name, **credentials),
            opts=pulumi.ResourceOptions(depends_on=waits_for),
        )
        disks.append(compute.Disk(
            f"disk-{i}",
            resource_group_name=group.name,
            location=location,
            sku=compute.DiskSkuArgs(name="Standard_LRS"),
            creation_data=compute.CreationDataArgs(
                create_option="Import", source_uri=vhd.url, storage_account_id=account.id
            ),
            opts=pulumi.ResourceOptions(depends_on=[vhd]),
        ))
        vhds.append(vhd)
    pulumi.export("managed_disk_id", disks[0].id)
    pulumi.export("managed_disk_ids", [disk.id for disk in disks])
    if config.get_bool("createVm"):
        pulumi.export("vm_id", vm(group.name, location, disks).id)
    return vhds


def vm(group: pulumi.Input[str], location: str, disks: list[Any]) -> Any:
    """A small Linux VM in its own network with `disks` attached as data disks, LUN 0 upwards."""
    from pulumi_azure_native import compute, network

    ssh_key = config.get("vmSshPublicKey")
    if not ssh_key:
        raise pulumi.RunError("createVm is true but vmSshPublicKey is empty; set it to your SSH public key.")
    vnet = network.VirtualNetwork(
        "vnet", resource_group_name=group, location=location,
        address_space=network.AddressSpaceArgs(address_prefixes=["10.42.0.0/16"]),
    )
    subnet = network.Subnet(
        "subnet", resource_group_name=group, virtual_network_name=vnet.name, address_prefix="10.42.1.0/24"
    )
    nic = network.NetworkInterface(
        "nic", resource_group_name=group, location=location,
        ip_configurations=[network.NetworkInterfaceIPConfigurationArgs(
            name="ipconfig", subnet=network.SubnetArgs(id=subnet.id), private_ip_allocation_method="Dynamic"
        )],
    )
    return compute.VirtualMachine(
        "vm",
        resource_group_name=group,
        location=location,
        hardware_profile=compute.HardwareProfileArgs(vm_size=config.get("vmSize") or "Standard_B1s"),
        network_profile=compute.NetworkProfileArgs(
            network_interfaces=[compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True)]
        ),
        os_profile=compute.OSProfileArgs(
            computer_name="blank-vhd",
            admin_username="azureuser",
            linux_configuration=compute.LinuxConfigurationArgs(
                disable_password_authentication=True,
                ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                    path="/home/azureuser/.ssh/authorized_keys", key_data=ssh_key
                )]),
            ),
        ),
        storage_profile=compute.StorageProfileArgs(
            image_reference=compute.ImageReferenceArgs(
                publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
            ),
            os_disk=compute.OSDiskArgs(create_option="FromImage", delete_option="Delete"),
            data_disks=[
                compute.DataDiskArgs(
                    lun=lun, create_option="Attach", managed_disk=compute.ManagedDiskParametersArgs(id=disk.id)
                )
                for lun, disk in enumerate(disks)
            ],
        ),
    )


target = config.get("target") or "local"
if target not in ("local", "azure"):
    raise pulumi.RunError(
        f"config target {target!r} is neither local nor azure; set it with `pulumi config set target local`."
    )
if not 1 <= disk_count <= 100:
    raise pulumi.RunError(f"config diskCount {disk_count} is out of range; give 1 to 100.")
disks = local_disks() if target == "local" else azure_disks()
pulumi.export("container_name", disks[0].container_name)
pulumi.export("url", disks[0].url)
pulumi.export("blob_name", disks[0].blob_name)
pulumi.export("size_bytes", disks[0].size_bytes)
pulumi.export("unique_id", disks[0].unique_id)
pulumi.export("urls", [disk.url for disk in disks])
pulumi.export("blob_names", [disk.blob_name for disk in disks])
pulumi.export("unique_ids", [disk.unique_id for disk in disks])
