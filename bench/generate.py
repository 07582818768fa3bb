"""Measure generation speed and memory beside the tools a user would otherwise pick.

Every measurement runs one whole child process and reads its wall time, its CPU
time (user plus system) and its peak resident set size from `os.wait4`. That
call returns the resource usage of the child and of the processes it waited
for, so peak memory is that of the largest single process in the tree, not a
sum.

The groups, each run side by side with its rivals interleaved, so that load
from other processes on the machine falls on all of them alike:

- **realtor**: `asyncapi-gen generate` on the Realtor spec, against
  datamodel-code-generator alone on the same payload schemas, which is the
  floor for the model step. When Node.js and npm are present, the AsyncAPI
  CLI's Python model generation runs too, installed from the npm registry into
  bench/.node.
- **check**: `asyncapi-gen check` on an unchanged tree against a full
  `generate` into an empty folder.
- **package**: the import time of the generated models and app modules, and
  the time of the generated contract suite.
- **scale**: synthetic specs from bench/synth.py at each message count, this
  tool against datamodel-code-generator alone.

Writes docs/benchmarks-generate.json and docs/benchmarks-scale.png, and prints
Markdown tables for docs/benchmarks.md.

Run from the repository root: .venv/bin/python bench/generate.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from synth import write_spec  # noqa: E402

BIN = Path(sys.executable).parent
REALTOR_SPEC = ROOT / "specs" / "realtor-connections-plus-asyncapi.yml"
REALTOR_PACKAGE = "realtor_connections_plus"
REALTOR_FLAGS = (
    "--idempotency-key",
    "BuyerLead=lead_id",
    "--idempotency-key",
    "SellerLead=lead_id",
)
# The 5,000-message spec is about 12 MiB, above the default limit of 8 MiB.
MAX_SPEC_BYTES = str(256 * 1024 * 1024)
NODE_PREFIX = ROOT / "bench" / ".node"
ASYNCAPI_CLI = "@asyncapi/cli@6.2.0"
RESULTS_JSON = ROOT / "docs" / "benchmarks-generate.json"
PLOT_PNG = ROOT / "docs" / "benchmarks-scale.png"
DEFAULT_SIZES = (10, 100, 1000, 5000)
# Sizes up to this many messages are measured `--repeat` times, larger ones once.
REPEATED_UP_TO = 100

# datamodel-code-generator options that match what generator/models.py passes to
# the library, so that the floor does the same work on the same schemas.
DCG_OPTIONS = (
    "--input-file-type",
    "jsonschema",
    "--output-model-type",
    "pydantic_v2.BaseModel",
    "--target-python-version",
    "3.11",
    "--disable-timestamp",
    "--strict-types",
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "--enum-field-as-literal",
    "one",
    "--use-annotated",
    "--field-constraints",
    "--use-union-operator",
    "--use-standard-collections",
    "--use-schema-description",
    "--use-field-description",
    "--snake-case-field",
    "--use-double-quotes",
    "--use-missing-sentinel",
    # asyncapi-gen formats its output with ruff, so the floor does too.
    "--formatters",
    "ruff-format",
)

IMPORT_SNIPPET = """
import importlib, sys, time
started = time.perf_counter()
importlib.import_module(sys.argv[1] + ".models")
importlib.import_module(sys.argv[1] + ".app")
print(time.perf_counter() - started)
"""


@dataclass
class Run:
    """Resource use of one child process."""

    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    exit_code: int
    stdout: str = field(default="", repr=False)


@dataclass
class Series:
    """Repeated runs of one command."""

    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(run.exit_code == 0 for run in self.runs)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)

    def best(self, attribute: str) -> float:
        return min(getattr(run, attribute) for run in self.runs)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "runs": [
                {k: v for k, v in asdict(run).items() if k != "stdout"}
                for run in self.runs
            ],
            "median_wall_seconds": self.median("wall_seconds"),
            "best_wall_seconds": self.best("wall_seconds"),
            "median_cpu_seconds": self.median("cpu_seconds"),
            "max_peak_rss_mib": max(run.peak_rss_mib for run in self.runs),
        }


def child_environment(extra: dict[str, str] | None) -> dict[str, str]:
    """Return the environment of a measured command.

    PYTHONDONTWRITEBYTECODE is dropped: with it, the editable install's own
    modules are compiled from source on every run, while pip compiled the
    libraries' modules when it installed them, so the two sides would not be
    measured alike. An installed asyncapi-gen has its bytecode too.
    """
    environment = {**os.environ, **(extra or {})}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def measure(
    command: Sequence[str | Path],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run `command` to completion and return its wall time, CPU time and peak RSS.

    Output goes to `log`, except stdout, which is kept for commands that print
    a measurement of their own.
    """
    started = time.perf_counter()
    with log.open("ab") as errors:
        errors.write(f"$ {' '.join(map(str, command))}\n".encode())
        errors.flush()
        process = subprocess.Popen(
            [str(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=child_environment(env),
            cwd=cwd,
        )
        assert process.stdout is not None
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if process.returncode:
        print(f"  exit {process.returncode}: see {log}", file=sys.stderr)
    return Run(
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        # Linux reports ru_maxrss in KiB.
        peak_rss_mib=usage.ru_maxrss / 1024,
        exit_code=process.returncode,
        stdout=stdout.decode("utf-8", "replace"),
    )


def extract_schemas(spec: Path, target: Path) -> Path:
    """Write the spec's component schemas as one JSON Schema file under `$defs`.

    Payloads in the Realtor spec and the synthetic specs all refer to
    `#/components/schemas/...`, so these refs move to `#/$defs/...` as well.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=loader)  # noqa: S506 - a safe loader

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            result = {key: rewrite(value) for key, value in node.items()}
            ref = result.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                result["$ref"] = "#/$defs/" + ref.removeprefix("#/components/schemas/")
            return result
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    schemas = rewrite(document["components"]["schemas"])
    data = {"$schema": "http://json-schema.org/draft-07/schema#", "$defs": schemas}
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


def tool_generate(spec: Path, output: Path, flags: Sequence[str] = ()) -> list[str]:
    return [
        str(BIN / "asyncapi-gen"),
        "generate",
        str(spec),
        "--output",
        str(output),
        "--max-spec-bytes",
        MAX_SPEC_BYTES,
        *flags,
    ]


def tool_check(spec: Path, output: Path, flags: Sequence[str] = ()) -> list[str]:
    command = tool_generate(spec, output, flags)
    command[1] = "check"
    return command


def dcg_generate(schemas: Path, output: Path) -> list[str]:
    return [
        str(BIN / "datamodel-codegen"),
        "--input",
        str(schemas),
        "--output",
        str(output),
        *DCG_OPTIONS,
    ]


class Bench:
    """Shared state of one benchmark run: its scratch folder and log."""

    def __init__(self, work: Path, repeat: int) -> None:
        self.work = work
        self.repeat = repeat
        self.log = work / "commands.log"

    def fresh(self, name: str) -> Path:
        """Return an empty scratch folder called `name`."""
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def interleaved(
        self, commands: dict[str, Any], repeat: int, *, warm_up: bool = False
    ) -> dict[str, Series]:
        """Run each command in turn, `repeat` rounds; return a series per name.

        Each value is a function that prepares its scratch folder and returns
        the command and its environment. With `warm_up`, each command first
        runs once unmeasured, which writes bytecode and fills the page cache.
        """
        series = {name: Series(name) for name in commands}
        if warm_up:
            for prepare in commands.values():
                command, env = prepare()
                measure(command, log=self.log, env=env)
        for round_index in range(repeat):
            for name, prepare in commands.items():
                command, env = prepare()
                print(f"  {name} (round {round_index + 1})", file=sys.stderr)
                series[name].runs.append(measure(command, log=self.log, env=env))
        return series


def node_tool(bench: Bench) -> tuple[Path | None, str]:
    """Install the AsyncAPI CLI into bench/.node; return its binary and a note."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return None, "Node.js or npm is not installed"
    binary = NODE_PREFIX / "node_modules" / ".bin" / "asyncapi"
    installed = NODE_PREFIX / "node_modules" / "@asyncapi" / "cli" / "package.json"
    expected_version = ASYNCAPI_CLI.rsplit("@", 1)[1]
    if (
        not installed.exists()
        or json.loads(installed.read_text())["version"] != expected_version
    ):
        print(f"installing {ASYNCAPI_CLI} into {NODE_PREFIX}", file=sys.stderr)
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund"]
            + ["--loglevel=error", ASYNCAPI_CLI],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=child_environment(node_env(bench)),
        )
        if result.returncode != 0 or not binary.exists():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"npm install {ASYNCAPI_CLI} failed: {last}"
    version = json.loads(installed.read_text())["version"]
    return binary, f"@asyncapi/cli {version}"


def node_env(bench: Bench) -> dict[str, str]:
    """Return the environment that turns the AsyncAPI CLI's analytics off.

    ASYNCAPI_METRICS=false disables its metrics recorder, and the config file
    that ASYNCAPI_METRICS_CONFIG_PATH names records the same choice, so the
    CLI neither sends data nor writes a file into the home folder.
    """
    config = bench.work / "asyncapi-analytics.json"
    settings = {
        "analyticsEnabled": "false",
        "infoMessageShown": "true",
        "userID": "benchmark",
    }
    config.write_text(json.dumps(settings), encoding="utf-8")
    return {
        "ASYNCAPI_METRICS": "false",
        "ASYNCAPI_METRICS_CONFIG_PATH": str(config),
        "CI": "true",
        "SUPPRESS_NO_CONFIG_WARNING": "1",
    }


def realtor_group(bench: Bench) -> dict[str, Any]:
    """Time the Realtor spec through this tool, dcg alone and the AsyncAPI CLI."""
    print("realtor: generate against the other tools", file=sys.stderr)
    schemas = extract_schemas(REALTOR_SPEC, bench.work / "realtor-schemas.json")
    binary, node_note = node_tool(bench)
    environment = node_env(bench)

    def ours() -> tuple[list[str], None]:
        output = bench.fresh("realtor-out")
        return tool_generate(REALTOR_SPEC, output, REALTOR_FLAGS), None

    def dcg() -> tuple[list[str], None]:
        output = bench.fresh("realtor-dcg") / "models.py"
        return dcg_generate(schemas, output), None

    commands: dict[str, Any] = {"asyncapi-gen generate": ours, "dcg alone": dcg}
    if binary is not None:

        def node() -> tuple[list[str], dict[str, str]]:
            output = bench.fresh("realtor-node")
            command = [str(binary), "generate", "models", "python", str(REALTOR_SPEC)]
            command += ["--output", str(output), "--pyDantic", "--no-interactive"]
            command += ["--packageName", "realtor_models"]
            return command, environment

        commands["AsyncAPI CLI models"] = node
    series = bench.interleaved(commands, bench.repeat, warm_up=True)
    return {
        "node": node_note,
        "series": {name: s.summary() for name, s in series.items()},
    }


def check_group(bench: Bench) -> dict[str, Any]:
    """Time `check` on an unchanged tree against a full generate."""
    print("check: unchanged tree against a full generate", file=sys.stderr)
    current = bench.fresh("check-out")
    measure(tool_generate(REALTOR_SPEC, current, REALTOR_FLAGS), log=bench.log)

    def full() -> tuple[list[str], None]:
        output = bench.fresh("check-generate")
        return tool_generate(REALTOR_SPEC, output, REALTOR_FLAGS), None

    def check() -> tuple[list[str], None]:
        return tool_check(REALTOR_SPEC, current, REALTOR_FLAGS), None

    series = bench.interleaved(
        {"generate": full, "check": check}, bench.repeat, warm_up=True
    )
    return {name: s.summary() for name, s in series.items()}


def package_group(bench: Bench) -> dict[str, Any]:
    """Time importing the generated package and running its contract suite."""
    print("package: import and contract suite", file=sys.stderr)
    output = bench.fresh("package-out")
    measure(tool_generate(REALTOR_SPEC, output, REALTOR_FLAGS), log=bench.log)
    env = {"PYTHONPATH": str(output)}
    imports = Series("import models and app")
    suite = Series("contract suite")
    # An installed package has its bytecode cached; this unmeasured run writes it.
    command = [sys.executable, "-c", IMPORT_SNIPPET, REALTOR_PACKAGE]
    measure(command, log=bench.log, env=env)
    for _ in range(bench.repeat):
        command = [sys.executable, "-c", IMPORT_SNIPPET, REALTOR_PACKAGE]
        imports.runs.append(measure(command, log=bench.log, env=env))
        tests = output / REALTOR_PACKAGE / "tests"
        command = [sys.executable, "-m", "pytest", str(tests), "-q"]
        command += ["-p", "no:cacheprovider", "--rootdir", str(output)]
        suite.runs.append(measure(command, log=bench.log, env=env))
    in_process = [float(run.stdout.strip() or "nan") for run in imports.runs]
    summary = suite.summary()
    tests_line = suite.runs[-1].stdout.strip().splitlines()[-1:] if suite.runs else []
    summary["last_line"] = tests_line[0] if tests_line else ""
    return {
        "import": {
            **imports.summary(),
            "median_in_process_seconds": statistics.median(in_process),
        },
        "contract_suite": summary,
    }


def scale_group(bench: Bench, sizes: Sequence[int]) -> list[dict[str, Any]]:
    """Time this tool and dcg alone on each synthetic spec size."""
    rows = []
    for count in sizes:
        print(f"scale: {count} messages", file=sys.stderr)
        spec = write_spec(count, bench.work / "specs")
        schemas = extract_schemas(spec, bench.work / f"schemas-{count}.json")

        def ours(spec: Path = spec) -> tuple[list[str], None]:
            return tool_generate(spec, bench.fresh("scale-out")), None

        def dcg(schemas: Path = schemas) -> tuple[list[str], None]:
            return dcg_generate(schemas, bench.fresh("scale-dcg") / "models.py"), None

        repeat = bench.repeat if count <= REPEATED_UP_TO else 1
        series = bench.interleaved({"asyncapi-gen": ours, "dcg alone": dcg}, repeat)
        # The last generate above left its output in scale-out: check it, as
        # CI would on an unchanged tree, against that generate.
        checks = Series("check")
        for _ in range(bench.repeat):
            command = tool_check(spec, bench.work / "scale-out")
            checks.runs.append(measure(command, log=bench.log))
        series["check"] = checks
        rows.append(
            {
                "messages": count,
                "repeat": repeat,
                "spec_bytes": spec.stat().st_size,
                "series": {name: s.summary() for name, s in series.items()},
            }
        )
    return rows


def machine() -> dict[str, Any]:
    """Describe the machine and the versions the numbers depend on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = shutil.which("node")
    node_version = (
        subprocess.run([node, "--version"], capture_output=True, text=True).stdout
        if node
        else ""
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "node": node_version.strip() or None,
        "packages": {
            name: metadata.version(name)
            for name in ("datamodel-code-generator", "pydantic", "ruff")
        },
    }


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def markdown(results: dict[str, Any]) -> str:
    """Return the Markdown tables of the results."""
    lines = ["### Realtor spec", ""]
    lines += ["| command | wall (median) | wall (best) | CPU | peak RSS |"]
    lines += ["|---|---:|---:|---:|---:|"]
    realtor = results["realtor"]["series"]
    for name, s in realtor.items():
        lines.append(
            f"| {name} | {s['median_wall_seconds']:.2f} s | "
            f"{s['best_wall_seconds']:.2f} s | {s['median_cpu_seconds']:.2f} s | "
            f"{s['max_peak_rss_mib']:.0f} MiB |"
        )
    ours = realtor["asyncapi-gen generate"]["median_wall_seconds"]
    floor = realtor["dcg alone"]["median_wall_seconds"]
    lines += ["", f"asyncapi-gen / dcg alone, median wall: {ratio(ours, floor):.2f}x"]

    check = results["check"]
    lines += ["", "### check against generate", ""]
    lines += ["| command | wall (median) | CPU | peak RSS |", "|---|---:|---:|---:|"]
    for name, s in check.items():
        lines.append(
            f"| {name} | {s['median_wall_seconds']:.2f} s | "
            f"{s['median_cpu_seconds']:.2f} s | {s['max_peak_rss_mib']:.0f} MiB |"
        )
    check_ratio = ratio(
        check["check"]["median_wall_seconds"], check["generate"]["median_wall_seconds"]
    )
    lines += ["", f"check / generate, median wall: {check_ratio:.2f}x"]

    package = results["package"]
    lines += ["", "### Generated package", ""]
    lines += [
        f"- import of models and app: "
        f"{package['import']['median_in_process_seconds'] * 1000:.0f} ms in process, "
        f"{package['import']['median_wall_seconds']:.2f} s as a whole process",
        f"- contract suite: {package['contract_suite']['median_wall_seconds']:.1f} s "
        f"({package['contract_suite']['last_line']})",
    ]

    lines += ["", "### Scale", ""]
    lines += [
        "| messages | runs | asyncapi-gen wall | per message | peak RSS "
        "| dcg alone wall | per message | peak RSS | wall ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = [
        "",
        "| messages | check wall | check / generate |",
        "|---:|---:|---:|",
    ]
    for row in results["scale"]:
        count = row["messages"]
        a = row["series"]["asyncapi-gen"]
        d = row["series"]["dcg alone"]
        c = row["series"]["check"]
        checks.append(
            f"| {count} | {c['median_wall_seconds']:.2f} s | "
            f"{ratio(c['median_wall_seconds'], a['median_wall_seconds']):.3f}x |"
        )
        lines.append(
            f"| {count} | {row['repeat']} | {a['median_wall_seconds']:.1f} s | "
            f"{a['median_wall_seconds'] / count * 1000:.1f} ms | "
            f"{a['max_peak_rss_mib']:.0f} MiB | {d['median_wall_seconds']:.1f} s | "
            f"{d['median_wall_seconds'] / count * 1000:.1f} ms | "
            f"{d['max_peak_rss_mib']:.0f} MiB | "
            f"{ratio(a['median_wall_seconds'], d['median_wall_seconds']):.2f}x |"
        )
    return "\n".join(lines + checks) + "\n"


def plot(rows: list[dict[str, Any]], target: Path) -> None:
    """Draw wall time and peak memory against message count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [row["messages"] for row in rows]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for name, marker in (("asyncapi-gen", "o"), ("dcg alone", "s")):
        walls = [row["series"][name]["median_wall_seconds"] for row in rows]
        peaks = [row["series"][name]["max_peak_rss_mib"] for row in rows]
        times.plot(counts, walls, marker=marker, label=name)
        memory.plot(counts, peaks, marker=marker, label=name)
    memory.axhline(1024, color="grey", linestyle="--", linewidth=1, label="1 GiB")
    for axes, label in ((times, "wall time (s)"), (memory, "peak RSS (MiB)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("messages in the spec")
        axes.set_ylabel(label)
        axes.grid(True, which="both", linewidth=0.3)
        axes.legend()
    times.set_title("Generation time")
    memory.set_title("Peak memory")
    figure.tight_layout()
    figure.savefig(target, dpi=100, metadata={"Software": None})
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        nargs="*",
        type=int,
        default=list(DEFAULT_SIZES),
        help="message counts of the synthetic specs (default: 10 100 1000 5000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help=f"rounds for every group and for sizes up to {REPEATED_UP_TO} "
        "messages; larger sizes run once (default: 3)",
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS_JSON, help="results file to write"
    )
    parser.add_argument("--plot", type=Path, default=PLOT_PNG, help="PNG to write")
    args = parser.parse_args()
    if args.repeat < 1 or any(size < 1 for size in args.sizes):
        parser.error("--repeat and every size must be at least 1")

    with tempfile.TemporaryDirectory(prefix="generate-bench-") as folder:
        bench = Bench(Path(folder), args.repeat)
        results: dict[str, Any] = {
            "machine": machine(),
            "load_average_before": os.getloadavg(),
        }
        results["realtor"] = realtor_group(bench)
        results["check"] = check_group(bench)
        results["package"] = package_group(bench)
        results["scale"] = scale_group(bench, args.sizes)
        results["load_average_after"] = os.getloadavg()
        failed = bench.log.read_text() if _any_failed(results) else ""

    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results["scale"], args.plot)
    print(markdown(results))
    print(f"wrote {args.json} and {args.plot}", file=sys.stderr)
    if failed:
        print("error: a measured command failed; its log follows", file=sys.stderr)
        print(failed[-5000:], file=sys.stderr)
        return 1
    return 0


def _any_failed(results: dict[str, Any]) -> bool:
    groups = [results["realtor"]["series"], results["check"]]
    groups += [row["series"] for row in results["scale"]]
    groups += [{"": results["package"]["import"]}]
    groups += [{"": results["package"]["contract_suite"]}]
    return any(not s["ok"] for group in groups for s in group.values())


if __name__ == "__main__":
    sys.exit(main())
