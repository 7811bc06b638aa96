"""Derive the `sam local` template from template.yaml, so the function, its environment and its routes exist once.

    python scripts/sam_local_template.py [--function BufferedFunction] [--arch x86_64] OUT

Run with aws-sam-cli's Python (.tools/sam/bin/python: its yamlhelper reads and writes the intrinsic-function tags).
What changes, by resource type and property, never by line position (template.yaml keeps changing):
- only the chosen function and the layers it references stay (the streaming function's adapter layer is fetched
  by ARN, which needs AWS credentials); conditions, outputs and every now-dangling reference go;
- architectures follow the host (functions, Globals, layers' CompatibleArchitectures and BuildArchitecture);
- the function's events become one implicit API (`/` and `/{proxy+}`, ANY) that `sam local start-api` serves;
- environment values made of intrinsics become the referenced parameter's default where there is one, else "";
  the variables the local run sets (LOCAL_VARIABLES) are declared, since `--env-vars` only fills declared names;
- relative code paths (CodeUri, ContentUri, Metadata.ContextPath) become absolute, so OUT may live anywhere.
"""

from __future__ import annotations

import argparse
import platform
import re
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_dump, yaml_parse

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
LOCAL_VARIABLES = {"CLIPROXY_CONFIG": "/var/task/config.samlocal.yaml", "CLIPROXY_API_KEYS": "",
                   "CLIPROXY_ENCRYPTION_KEY": "", "CLIPROXY_STORE_BACKEND": "memory", "CLIPROXY_TABLE": "",
                   "CLIPROXY_STORE_ENDPOINT": ""}
LOCAL_EVENTS = {"Root": {"Type": "Api", "Properties": {"Path": "/", "Method": "ANY"}},
                "Proxy": {"Type": "Api", "Properties": {"Path": "/{proxy+}", "Method": "ANY"}}}
SUB_NAME = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


def host_arch() -> str:
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def references(node: Any) -> set[str]:
    """Logical ids and parameter names that a node refers to (Ref, Fn::GetAtt, Fn::Sub; pseudo parameters left out)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                local = set(value[1]) if isinstance(value, list) and len(value) > 1 else set()
                found |= {name for name in SUB_NAME.findall(text) if name not in local}
            found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}


def scrub(node: Any, known: set[str]) -> Any:
    """The node without list items and mapping entries that refer to something no longer in the template."""
    if isinstance(node, dict):
        if "Fn::If" in node:  # its condition is gone with the Conditions section
            return None
        if references(node) - known and set(node) & {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join"}:
            return None
        kept = {key: scrub(value, known) for key, value in node.items()}
        return {key: value for key, value in kept.items() if value is not None}
    if isinstance(node, list):
        kept = [scrub(item, known) for item in node]
        return [item for item in kept if item is not None]
    return node


def env_value(value: Any, parameters: dict[str, Any]) -> str:
    """A literal as it is; an intrinsic resolved from parameter defaults where it can be, else ""."""
    if not isinstance(value, dict):
        return str(value)
    if isinstance(value.get("Ref"), str):
        return str(parameters.get(value["Ref"], {}).get("Default", ""))
    text = value.get("Fn::Sub")
    if isinstance(text, str):
        names = SUB_NAME.findall(text)
        if all("Default" in parameters.get(name, {}) for name in names):
            return SUB_NAME.sub(lambda m: str(parameters[m.group(1)]["Default"]), text)
    return ""


def local_environment(properties: dict[str, Any], parameters: dict[str, Any], declare: bool) -> None:
    variables = properties.get("Environment", {}).get("Variables", {})
    resolved = {name: env_value(value, parameters) for name, value in variables.items()}
    if declare:
        resolved.update(LOCAL_VARIABLES)
    if resolved:
        properties["Environment"] = {"Variables": resolved}


def absolute(path: Any) -> Any:
    return str((ROOT / path).resolve()) if isinstance(path, str) and not Path(path).is_absolute() else path


def layer_ids(layers: Any, resources: dict[str, Any]) -> set[str]:
    return {name for name in references(layers) if resources.get(name, {}).get("Type") == LAYER}


def transform(template: dict[str, Any], function: str, arch: str) -> dict[str, Any]:
    resources = template["Resources"]
    if resources.get(function, {}).get("Type") != FUNCTION:
        raise SystemExit(f"sam_local_template: {function} is not an {FUNCTION} in the template")
    parameters = template.get("Parameters", {})
    globals_function = dict(template.get("Globals", {}).get("Function", {}))
    chosen = dict(resources[function])
    keep = {function} | layer_ids(globals_function.get("Layers"), resources) \
        | layer_ids(chosen["Properties"].get("Layers"), resources)
    out_resources: dict[str, Any] = {}
    for name in sorted(keep):
        resource = {key: value for key, value in resources[name].items() if key not in ("Condition", "DependsOn")}
        properties = resource["Properties"] = dict(resource.get("Properties", {}))
        metadata = resource.get("Metadata")
        if resource["Type"] == LAYER:
            properties["CompatibleArchitectures"] = [arch]
            properties["ContentUri"] = absolute(properties.get("ContentUri"))
            if metadata and "BuildArchitecture" in metadata:
                resource["Metadata"] = {**metadata, "BuildArchitecture": arch}
        else:
            properties["Architectures"] = [arch]
            properties["Events"] = LOCAL_EVENTS
            properties.pop("Policies", None)
            if "CodeUri" in properties:
                properties["CodeUri"] = absolute(properties["CodeUri"])
            local_environment(properties, parameters, declare=False)
            if metadata and "ContextPath" in metadata:
                resource["Metadata"] = {**metadata, "ContextPath": absolute(metadata["ContextPath"])}
        out_resources[name] = resource
    globals_function["Architectures"] = [arch]
    if "CodeUri" in globals_function:
        globals_function["CodeUri"] = absolute(globals_function["CodeUri"])
    local_environment(globals_function, parameters, declare=True)
    out: dict[str, Any] = {key: template[key] for key in ("AWSTemplateFormatVersion", "Transform") if key in template}
    out["Description"] = f"cliproxy under sam local: {function} of template.yaml for {arch} (generated)"
    out["Globals"] = {"Function": globals_function}
    out["Resources"] = out_resources
    used = references(out)
    kept_parameters = {name: value for name, value in parameters.items() if name in used}
    if kept_parameters:
        out["Parameters"] = kept_parameters
    return scrub(out, set(out_resources) | set(kept_parameters))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--function", default="BufferedFunction")
    parser.add_argument("--arch", default=host_arch(), choices=("x86_64", "arm64"))
    args = parser.parse_args()
    derived = transform(yaml_parse(args.template.read_text()), args.function, args.arch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml_dump(derived))


if __name__ == "__main__":
    main()
