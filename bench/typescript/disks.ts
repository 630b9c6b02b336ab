// One `pulumi up` and one `pulumi destroy` of a container and N BlankVhds through the provider plugin, from an inline
// TypeScript program on the generated SDK (the Node.js Automation API), each timed around the call: the TypeScript
// row of bench/bench_plugin.py, which compiles this with examples/typescript's tsc and runs it with that example's
// node_modules. The spec is JSON on stdin (it holds the connection string):
//   {"stack": "...", "workDir": "...", "disks": 100, "connectionString": "...", "parallel": 0}
// parallel: steps the engine runs at once, 0 for its default.
// Prints {"up": seconds, "destroy": seconds}; the stack is removed after.
import * as fs from "fs";
import * as blankvhd from "@blank-vhd/pulumi";
import * as auto from "@pulumi/pulumi/automation";

interface Spec {
    stack: string;
    workDir: string;
    disks: number;
    connectionString: string;
    parallel: number;
}

async function timed(operation: () => Promise<unknown>): Promise<number> {
    const start = performance.now();
    await operation();
    return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
    const spec: Spec = JSON.parse(fs.readFileSync(0, "utf8"));
    const program = async () => {
        const container = new blankvhd.BlobContainer("container", { containerName: spec.stack });
        for (let index = 0; index < spec.disks; index++) {
            new blankvhd.BlankVhd(`vhd-${index}`, { sizeGb: 1, containerName: container.containerName });
        }
        return { disks: spec.disks };
    };
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName: spec.stack, projectName: "blank-vhd-bench-typescript", program },
        { workDir: spec.workDir },
    );
    await stack.setConfig("blank-vhd:connectionString", { value: spec.connectionString, secret: true });
    const limit = spec.parallel > 0 ? { parallel: spec.parallel } : {};
    const up = await timed(() => stack.up({ color: "never", ...limit }));
    const destroy = await timed(() => stack.destroy({ color: "never", ...limit }));
    await stack.workspace.removeStack(spec.stack);
    console.log(JSON.stringify({ up, destroy }));
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(3);
});
