// A Pulumi program in Go (`pulumi up` with an official CLI runs it); the resources are declared in package disks,
// which automation/ runs through the Go Automation API here.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blank-vhd/blank-vhd/examples/go/disks"
)

func main() {
	pulumi.Run(disks.Program)
}
