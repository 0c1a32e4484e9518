#!/usr/bin/env python3
"""Judges one run of openapi-python-client over docs/openapi.yaml (tests/openapi/client_check.sh).

    python generator_output.py LOG EXIT_STATUS SPEC PACKAGE_DIR

Fails (exit 1, each finding on stderr) when
  * the generator failed or printed any warning or error: every one of its warnings means a part
    of the document was left out of the client ("response will be omitted from generated
    client", "Endpoint will not be generated", an unparsable schema...), so none is tolerated;
  * the generated package lacks a module for an operation of the document, a `status_code ==`
    branch for a response the document lists, or a model for an object schema of
    `components/schemas` (a check of the code itself, in case a drop ever goes unannounced).

Runs with the generator's own Python (it uses the generator's snake_case, so names match).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from openapi_python_client.strings import snake_case
from ruamel.yaml import YAML  # the generator's own YAML library

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Lines of the generator's output that say something was left out or went wrong.
ALARM = re.compile(
    r"WARNING|ERROR|Warning\(s\) encountered|Error\(s\) encountered|will be omitted"
    r"|will not be generated|Unable to|Cannot|Could not|not supported|Unsupported",
    re.IGNORECASE,
)


def log_findings(log: str) -> list[str]:
    """The generator's warnings and errors, one finding each. It prints a heading block
    ("WARNING parsing POST /payments within payments.") and then the detail block."""
    blocks = [
        " ".join(line.strip() for line in block.splitlines() if line.strip())
        for block in re.split(r"\n\s*\n", log)
    ]
    blocks = [block for block in blocks if block]
    findings = []
    index = 0
    while index < len(blocks):
        text = blocks[index]
        if re.match(r"(WARNING|ERROR) parsing ", text) and index + 1 < len(blocks):
            index += 1
            text = f"{text} {blocks[index]}"
        if ALARM.search(text):
            findings.append(text)
        index += 1
    return findings


def code_findings(spec: dict, package: Path) -> tuple[list[str], int, int, int]:
    """What the document describes but the generated package lacks; and the counts checked."""
    findings = []
    modules = {p.stem: p for p in package.glob("api/*/*.py") if p.stem != "__init__"}
    operations = responses = 0
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            operations += 1
            name = snake_case(op["operationId"])
            where = f"{method.upper()} {path} ({op['operationId']})"
            module = modules.get(name)
            if module is None:
                findings.append(f"{where}: no module api/*/{name}.py in the generated client")
                continue
            code = module.read_text(encoding="utf-8")
            for status in op.get("responses") or {}:
                responses += 1
                if f"response.status_code == {int(status)}:" not in code:
                    findings.append(
                        f"{where}: the generated client does not parse response {status}"
                    )
    models = {p.stem for p in package.glob("models/*.py")}
    schemas = 0
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        if schema.get("type") == "object":
            schemas += 1
            if snake_case(name) not in models:
                findings.append(f"schema {name}: no model models/{snake_case(name)}.py")
    return findings, operations, responses, schemas


def main(argv: list[str]) -> int:
    log_path, exit_status, spec_path, package = argv[1], int(argv[2]), argv[3], Path(argv[4])
    log = Path(log_path).read_text(encoding="utf-8", errors="replace")
    findings = []
    if exit_status != 0:
        findings.append(f"the generator exited with status {exit_status}")
    findings += [f"generator: {text}" for text in log_findings(log)]
    if not (package / "__init__.py").is_file():
        findings.append(f"no package generated at {package}")
        counts = (0, 0, 0)
    else:
        spec = YAML(typ="safe").load(Path(spec_path).read_text(encoding="utf-8"))
        more, *counts = code_findings(spec, package)
        findings += more
    if findings:
        for finding in findings:
            print(f"client: {finding}", file=sys.stderr)
        print(
            f"client: {len(findings)} problem(s) generating from {spec_path} (log: {log_path})",
            file=sys.stderr,
        )
        return 1
    operations, responses, schemas = counts
    print(
        f"client: generated with no warning: {operations} operations, "
        f"{responses} responses, {schemas} object schemas"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
