"""Benchmark: the provider plugin's start-up, from process start to serving (the port line the engine waits for),
then to its first answers: GetSchema, and a first Check of a BlankVhd (which loads the core providers and vhdcore).
The plugin is the one from this checkout (tools/bin/pulumi-resource-blank-vhd, what the console script runs).

    venv/bin/python bench/bench_plugin_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "tools" / "bin" / "pulumi-resource-blank-vhd"


def one_start() -> tuple[float, float, float]:
    """Seconds from the process start to its port line, to GetSchema's answer, and to a first Check's answer."""
    start = time.perf_counter()
    # The engine's address comes first; nothing is sent to it here.
    plugin = subprocess.Popen([PLUGIN, "127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline())
        serving = time.perf_counter() - start
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
            schema = time.perf_counter() - start
            news = struct_pb2.Struct()
            news.update({"sizeGb": 1, "containerName": "vhds", "connectionString": "UseDevelopmentStorage=true"})
            stub.Check(provider_pb2.CheckRequest(urn="urn:pulumi:b::p::blank-vhd:index:BlankVhd::d", news=news),
                       timeout=60)
            checked = time.perf_counter() - start
    finally:
        plugin.terminate()
        plugin.wait(timeout=60)
    return serving, schema, checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    bare = statistics.median(timed_bare() for _ in range(runs))
    samples = [one_start() for _ in range(runs)]
    serving, schema, checked = (statistics.median(s[i] for s in samples) for i in range(3))
    print(f"plugin start-up (median of {runs}): serving after {serving * 1000:.0f} ms, GetSchema answered after "
          f"{schema * 1000:.0f} ms, first Check answered after {checked * 1000:.0f} ms (a bare `python -c pass`: "
          f"{bare * 1000:.0f} ms); load average {os.getloadavg()[0]:.1f}")


def timed_bare() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
