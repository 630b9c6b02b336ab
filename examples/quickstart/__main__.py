import pulumi

from providers import BlankVhd, BlobContainer, VhdImage

config = pulumi.Config()
# The account and its key: the secret stack config storageConnectionString (pulumi config set --secret).
container = BlobContainer("vhds", container_name=config.get("containerName") or "vhds")
disk = BlankVhd("data", size_gb=config.get_int("sizeGb") or 10, container_name=container.container_name)
pulumi.export("url", disk.url)

image_path = config.get("imagePath")  # a raw, VHD, VHDX, QCOW2, VMDK or VDI file, compressed or not
if image_path:
    image = VhdImage("os", source=image_path, container_name=container.container_name)
    pulumi.export("image_url", image.url)
