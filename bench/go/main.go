// Command disks runs one `pulumi up` and one `pulumi destroy` of a container and N BlankVhds through the provider
// plugin, from an inline Go program on the generated SDK (the Go Automation API), each timed around the call: the Go
// row of bench/bench_plugin.py, which builds it. The spec is JSON on stdin (it holds the connection string):
//
//	{"stack": "...", "workDir": "...", "disks": 100, "connectionString": "...", "parallel": 0}
//
// parallel: steps the engine runs at once, 0 for its default.
// Prints {"up": seconds, "destroy": seconds}; the stack is removed after.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blank-vhd/blank-vhd/sdk/go/blankvhd"
)

type spec struct {
	Stack            string `json:"stack"`
	WorkDir          string `json:"workDir"`
	Disks            int    `json:"disks"`
	ConnectionString string `json:"connectionString"`
	Parallel         int    `json:"parallel"`
}

func program(s spec) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		container, err := blankvhd.NewBlobContainer(ctx, "container", &blankvhd.BlobContainerArgs{
			ContainerName: pulumi.String(s.Stack),
		})
		if err != nil {
			return err
		}
		for index := 0; index < s.Disks; index++ {
			if _, err := blankvhd.NewBlankVhd(ctx, fmt.Sprintf("vhd-%d", index), &blankvhd.BlankVhdArgs{
				SizeGb:        pulumi.Int(1),
				ContainerName: container.ContainerName,
			}); err != nil {
				return err
			}
		}
		ctx.Export("disks", pulumi.Int(s.Disks))
		return nil
	}
}

func timed(operation func() error) (float64, error) {
	start := time.Now()
	err := operation()
	return time.Since(start).Seconds(), err
}

func run() error {
	var s spec
	if err := json.NewDecoder(os.Stdin).Decode(&s); err != nil {
		return err
	}
	ctx := context.Background()
	stack, err := auto.UpsertStackInlineSource(ctx, s.Stack, "blank-vhd-bench-go", program(s), auto.WorkDir(s.WorkDir))
	if err != nil {
		return err
	}
	if err := stack.SetConfig(ctx, "blank-vhd:connectionString",
		auto.ConfigValue{Value: s.ConnectionString, Secret: true}); err != nil {
		return err
	}
	var upOptions []optup.Option
	var destroyOptions []optdestroy.Option
	if s.Parallel > 0 {
		upOptions = append(upOptions, optup.Parallel(s.Parallel))
		destroyOptions = append(destroyOptions, optdestroy.Parallel(s.Parallel))
	}
	up, err := timed(func() error { _, err := stack.Up(ctx, upOptions...); return err })
	if err != nil {
		return err
	}
	destroy, err := timed(func() error { _, err := stack.Destroy(ctx, destroyOptions...); return err })
	if err != nil {
		return err
	}
	if err := stack.Workspace().RemoveStack(ctx, s.Stack); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]float64{"up": up, "destroy": destroy})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}
