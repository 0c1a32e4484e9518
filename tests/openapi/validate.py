#!/usr/bin/env python3
"""Validates docs/openapi.yaml: a valid OpenAPI 3.1 document that describes the routes paygate
implements and documents every problem code the code can answer with.

    python3 tests/openapi/validate.py [path/to/openapi.yaml]

Checks, each failure reported and the exit status non-zero:
  * the YAML parses, without duplicate keys (PyYAML would silently keep the last one);
  * openapi-spec-validator accepts it as OpenAPI 3.1;
  * exactly the expected paths and methods, each with a unique operationId, the API key on every
    operation, the bearer token with the right scope on all but the token routes, and the
    responses every operation can give (gateway 403/429/502/504, 500/503, 401 behind the
    authorizer, 400/404 with an id in the path, 400/413 with a body);
  * every problem code in shared/src/api/problem.rs, and every code the handlers pass to
    `ApiError::invalid`, appears in the document;
  * every problem response narrows `Problem` to its status and codes in the form generated
    clients can model, lists only codes the code answers with that status, and every code is
    listed under its status somewhere; every schema naming a Rust view (`PaymentView`) has
    exactly its fields; the operations are exactly infra/template.yaml's routes, the bearer
    token where the template has the authorizer (spec_vs_code.py);
  * no `type: number` anywhere (money is integer minor units, never a float);
  * every example (a component schema's `examples`, a media type's `example`) validates against
    its schema.

Needs `pip install -r tests/openapi/requirements.txt`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import spec_vs_code  # noqa: E402 - beside this file

DEFAULT_SPEC = ROOT / "docs" / "openapi.yaml"
PROBLEM_RS = ROOT / "shared" / "src" / "api" / "problem.rs"
TEMPLATE = ROOT / "infra" / "template.yaml"
# Where the API's JSON views are defined.
VIEW_SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "functions").glob("*/src"))]
# Where handlers pass 400 codes to `ApiError::invalid` (the problem mapping only sees a variable).
HANDLER_SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "functions").glob("*/src"))]

try:
    import yaml
    from openapi_spec_validator import OpenAPIV31SpecValidator
except ImportError as missing:  # pragma: no cover - environment problem
    sys.exit(
        f"openapi: missing Python module `{missing.name}`; "
        "run `python3 -m pip install -r tests/openapi/requirements.txt`"
    )

# path -> method -> (operationId, bearer scope or None when only the API key is required)
EXPECTED = {
    "/payments": {
        "post": ("createPayment", "payments:write"),
        "get": ("listPayments", "payments:read"),
    },
    "/payments/{payment_id}": {"get": ("getPayment", "payments:read")},
    "/payments/{payment_id}/confirm": {"post": ("confirmPayment", "payments:write")},
    "/payments/{payment_id}/cancel": {"post": ("cancelPayment", "payments:write")},
    "/payments/{payment_id}/refunds": {
        "post": ("createRefund", "payments:write"),
        "get": ("listRefunds", "payments:read"),
    },
    "/payments/{payment_id}/review": {"post": ("reviewPayment", "risk:review")},
    "/reviews": {"get": ("listReviews", "risk:review")},
    "/accounts": {"get": ("listAccounts", "accounts:read")},
    "/accounts/{account_id}/balance": {"get": ("getAccountBalance", "accounts:read")},
    "/accounts/{account_id}/transactions": {"get": ("listAccountTransactions", "accounts:read")},
    "/webhook_endpoints": {
        "post": ("createWebhookEndpoint", "webhooks:manage"),
        "get": ("listWebhookEndpoints", "webhooks:manage"),
    },
    "/webhook_endpoints/{endpoint_id}": {
        "get": ("getWebhookEndpoint", "webhooks:manage"),
        "delete": ("deleteWebhookEndpoint", "webhooks:manage"),
    },
    "/webhook_endpoints/{endpoint_id}/rotate_secret": {
        "post": ("rotateWebhookEndpointSecret", "webhooks:manage")
    },
    "/events": {"get": ("listEvents", "webhooks:manage")},
    "/events/{event_id}": {"get": ("getEvent", "webhooks:manage")},
    "/events/{event_id}/resend": {"post": ("resendEvent", "webhooks:manage")},
    "/oauth/token": {"post": ("issueToken", None)},
    "/.well-known/jwks.json": {"get": ("getJwks", None)},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def problem_codes() -> tuple[set[str], set[str]]:
    """The codes of shared/src/api/problem.rs, and those the handlers raise as 400s."""
    text = PROBLEM_RS.read_text(encoding="utf-8")
    # `shape(StatusCode::X, "code", "Title")`, possibly across lines.
    mapped = set(re.findall(r'\bshape\(\s*[\w:]+\s*,\s*"([a-z][a-z0-9_]*)"', text))
    invalid = set()
    pattern = re.compile(
        r'(?:ApiError::invalid\(\s*|Invalid\s*\{\s*code:\s*)"([a-z][a-z0-9_]*)"'
    )
    for base in HANDLER_SOURCES:
        for source in sorted(base.rglob("*.rs")):
            invalid.update(pattern.findall(source.read_text(encoding="utf-8")))
    return mapped, invalid


def resolve(node, spec, depth=0):
    """`node` with every local `$ref` replaced by its target. As in OpenAPI 3.1 (JSON Schema
    2020-12), keywords beside a `$ref` apply together with it: `{"allOf": [target, siblings]}`."""
    if depth > 50:
        raise ValueError("$ref nesting too deep (a cycle?)")
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"non-local $ref {ref}")
            target = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            target = resolve(target, spec, depth + 1)
            siblings = {k: resolve(v, spec, depth + 1) for k, v in node.items() if k != "$ref"}
            return {"allOf": [target, siblings]} if siblings else target
        return {key: resolve(value, spec, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, spec, depth + 1) for item in node]
    return node


def walk(node, path=""):
    """Yields (json-pointer-ish path, dict) for every mapping in the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    errors: list[str] = []

    try:
        text = spec_path.read_text(encoding="utf-8")
        spec = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as e:
        print(f"openapi: cannot load {spec_path}: {e}", file=sys.stderr)
        return 1
    if not isinstance(spec, dict):
        print(f"openapi: {spec_path} is not a YAML mapping", file=sys.stderr)
        return 1

    if not str(spec.get("openapi", "")).startswith("3.1."):
        errors.append(f"`openapi` must be 3.1.x, not {spec.get('openapi')!r}")

    try:
        for error in OpenAPIV31SpecValidator(spec).iter_errors():
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"OpenAPI 3.1: {where}: {error.message}")
    except Exception as e:  # noqa: BLE001 - e.g. an unresolvable $ref raises instead of yielding
        message = (str(e).splitlines() or [""])[0].split(" within ")[0]
        errors.append(f"OpenAPI 3.1: {type(e).__name__}: {message[:300]}")

    # --- paths and operations -------------------------------------------------------------------
    paths = spec.get("paths") or {}
    operation_ids: dict[str, str] = {}
    operations = 0
    for path, item in paths.items():
        if path not in EXPECTED:
            errors.append(f"undocumented route in the spec: {path}")
            continue
        methods = {m for m in item if m in HTTP_METHODS}
        if methods != set(EXPECTED[path]):
            errors.append(f"{path}: methods {sorted(methods)}, expected {sorted(EXPECTED[path])}")
    for path, methods in EXPECTED.items():
        if path not in paths:
            errors.append(f"missing path {path}")
            continue
        for method, (operation_id, scope) in methods.items():
            op = paths[path].get(method)
            if not isinstance(op, dict):
                errors.append(f"missing operation {method.upper()} {path}")
                continue
            operations += 1
            where = f"{method.upper()} {path}"
            got_id = op.get("operationId")
            if got_id != operation_id:
                errors.append(f"{where}: operationId {got_id!r}, expected {operation_id!r}")
            if got_id in operation_ids:
                errors.append(f"{where}: operationId {got_id!r} also used by {operation_ids[got_id]}")
            operation_ids[got_id] = where

            security = op.get("security", spec.get("security"))
            if not security:
                errors.append(f"{where}: no security requirement")
            else:
                for requirement in security:
                    if "ApiKey" not in requirement:
                        errors.append(f"{where}: a security alternative without ApiKey")
                    bearer = requirement.get("BearerAuth")
                    if scope is None and bearer is not None:
                        errors.append(f"{where}: must not require BearerAuth")
                    if scope is not None and bearer != [scope]:
                        errors.append(f"{where}: BearerAuth must require [{scope}], not {bearer}")

            responses = {str(code) for code in (op.get("responses") or {})}
            # The gateway's 403 (API key), 429 (usage plan), 502/504 (the function failed or timed
            # out); the function's 500/503; the authorizer's 401 on bearer routes.
            needed = {"403", "429", "500", "502", "503", "504"} | ({"401"} if scope else set())
            # An id in the path can be malformed (400 invalid_id) or name nothing of the
            # caller's (404); a body can be malformed (400) or too large (413).
            if "{" in path:
                needed |= {"400", "404"}
            if "requestBody" in op:
                needed |= {"400", "413"}
            if missing := needed - responses:
                errors.append(f"{where}: missing responses {sorted(missing)}")
            if not any(code.startswith("2") for code in responses):
                errors.append(f"{where}: no 2xx response")
            if "default" in responses:
                errors.append(f"{where}: list every status instead of `default`")

    # --- problem codes --------------------------------------------------------------------------
    mapped, invalid = problem_codes()
    if len(mapped) < 10:
        errors.append(
            f"only {len(mapped)} codes extracted from {PROBLEM_RS.relative_to(ROOT)}: "
            "has the `shape(status, code, title)` form changed? update problem_codes()"
        )
    codes = mapped | invalid
    for code in sorted(codes):
        if not re.search(rf"(?<![a-z0-9_]){re.escape(code)}(?![a-z0-9_])", text):
            source = "problem.rs" if code in mapped else "an ApiError::invalid call"
            errors.append(f"problem code `{code}` (from {source}) is not documented")

    # --- problem responses and views against the code ------------------------------------------
    statuses, status_errors = spec_vs_code.code_statuses(
        PROBLEM_RS.read_text(encoding="utf-8"), invalid
    )
    errors += status_errors
    errors += spec_vs_code.check_problem_responses(spec, statuses)
    errors += spec_vs_code.check_template_routes(spec, TEMPLATE.read_text(encoding="utf-8"))
    try:
        errors += spec_vs_code.check_views(spec, VIEW_SOURCES)
    except ValueError as e:
        errors.append(str(e))

    # --- money is never a float -----------------------------------------------------------------
    for where, node in walk(spec):
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "number" in kinds:
            errors.append(f"{where}: `type: number` (amounts are integer minor units)")

    # --- examples -------------------------------------------------------------------------------
    # Every `examples` of a component schema, and every `example` of a media type, must validate
    # against its schema.
    try:
        from jsonschema import Draft202012Validator  # a dependency of openapi-spec-validator

        checks = []
        for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
            for index, example in enumerate(schema.get("examples") or []):
                checks.append((f"schemas/{name} example {index}", schema, example))
        for where, node in walk(spec):
            if "schema" in node and "example" in node and isinstance(node["schema"], dict):
                checks.append((f"{where} example", node["schema"], node["example"]))
        for label, schema, example in checks:
            validator = Draft202012Validator(resolve(schema, spec))
            for error in validator.iter_errors(example):
                at = "/".join(str(p) for p in error.absolute_path) or "(root)"
                errors.append(f"{label}: {at}: {error.message}")
    except (KeyError, ValueError) as e:
        errors.append(f"cannot resolve a $ref while checking examples: {e}")

    if errors:
        for error in errors:
            print(f"openapi: {error}", file=sys.stderr)
        print(f"openapi: {spec_path}: {len(errors)} problem(s), INVALID", file=sys.stderr)
        return 1
    print(f"openapi: {operations} operations, {len(codes)} problem codes, valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
