"""A tiny evaluator of the Bicep expressions infra/ uses, over pycep-parser's structure.

No Bicep CLI and no Azure here, so the infra tests evaluate what matters themselves: how
azd fills main.parameters.json, how ARM binds parameters (defaults, ``@allowed``, each
element of an array), and the few functions the templates apply to them (split, trim,
toLower, contains, empty, union, the conditional operator, array for-expressions).
Anything else (module outputs, resource properties) evaluates to a ``<placeholder>``.

pycep writes identifiers and string literals alike, so a string is a reference when it names
a parameter, variable or loop item in scope, and a literal otherwise.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from detections.errors import RiskwatchError
from tools.check_infra import parse_bicep


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    return parse_bicep(path)  # read-only below: one parse per file per session


class DeploymentRefused(RiskwatchError):
    """What ARM would answer instead of deploying (a parameter outside its allowed values)."""


def _union(args: Mapping[str, Any]) -> Any:
    values = [args[key] for key in sorted(args, key=lambda k: int(k.split("_")[1]))]
    if all(isinstance(v, Mapping) for v in values):
        merged: dict[str, Any] = {}
        for value in values:
            merged.update(value)
        return merged
    return list(dict.fromkeys(item for value in values for item in value))


FUNCTIONS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "split": lambda a: a["input_string"].split(a["delimiter"]),
    "trim": lambda a: a["string_to_trim"].strip(),
    "to_lower": lambda a: a["string_to_change"].lower(),
    "contains": lambda a: a["item_to_find"] in a["container"],
    "empty": lambda a: not a["item_to_test"],
    "union": _union,
    "string": lambda a: str(a["value_to_convert"]).lower()
    if isinstance(a["value_to_convert"], bool) else str(a["value_to_convert"]),
}


class Template:
    """One .bicep file bound to parameter values, as ARM would bind them."""

    def __init__(self, path: Path, given: Mapping[str, Any]) -> None:
        self.path = path
        self.doc = _parsed(path)
        self.values: dict[str, Any] = {}
        for name, spec in self.doc.get("parameters", {}).items():
            if name in given:
                value = _coerce(given[name], spec["type"])
            elif spec.get("default") is not None:
                value = self.eval(spec["default"])
            else:
                value = f"<{name}>"  # required and not given: only known in Azure
            self._check_allowed(name, spec, value)
            self.values[name] = value

    def _check_allowed(self, name: str, spec: Mapping[str, Any], value: Any) -> None:
        for decorator in spec.get("decorators", []):
            if decorator["type"] != "allowed":
                continue
            allowed = decorator["argument"]
            items = value if isinstance(value, list) else [value]
            bad = [item for item in items if item not in allowed]
            if bad:
                raise DeploymentRefused(
                    f"{self.path.name}: parameter '{name}': {bad!r} not among {allowed!r}"
                )

    def variable(self, name: str) -> Any:
        return self.eval(self.doc["variables"][name]["value"])

    def module_params(self, module: str) -> dict[str, Any]:
        """The parameter values this template passes to one of its modules."""
        config = self.doc["modules"][module]["config"]
        config = config.get("config", config)  # conditional modules nest one level deeper
        return {name: self.eval(value) for name, value in config["params"].items()}

    def eval(self, node: Any, scope: Mapping[str, Any] | None = None) -> Any:
        scope = scope or {}
        if isinstance(node, str):
            if node in scope:
                return scope[node]
            if node in self.values:
                return self.values[node]
            if node in self.doc.get("variables", {}):
                return self.eval(self.doc["variables"][node]["value"], scope)
            return node
        if isinstance(node, list):
            return [self.eval(item, scope) for item in node]
        if not isinstance(node, Mapping):
            return node
        if "function" in node and node["function"]["type"] in FUNCTIONS:
            args = {k: self.eval(v, scope) for k, v in node["function"]["parameters"].items()}
            return FUNCTIONS[node["function"]["type"]](args)
        if "loop_type" in node and node["loop_type"]["type"] == "array":
            detail = node["loop_type"]["detail"]
            return [
                self.eval(node["config"], {**scope, detail["item_name"]: item})
                for item in self.eval(detail["array_name"], scope)
            ]
        operator = node.get("operator", {})
        if operator.get("type") == "conditional":
            ops = operator["operands"]
            branch = "true_value" if self.eval(ops["condition"], scope) else "false_value"
            return self.eval(ops[branch], scope)
        if operator.get("type") == "not":
            return not self.eval(operator["operands"]["bool_value"], scope)
        if "function" in node or "operator" in node:
            return "<placeholder>"  # module outputs, resource properties: only known in Azure
        return {key: self.eval(value, scope) for key, value in node.items()}


def _coerce(value: Any, declared: str) -> Any:
    if not isinstance(value, str):
        return value
    if declared == "bool":
        return value.lower() == "true"
    if declared == "int":
        return int(value)
    return value


AZD_REFERENCE = re.compile(r"\$\{(\w+)(?:=([^}]*))?\}")


def azd_parameters(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """main.parameters.json as azd fills it: ``${NAME}`` and ``${NAME=default}`` from ``env``."""
    document = json.loads(path.read_text())

    def fill(match: re.Match[str]) -> str:
        return env.get(match.group(1), match.group(2) or "")

    return {
        name: AZD_REFERENCE.sub(fill, entry["value"]) if isinstance(entry["value"], str)
        else entry["value"]
        for name, entry in document["parameters"].items()
    }
