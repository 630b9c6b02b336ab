"""A Pulumi program in Python: a blob container, a blank disk in it and a disk uploaded from an image, through the
blank-vhd provider plugin and its generated SDK (`pulumi_blank_vhd`). The storage account comes from the
provider's configuration, set once:

    pulumi config set --secret blank-vhd:connectionString "<connection string>"

Optional config `importedBlob` + `importedSizeGb` declares a disk that already exists (made by `vhdcore blob create` or
another stack): brought in once with `pulumi import`, or by this program with `importedId` (its blob URL) set for one
`pulumi up` (the resource option `import_`).
"""

import pulumi
import pulumi_blank_vhd as blankvhd


def program() -> None:
    config = pulumi.Config()
    container = blankvhd.BlobContainer("vhds", container_name=config.require("containerName"))
    disk = blankvhd.BlankVhd("data", size_gb=config.require_int("sizeGb"), container_name=container.container_name)
    image = blankvhd.VhdImage("os", source=config.require("imagePath"), container_name=container.container_name)
    pulumi.export("diskUrl", disk.url)
    pulumi.export("diskUniqueId", disk.unique_id)
    pulumi.export("diskSizeBytes", disk.size_bytes)
    pulumi.export("imageUrl", image.url)
    pulumi.export("imageFingerprint", image.fingerprint)
    imported_blob = config.get("importedBlob")
    if imported_blob is not None:
        imported = blankvhd.BlankVhd("imported", size_gb=config.require_int("importedSizeGb"),
                                     container_name=container.container_name, blob_name=imported_blob,
                                     opts=pulumi.ResourceOptions(import_=config.get("importedId")))
        pulumi.export("importedUrl", imported.url)


if __name__ == "__main__":  # `pulumi up` runs this file as __main__; automation.py imports program()
    program()
