// A Pulumi program in TypeScript: a blob container, a blank disk in it and a disk uploaded from an image, through
// the blank-vhd provider plugin. The storage account comes from the provider's configuration, set once:
//   pulumi config set --secret blank-vhd:connectionString "<connection string>"
// Optional config `importedBlob` + `importedSizeGb` declares a disk that already exists (made by `vhdcore blob create`
// or another stack): brought in once with `pulumi import`, or by this program with `importedId` (its blob URL) set
// for one `pulumi up` (the resource option `import`).
import * as pulumi from "@pulumi/pulumi";
import * as blankvhd from "@blank-vhd/pulumi";

export = async () => {
    const config = new pulumi.Config();
    const container = new blankvhd.BlobContainer("vhds", { containerName: config.require("containerName") });
    const disk = new blankvhd.BlankVhd("data", {
        sizeGb: config.requireNumber("sizeGb"),
        containerName: container.containerName,
    });
    const image = new blankvhd.VhdImage("os", { source: config.require("imagePath"), containerName: container.containerName });
    const importedBlob = config.get("importedBlob");
    const imported = importedBlob === undefined ? undefined : new blankvhd.BlankVhd("imported", {
        sizeGb: config.requireNumber("importedSizeGb"),
        containerName: container.containerName,
        blobName: importedBlob,
    }, { import: config.get("importedId") });
    return {
        diskUrl: disk.url,
        diskUniqueId: disk.uniqueId,
        diskSizeBytes: disk.sizeBytes,
        imageUrl: image.url,
        imageFingerprint: image.fingerprint,
        importedUrl: imported?.url,
    };
};
