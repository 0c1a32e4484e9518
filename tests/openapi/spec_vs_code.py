"""The checks of tests/openapi/validate.py that hold docs/openapi.yaml against the Rust code:

* problem responses: each `application/problem+json` response narrows the generic `Problem` to
  its own status and to the codes it can carry, in the one form generated clients can model
  (`allOf: [$ref Problem, {properties: {status: {minimum: N, maximum: N}, code: {enum}}}]`;
  a `const` over Problem's typed `status`/`code` makes openapi-python-client drop the whole
  response), every code listed is one the code answers with that status, and every code the
  code answers appears under its status in some operation;
* views: each schema whose description names a Rust view (`PaymentView`) has exactly the
  view's serialized fields, requires those always present, and admits `null` exactly where
  the view serializes an `Option` as `null`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# `http::StatusCode` constant names the problem mapping uses.
STATUS_NUMBERS = {
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNPROCESSABLE_ENTITY": 422,
    "TOO_MANY_REQUESTS": 429,
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}
# Codes no operation answers behind the gateway (it refuses an undefined route itself).
NOT_ANSWERED_BEHIND_THE_GATEWAY = {"route_not_found"}
PROBLEM_REF = "#/components/schemas/Problem"


def code_statuses(problem_rs: str, invalid_codes: set[str]) -> tuple[dict[str, int], list[str]]:
    """Each code of problem.rs with its status (`shape(S::NOT_FOUND, "code", …)`), and the codes
    handlers pass to `ApiError::invalid` (always 400)."""
    errors = []
    statuses: dict[str, int] = {}
    for name, code in re.findall(
        r'\bshape\(\s*(?:[\w]+::)?(\w+)\s*,\s*"([a-z][a-z0-9_]*)"', problem_rs
    ):
        if name not in STATUS_NUMBERS:
            errors.append(
                f"problem.rs: unknown status `{name}` for `{code}`: add it to STATUS_NUMBERS"
            )
            continue
        statuses[code] = STATUS_NUMBERS[name]
    for code in invalid_codes:
        if statuses.setdefault(code, 400) != 400:
            errors.append(f"`{code}` is both a 400 (ApiError::invalid) and a {statuses[code]}")
    return statuses, errors


def operations(spec: dict):
    """(label, status, response) for every response of every operation, `$ref`s resolved."""
    responses = spec.get("components", {}).get("responses") or {}
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in (op.get("responses") or {}).items():
                ref = response.get("$ref", "")
                if ref.startswith("#/components/responses/"):
                    response = responses.get(ref.rsplit("/", 1)[1], {})
                yield f"{method.upper()} {path} {status}", str(status), response


def check_problem_responses(spec: dict, statuses: dict[str, int]) -> list[str]:
    errors = []
    listed: dict[str, set[int]] = {}
    for where, status, response in operations(spec):
        media = (response.get("content") or {}).get("application/problem+json")
        if media is None:
            continue
        schema = media.get("schema") or {}
        parts = schema.get("allOf")
        if (
            not isinstance(parts, list)
            or len(parts) != 2
            or parts[0] != {"$ref": PROBLEM_REF}
            or set(parts[1]) != {"properties"}
            or set(parts[1]["properties"]) != {"status", "code"}
        ):
            errors.append(
                f"{where}: a problem schema must be allOf [$ref Problem, "
                "{properties: {status: {minimum, maximum}, code: {enum}}}]"
            )
            continue
        narrowed = parts[1]["properties"]
        if narrowed["status"] != {"minimum": int(status), "maximum": int(status)}:
            errors.append(
                f"{where}: status must be narrowed to {{minimum: {status}, maximum: {status}}}"
            )
        if set(narrowed["code"]) != {"enum"} or not narrowed["code"]["enum"]:
            errors.append(f"{where}: code must be narrowed with a non-empty `enum` (not `const`)")
            continue
        for code in narrowed["code"]["enum"]:
            listed.setdefault(code, set()).add(int(status))
            if code not in statuses:
                errors.append(f"{where}: `{code}` is not a code the API answers with")
            elif statuses[code] != int(status):
                errors.append(
                    f"{where}: `{code}` is answered with status {statuses[code]}, not {status}"
                )
    for code, status in sorted(statuses.items()):
        if code not in NOT_ANSWERED_BEHIND_THE_GATEWAY and status not in listed.get(code, set()):
            errors.append(f"`{code}` ({status}) is not listed in any operation's {status} response")
    return errors


# --- views ------------------------------------------------------------------------------------
# A view's fields: public or not (a function's own views are `pub(crate)` with private fields).
FIELD = re.compile(
    r"((?:\s*#\[[^\]]*\]|\s*///[^\n]*)*)\s*(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:\s*([^,\n]+),"
)


def rust_views(sources: list[Path]) -> dict[str, list[tuple[str, bool, bool]]]:
    """`struct XView` (public or not) → [(JSON name, always present, serialized `null` when
    None)]."""
    views = {}
    for base in sources:
        for source in sorted(base.rglob("*.rs")):
            text = source.read_text(encoding="utf-8")
            for attrs, name, body in re.findall(
                r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?struct (\w+View)(?:<[^>]*>)?\s*\{(.*?)\n\}",
                text,
                re.DOTALL,
            ):
                if "rename_all" in attrs or "flatten" in body:
                    raise ValueError(
                        f"{source}: {name}: teach spec_vs_code.rust_views serde's rename_all/flatten"
                    )
                fields = []
                for field_attrs, field, kind in FIELD.findall(body):
                    renamed = re.search(r'rename\s*=\s*"([^"]+)"', field_attrs)
                    skipped = "skip_serializing_if" in field_attrs
                    fields.append(
                        (
                            renamed.group(1) if renamed else field,
                            not skipped,
                            kind.strip().startswith("Option<") and not skipped,
                        )
                    )
                views[name] = fields
    return views


def admits_null(schema: dict, spec: dict) -> bool:
    if "$ref" in schema:
        target = spec
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        return admits_null(target, spec)
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(admits_null(s, spec) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


def check_views(spec: dict, sources: list[Path]) -> list[str]:
    errors = []
    views = rust_views(sources)
    named = set()
    for name, schema in (spec.get("components", {}).get("schemas") or {}).items():
        mentioned = re.findall(r"`(\w+View)`", schema.get("description", ""))
        for view in mentioned:
            named.add(view)
            if view not in views:
                errors.append(f"schemas/{name}: names `{view}`, which no Rust source defines")
                continue
            fields = views[view]
            properties = schema.get("properties") or {}
            if set(properties) != {f for f, _, _ in fields}:
                errors.append(
                    f"schemas/{name}: properties {sorted(properties)} but {view} serializes "
                    f"{sorted(f for f, _, _ in fields)}"
                )
            required = set(schema.get("required") or [])
            for field, always, nullable in fields:
                if field not in properties:
                    continue
                if always != (field in required):
                    errors.append(
                        f"schemas/{name}: `{field}` must {'' if always else 'not '}be required ({view})"
                    )
                if nullable != admits_null(properties[field], spec):
                    errors.append(
                        f"schemas/{name}: `{field}` must {'' if nullable else 'not '}admit null ({view})"
                    )
            if schema.get("additionalProperties") is not False:
                errors.append(f"schemas/{name}: must set additionalProperties: false ({view})")
    for view in sorted(set(views) - named):
        errors.append(
            f"the Rust view `{view}` is described by no schema (name it in a description)"
        )
    return errors


# --- routes of the SAM template -------------------------------------------------------------
class _TemplateLoader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation's short tags (`!Ref X`, `!Sub …`) as plain values."""


_TemplateLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
    ),
)


def template_routes(template_text: str) -> dict[tuple[str, str], bool]:
    """`(method, path)` → whether the bearer authorizer guards it, for every `Type: Api` event.

    Raises ValueError for an event without an explicit API key requirement (the template's
    convention is an explicit `Auth` on each)."""
    template = yaml.load(template_text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader
    routes = {}
    for name, resource in (template.get("Resources") or {}).items():
        events = ((resource or {}).get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            auth = props.get("Auth") or {}
            if auth.get("ApiKeyRequired") is not True:
                raise ValueError(f"template: {name}.{event_name} does not require the API key")
            routes[(props["Method"].lower(), props["Path"])] = auth.get("Authorizer") != "NONE"
    return routes


def check_template_routes(spec: dict, template_text: str) -> list[str]:
    """The document's operations are exactly the template's routes, bearer where it has the
    authorizer."""
    errors = []
    try:
        routes = template_routes(template_text)
    except (ValueError, KeyError, yaml.YAMLError) as e:
        return [f"cannot read the template's routes: {e}"]
    documented = {}
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                security = op.get("security", spec.get("security")) or []
                documented[(method, path)] = any("BearerAuth" in r for r in security)
    for route in sorted(set(routes) - set(documented)):
        errors.append(
            f"the template serves {route[0].upper()} {route[1]}; the document does not describe it"
        )
    for route in sorted(set(documented) - set(routes)):
        errors.append(
            f"the document describes {route[0].upper()} {route[1]}; the template does not serve it"
        )
    for route in sorted(set(routes) & set(documented)):
        if routes[route] != documented[route]:
            errors.append(
                f"{route[0].upper()} {route[1]}: the template {'has' if routes[route] else 'has no'} "
                f"bearer authorizer, the document {'requires' if documented[route] else 'does not require'} BearerAuth"
            )
    return errors
