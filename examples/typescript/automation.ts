// Runs the program in index.ts through the Node.js Automation API: the program runs inline, in this process, so
// no Node.js language host is needed, only the `pulumi` CLI and the `pulumi-resource-blank-vhd` plugin on PATH.
// One operation per run, given as JSON on stdin (config values are strings; secretConfig is stored encrypted; stdin
// keeps credentials off the command line):
//   echo '{"stack": "dev", "workDir": ".", "action": "up", "config": {"containerName": "vhds"},
//          "secretConfig": {"blank-vhd:connectionString": "..."}}' | node bin/automation.js
// action: up | preview | destroy | remove. Prints one JSON line: the stack's outputs (secret ones as
// "[secret]") and the engine's steps; the CLI's own output and the engine events go to stderr. Exit 3: the
// operation failed (the CLI's error is on stderr).
import * as fs from "fs";
import * as auto from "@pulumi/pulumi/automation";
import program = require("./index");

interface Spec {
    stack: string;
    workDir: string;
    action: "up" | "preview" | "destroy" | "remove";
    config?: Record<string, string>;
    secretConfig?: Record<string, string>;
    removeConfig?: string[];
}

interface Step {
    op: string;
    type: string;
    name: string;
    diffs: string[];
}

async function main(): Promise<number> {
    const spec: Spec = JSON.parse(fs.readFileSync(0, "utf8"));
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName: spec.stack, projectName: "blank-vhd-typescript", program },
        { workDir: spec.workDir },
    );
    const config: auto.ConfigMap = {};
    for (const [key, value] of Object.entries(spec.config ?? {})) {
        config[key] = { value };
    }
    for (const [key, value] of Object.entries(spec.secretConfig ?? {})) {
        config[key] = { value, secret: true };
    }
    await stack.setAllConfig(config);
    if (spec.removeConfig?.length) {
        await stack.removeAllConfig(spec.removeConfig);
    }
    const steps: Step[] = [];
    const onEvent = (event: auto.EngineEvent) => {
        process.stderr.write(`event: ${JSON.stringify(event)}\n`);
        const pre = event.resourcePreEvent;
        if (pre) {
            const urn = pre.metadata.urn;
            steps.push({ op: pre.metadata.op, type: pre.metadata.type, name: urn.slice(urn.lastIndexOf("::") + 2),
                         diffs: [...(pre.metadata.diffs ?? [])].sort() });
        }
    };
    const onOutput = (line: string) => process.stderr.write(line);
    try {
        switch (spec.action) {
            case "up":
                await stack.up({ onOutput, onEvent, color: "never", showSecrets: false });
                break;
            case "preview":
                await stack.preview({ onOutput, onEvent, diff: true, color: "never" });
                break;
            case "destroy":
                await stack.destroy({ onOutput, onEvent, color: "never", showSecrets: false });
                break;
            case "remove":
                await stack.workspace.removeStack(spec.stack);
                console.log("{}");
                return 0;
        }
    } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 3;
    }
    const outputs: Record<string, unknown> = {};
    for (const [key, output] of Object.entries(await stack.outputs())) {
        outputs[key] = output.secret ? "[secret]" : output.value;
    }
    console.log(JSON.stringify({ outputs, steps }));
    return 0;
}

main().then(code => process.exit(code), error => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
});
