"""Translate template.yaml with the SAM translator and check what must reach CloudFormation.

`sam validate --lint` passes templates whose streaming silently fell back to buffered (a misspelt
``ResponseTransferMode`` value, ``FunctionUrlConfig`` under ``!If``), so this checks the translated output.
Run with the SAM CLI's own interpreter: ``.tools/sam/bin/python scripts/check_template.py [--dump FILE]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
STREAM_URI_PART = "/2021-11-15/functions/"
STREAM_URI_TAIL = "/response-streaming-invocations"


class _NoManagedPolicies:
    """The template names no AWS managed policy by name, so the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


def translate(params: dict[str, str], template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The CloudFormation that `sam validate` / `sam deploy` would produce (local paths become fake S3 URIs)."""
    source = yaml_parse(template.read_text())
    validator = SamTemplateValidator(source, _NoManagedPolicies(), region="us-east-1", parameter_overrides=params)
    return yaml_parse(validator.get_translated_template_if_valid())


def _of_type(out: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in out["Resources"].items() if res["Type"] == kind}


def _streaming_integration(out: dict[str, Any]) -> dict[str, Any]:
    apis = _of_type(out, "AWS::ApiGateway::RestApi")
    body = apis["ProxyApi"]["Properties"]["Body"]
    return body["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]


def check(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems: list[str] = []
    integ = _streaming_integration(out)
    if integ.get("responseTransferMode") != "STREAM":
        problems.append(f"ProxyApi integration is not streaming: responseTransferMode={integ.get('responseTransferMode')!r}")
    uri = json.dumps(integ.get("uri"))
    if STREAM_URI_PART not in uri or STREAM_URI_TAIL not in uri:
        problems.append(f"ProxyApi integration URI is not the response-streaming one: {uri}")
    functions = _of_type(out, "AWS::Lambda::Function")
    api_fn = functions["ApiFunction"]["Properties"]
    timeout_ms = integ.get("timeoutInMillis", 29000)
    max_stream_s = int(params.get("MaxStreamSeconds", 840))
    if not max_stream_s * 1000 < timeout_ms <= api_fn["Timeout"] * 1000:
        problems.append(f"timeouts out of order: stream {max_stream_s}s, integration {timeout_ms}ms, "
                        f"function {api_fn['Timeout']}s")
    env = api_fn["Environment"]["Variables"]
    if env.get("AWS_LWA_INVOKE_MODE") != "response_stream" or api_fn["Handler"] != "run.sh":
        problems.append("ApiFunction is not run.sh under the web adapter in response_stream mode")
    for name, fn in functions.items():
        props = fn["Properties"]
        if props.get("Architectures") != ["arm64"] or props.get("Runtime") != "python3.12":
            problems.append(f"{name}: expected arm64 + python3.12, got {props.get('Architectures')} {props.get('Runtime')}")
    problems += _check_function_url(out, params)
    problems += _check_schedule(out)
    return problems


def _check_function_url(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    urls = _of_type(out, "AWS::Lambda::Url")
    if params.get("EnableFunctionUrl") != "true":
        return [] if all(u.get("Condition") == "HasFunctionUrl" for u in urls.values()) else ["Function URL not conditional"]
    props = urls.get("FunctionUrl", {}).get("Properties", {})
    if props.get("InvokeMode") != "RESPONSE_STREAM" or props.get("AuthType") != "NONE":
        return [f"Function URL lost its settings: {props}"]
    return []


def _check_schedule(out: dict[str, Any]) -> list[str]:
    rules = _of_type(out, "AWS::Events::Rule")
    if not any(r["Properties"].get("ScheduleExpression") == "rate(5 minutes)" for r in rules.values()):
        return ["RefresherFunction has no rate(5 minutes) schedule"]
    return []


def main(argv: list[str]) -> int:
    """``[--template FILE] [--dump FILE]``: exit 1 and name each problem when the translation lost something."""
    template = Path(argv[argv.index("--template") + 1]) if "--template" in argv else ROOT / "template.yaml"
    problems: list[str] = []
    for params in ({}, {"EnableFunctionUrl": "true", "EnableBufferedApi": "true"}):
        out = translate(params, template)
        problems += [f"{params or 'defaults'}: {p}" for p in check(out, params)]
        if "--dump" in argv and params:
            Path(argv[argv.index("--dump") + 1]).write_text(json.dumps(out, indent=2, default=str))
    for p in problems:
        print("template check:", p, file=sys.stderr)
    if not problems:
        print("template check: streaming integration, Function URL, timeouts, arm64/python3.12, schedule OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
