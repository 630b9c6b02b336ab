// Command automation runs the program of package disks through the Go Automation API: the program runs inline, in
// this process, so no Go language host is needed, only the `pulumi` CLI and the `pulumi-resource-blank-vhd`
// plugin on PATH. One operation per run, given as JSON on stdin (config values are strings; secretConfig is stored
// encrypted; stdin keeps credentials off the command line):
//
//	echo '{"stack": "dev", "workDir": ".", "action": "up", "config": {"containerName": "vhds"},
//	       "secretConfig": {"blank-vhd:connectionString": "..."}}' | go run ./automation
//
// action: up | preview | destroy | remove. Prints one JSON line: the stack's outputs (secret ones as
// "[secret]") and the engine's steps; the CLI's own output and the engine events go to stderr. Exit 3: the
// operation failed (the CLI's error is on stderr).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/blank-vhd/blank-vhd/examples/go/disks"
)

type spec struct {
	Stack        string            `json:"stack"`
	WorkDir      string            `json:"workDir"`
	Action       string            `json:"action"`
	Config       map[string]string `json:"config"`
	SecretConfig map[string]string `json:"secretConfig"`
	RemoveConfig []string          `json:"removeConfig"`
}

type step struct {
	Op    string   `json:"op"`
	Type  string   `json:"type"`
	Name  string   `json:"name"`
	Diffs []string `json:"diffs"`
}

func main() {
	var s spec
	if err := json.NewDecoder(os.Stdin).Decode(&s); err != nil {
		fmt.Fprintf(os.Stderr, "automation: stdin holds no JSON spec: %v\n", err)
		os.Exit(2)
	}
	os.Exit(run(context.Background(), s))
}

func run(ctx context.Context, s spec) int {
	stack, err := auto.UpsertStackInlineSource(ctx, s.Stack, "blank-vhd-go", disks.Program, auto.WorkDir(s.WorkDir))
	if err != nil {
		return fail(err)
	}
	config := auto.ConfigMap{}
	for key, value := range s.Config {
		config[key] = auto.ConfigValue{Value: value}
	}
	for key, value := range s.SecretConfig {
		config[key] = auto.ConfigValue{Value: value, Secret: true}
	}
	if err := stack.SetAllConfig(ctx, config); err != nil {
		return fail(err)
	}
	if len(s.RemoveConfig) > 0 {
		if err := stack.RemoveAllConfig(ctx, s.RemoveConfig); err != nil {
			return fail(err)
		}
	}
	var steps []step
	stream := make(chan events.EngineEvent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for event := range stream {
			if text, err := json.Marshal(event); err == nil {
				fmt.Fprintf(os.Stderr, "event: %s\n", text)
			}
			if pre := event.ResourcePreEvent; pre != nil {
				diffs := append([]string{}, pre.Metadata.Diffs...)
				sort.Strings(diffs)
				urn := pre.Metadata.URN
				steps = append(steps, step{Op: string(pre.Metadata.Op), Type: pre.Metadata.Type,
					Name: urn[strings.LastIndex(urn, "::")+2:], Diffs: diffs})
			}
		}
	}()
	switch s.Action {
	case "up":
		_, err = stack.Up(ctx, optup.EventStreams(stream), optup.ProgressStreams(os.Stderr), optup.Color("never"))
	case "preview":
		_, err = stack.Preview(ctx, optpreview.EventStreams(stream), optpreview.Diff(),
			optpreview.ProgressStreams(os.Stderr), optpreview.Color("never"))
	case "destroy":
		_, err = stack.Destroy(ctx, optdestroy.EventStreams(stream), optdestroy.ProgressStreams(os.Stderr),
			optdestroy.Color("never"))
	case "remove":
		close(stream)
		<-done
		if err := stack.Workspace().RemoveStack(ctx, s.Stack); err != nil {
			return fail(err)
		}
		fmt.Println("{}")
		return 0
	default:
		fmt.Fprintf(os.Stderr, "automation: action %q: give up, preview, destroy or remove\n", s.Action)
		return 2
	}
	<-done // the Automation API closes the event channel when the operation ends
	if err != nil {
		return fail(err)
	}
	outputs := map[string]any{}
	found, err := stack.Outputs(ctx)
	if err != nil {
		return fail(err)
	}
	for key, output := range found {
		if output.Secret {
			outputs[key] = "[secret]"
		} else {
			outputs[key] = output.Value
		}
	}
	if steps == nil {
		steps = []step{}
	}
	text, err := json.Marshal(map[string]any{"outputs": outputs, "steps": steps})
	if err != nil {
		return fail(err)
	}
	fmt.Println(string(text))
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, err)
	return 3
}
