// Package disks declares a blob container, a blank disk in it and a disk uploaded from an image, through the
// blank-vhd provider plugin. The storage account comes from the provider's configuration, set once:
//
//	pulumi config set --secret blank-vhd:connectionString "<connection string>"
//
// Optional config importedBlob + importedSizeGb declares a disk that already exists (made by `vhdcore blob create` or
// another stack): brought in once with `pulumi import`, or by this program with importedId (its blob URL) set for
// one `pulumi up` (the resource option pulumi.Import).
package disks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/blank-vhd/blank-vhd/sdk/go/blankvhd"
)

// Program is the Pulumi program: pulumi.Run(Program), or an Automation API inline program.
func Program(ctx *pulumi.Context) error {
	conf := config.New(ctx, "")
	container, err := blankvhd.NewBlobContainer(ctx, "vhds", &blankvhd.BlobContainerArgs{
		ContainerName: pulumi.String(conf.Require("containerName")),
	})
	if err != nil {
		return err
	}
	disk, err := blankvhd.NewBlankVhd(ctx, "data", &blankvhd.BlankVhdArgs{
		SizeGb:        pulumi.Int(conf.RequireInt("sizeGb")),
		ContainerName: container.ContainerName,
	})
	if err != nil {
		return err
	}
	image, err := blankvhd.NewVhdImage(ctx, "os", &blankvhd.VhdImageArgs{
		Source:        pulumi.String(conf.Require("imagePath")),
		ContainerName: container.ContainerName,
	})
	if err != nil {
		return err
	}
	ctx.Export("diskUrl", disk.Url)
	ctx.Export("diskUniqueId", disk.UniqueId)
	ctx.Export("diskSizeBytes", disk.SizeBytes)
	ctx.Export("imageUrl", image.Url)
	ctx.Export("imageFingerprint", image.Fingerprint)
	if blob, err := conf.Try("importedBlob"); err == nil {
		var opts []pulumi.ResourceOption
		if id, err := conf.Try("importedId"); err == nil {
			opts = append(opts, pulumi.Import(pulumi.ID(id)))
		}
		imported, err := blankvhd.NewBlankVhd(ctx, "imported", &blankvhd.BlankVhdArgs{
			SizeGb:        pulumi.Int(conf.RequireInt("importedSizeGb")),
			ContainerName: container.ContainerName,
			BlobName:      pulumi.String(blob),
		}, opts...)
		if err != nil {
			return err
		}
		ctx.Export("importedUrl", imported.Url)
	}
	return nil
}
