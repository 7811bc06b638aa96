"""Translate template.yaml with the SAM translator and check what must reach CloudFormation.

`sam validate --lint` passes templates whose streaming silently fell back to buffered (a misspelt
``ResponseTransferMode`` value, ``FunctionUrlConfig`` under ``!If``), so this checks the translated output:
streaming, one stage with throttling, caps, alarms and the dashboard, access logs without secrets, secrets the
stack never overwrites, IAM exactly as the store calls it, the refresher's failure destination, the web
adapter layer version against the known list. Run with the SAM CLI's own interpreter:
``.tools/sam/bin/python scripts/check_template.py [--template FILE] [--dump FILE]``.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STREAM_URI_PART = "/2021-11-15/functions/"
STREAM_URI_TAIL = "/response-streaming-invocations"
STORE_SOURCE = ROOT / "src" / "core" / "store" / "dynamodb.py"
LAYER_VERSIONS = ROOT / "deploy" / "web-adapter-layers.txt"
# What each alarm watches (docs/deploy.md explains them); the dashboard shows every one.
ALARMS = {
    "ApiErrorRateAlarm": "5XXError", "ApiThrottlesAlarm": "Throttles", "ApiFunctionErrorsAlarm": "Errors",
    "StreamNearLimitAlarm": "Duration", "RefresherFailuresAlarm": "CredentialRefreshFailures",
    "TableThrottlesAlarm": "ThrottleEvents", "ProxyErrorRateAlarm": "Errors",
    "CredentialsNeedLoginAlarm": "needs-login", "CredentialsCoolingAlarm": "cooling",
}
SECRETS = {"ClientApiKeysSecret": "CLIPROXY_API_KEYS_SECRET", "UpstreamKeysSecret": "CLIPROXY_UPSTREAM_KEYS_SECRET",
           "EncryptionKeySecret": "CLIPROXY_ENCRYPTION_KEY_SECRET",
           "ManagementKeysSecret": "CLIPROXY_MANAGEMENT_KEYS_SECRET"}
# Store methods that only the CLI runs (`cliproxy store init`), never a function.
CLI_ONLY = {"init", "_create_table"}
# Managed policies a function role may carry besides StateAccessPolicy (logs; X-Ray writes when traced).
ROLE_MANAGED = {"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}
# Access log variables that could carry a client key: headers, query strings, authorizer and API key fields.
LEAKY_LOG_VARS = re.compile(r"(?i)header|querystring|\$input|\$method\.request|apikey|authorizer|requestoverride")


class _NoManagedPolicies:
    """The template names no AWS managed policy by name, so the translator never needs IAM."""

    def load(self) -> dict[str, str]:
        return {}


def translate(params: dict[str, str], template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The CloudFormation that `sam validate` / `sam deploy` would produce (local paths become fake S3 URIs)."""
    from samcli.lib.translate.sam_template_validator import (
        SamTemplateValidator,  # the SAM CLI's interpreter only
    )
    from samcli.yamlhelper import yaml_parse

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
    for part in (_check_stage, _check_caps, _check_alarms, _check_access_log, _check_secrets, _check_iam,
                 _check_refresher, _check_runtime_settings):
        problems += part(out, params)
    return problems


def _check_stage(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    """One stage per API, prod, throttled: SAM's extra "Stage" stage would escape prod's settings."""
    problems = []
    stages = _of_type(out, "AWS::ApiGateway::Stage")
    for api in _of_type(out, "AWS::ApiGateway::RestApi"):
        names = [s["Properties"]["StageName"] for s in stages.values() if s["Properties"]["RestApiId"] == {"Ref": api}]
        names += [d["Properties"]["StageName"] for d in _of_type(out, "AWS::ApiGateway::Deployment").values()
                  if d["Properties"]["RestApiId"] == {"Ref": api} and "StageName" in d["Properties"]]
        if names != ["prod"]:  # a Deployment's StageName makes a stage too (SAM's "Stage" without OpenApiVersion)
            problems.append(f"{api}: stages {names}, expected only prod")
    for name, stage in stages.items():
        settings = stage["Properties"].get("MethodSettings", [])
        limits = {(s.get("ResourcePath"), s.get("HttpMethod")): s for s in settings}.get(("/*", "*"), {})
        if limits.get("ThrottlingRateLimit") != {"Ref": "ThrottleRateLimit"} or \
                limits.get("ThrottlingBurstLimit") != {"Ref": "ThrottleBurstLimit"}:
            problems.append(f"{name}: no stage-wide throttling from ThrottleRateLimit/ThrottleBurstLimit")
    proxy = next((s for s in stages.values() if s["Properties"]["RestApiId"] == {"Ref": "ProxyApi"}), {})
    if proxy.get("Properties", {}).get("TracingEnabled") != {"Fn::If": ["Tracing", True, False]}:
        problems.append("ProxyApi stage tracing does not follow EnableTracing")
    return problems


def _check_caps(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems = []
    fn = out["Resources"]["ApiFunction"]["Properties"]
    if fn.get("ReservedConcurrentExecutions") != {
            "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}:
        problems.append("ApiFunction: ReservedConcurrentExecutions does not follow ReservedConcurrency")
    rule = out.get("Rules", {}).get("FunctionUrlNeedsReservedConcurrency", {})
    if rule.get("RuleCondition") != {"Fn::Equals": [{"Ref": "EnableFunctionUrl"}, "true"]} or \
            "ReservedConcurrency" not in json.dumps(rule.get("Assertions")):
        problems.append("no rule requiring ReservedConcurrency when the Function URL is on")
    for name, res in _of_type(out, "AWS::Lambda::Function").items():
        if res["Properties"].get("TracingConfig") != {"Mode": {"Fn::If": ["Tracing", "Active", "PassThrough"]}}:
            problems.append(f"{name}: tracing does not follow EnableTracing")
    (table,) = _of_type(out, "AWS::DynamoDB::Table").values()
    if table["Properties"].get("DeletionProtectionEnabled") != {"Fn::If": ["ProtectTable", True, False]}:
        problems.append("StateTable: DeletionProtectionEnabled does not follow TableDeletionProtection")
    if out["Parameters"]["TableDeletionProtection"].get("Default") != "true":
        problems.append("TableDeletionProtection must default to true")
    return problems


def _check_alarms(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems = []
    alarms = _of_type(out, "AWS::CloudWatch::Alarm")
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for name, watches in ALARMS.items():
        props = alarms.get(name, {}).get("Properties")
        if props is None:
            problems.append(f"alarm {name} missing")
        elif watches not in json.dumps(props):
            problems.append(f"alarm {name} does not watch {watches}")
        elif props.get("AlarmActions") != topic or props.get("OKActions") != topic:
            problems.append(f"alarm {name} does not notify AlarmTopicArn")
    boards = _of_type(out, "AWS::CloudWatch::Dashboard")
    body = json.dumps([b["Properties"]["DashboardBody"] for b in boards.values()])
    if len(boards) != 1 or any(f"${{{name}.Arn}}" not in body for name in ALARMS):
        problems.append("expected one dashboard showing every alarm")
    return problems


def _check_access_log(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems = []
    for name, stage in _of_type(out, "AWS::ApiGateway::Stage").items():
        if stage["Properties"]["RestApiId"] != {"Ref": "ProxyApi"}:
            continue
        fmt = stage["Properties"].get("AccessLogSetting", {}).get("Format", "")
        if "$context.requestId" not in fmt:
            problems.append(f"{name}: no access log with the request id")
        if LEAKY_LOG_VARS.search(fmt):
            problems.append(f"{name}: access log format records a header, query string or key: {fmt}")
    return problems


def _check_secrets(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    """Each secret is named to the functions by ARN; only the encryption key may take a first value from a
    parameter (changing it later would orphan every stored token anyway); none holds a literal secret."""
    problems = []
    env = out["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    resources = out["Resources"]
    for name, var in SECRETS.items():
        props = resources.get(name, {}).get("Properties", {})
        if env.get(var) != {"Ref": name}:
            problems.append(f"{var} does not name {name}")
        value = props.get("SecretString")
        if name != "EncryptionKeySecret" and "Ref" in json.dumps(value):
            problems.append(f"{name}: a parameter owns the value, so a stack update overwrites the operator's")
        if isinstance(value, str) and value not in ("{}", ""):
            problems.append(f"{name}: literal SecretString in the template")
    for var in ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY"):
        if var in env:
            problems.append(f"{var} in the environment: secrets go through Secrets Manager")
    return problems


def store_actions(source: Path = STORE_SOURCE) -> set[str]:
    """``dynamodb:Op`` for every ``self._client.op(...)`` the store's request-time methods make."""
    tree = ast.parse(source.read_text())
    actions = set()
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            if fn.name in CLI_ONLY:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and \
                        node.value.attr == "_client" and node.attr not in ("exceptions", "meta"):
                    actions.add("dynamodb:" + "".join(part.title() for part in node.attr.split("_")))
    return actions


def _check_iam(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems = []
    doc = out["Resources"]["StateAccessPolicy"]["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    table = set(_as_list(by_sid.get("StateTable", {}).get("Action")))
    if table != store_actions():
        problems.append(f"StateTable actions {sorted(table)} differ from the store's calls {sorted(store_actions())}")
    via = by_sid.get("StateKey", {}).get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
    if not via or any(svc not in json.dumps(via) for svc in ("dynamodb.", "secretsmanager.")):
        problems.append("StateKey statement is not limited with kms:ViaService to DynamoDB and Secrets Manager")
    secrets = by_sid.get("Secrets", {})
    if _as_list(secrets.get("Action")) != ["secretsmanager:GetSecretValue"] or \
            sorted(json.dumps(r) for r in _as_list(secrets.get("Resource"))) != \
            sorted(json.dumps({"Ref": n}) for n in SECRETS):
        problems.append("Secrets statement must allow GetSecretValue on exactly the stack's secrets")
    for statement in doc["Statement"]:
        if any("*" in a for a in _as_list(statement["Action"])) or statement.get("Resource") == "*":
            problems.append(f"{statement['Sid']}: wildcard action or resource")
    for name, role in _of_type(out, "AWS::IAM::Role").items():
        if name == "ApiGatewayLogsRole":
            continue
        managed = role["Properties"].get("ManagedPolicyArns", [])
        extra = [m for m in managed if m != {"Ref": "StateAccessPolicy"} and m not in ROLE_MANAGED]
        inline = [a for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
                  for a in _as_list(s["Action"]) if a != "sqs:SendMessage"]
        if extra or inline or {"Ref": "StateAccessPolicy"} not in managed:
            problems.append(f"{name}: unexpected permissions {extra + inline}")
    return problems


def _check_refresher(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    configs = [c["Properties"] for c in _of_type(out, "AWS::Lambda::EventInvokeConfig").values()
               if c["Properties"]["FunctionName"] == {"Ref": "RefresherFunction"}]
    failure = configs[0].get("DestinationConfig", {}).get("OnFailure", {}) if configs else {}
    if failure.get("Destination") != {"Fn::GetAtt": ["RefresherFailures", "Arn"]}:
        return ["RefresherFunction has no on-failure destination (RefresherFailures)"]
    return []


def _check_runtime_settings(out: dict[str, Any], params: dict[str, str]) -> list[str]:
    problems = []
    functions = _of_type(out, "AWS::Lambda::Function")
    api_env = functions["ApiFunction"]["Properties"]["Environment"]["Variables"]
    if str(api_env.get("PORT")) == "8080":
        problems.append("ApiFunction: uvicorn on 8080, the port the adapter and local emulators use themselves")
    for name, fn in functions.items():
        if fn["Properties"]["Environment"]["Variables"].get("CLIPROXY_CONFIG") != {"Ref": "ConfigFile"}:
            problems.append(f"{name}: CLIPROXY_CONFIG must be ConfigFile as given (relative paths resolve in code)")
    buffered = functions.get("BufferedFunction", {}).get("Properties")
    if buffered and buffered["Timeout"] > 29:
        problems.append(f"BufferedFunction: {buffered['Timeout']} s timeout behind a 29 s buffered integration")
    known = known_layer_versions()
    default = int(out["Parameters"]["WebAdapterLayerVersion"]["Default"])
    allowed = {int(v) for v in out["Parameters"]["WebAdapterLayerVersion"].get("AllowedValues", [])}
    if default not in known or not allowed or not allowed <= known:
        problems.append(f"WebAdapterLayerVersion: default {default} / allowed {sorted(allowed)} not within the "
                        f"known versions {sorted(known)} (deploy/web-adapter-layers.txt)")
    return problems


def known_layer_versions(path: Path = LAYER_VERSIONS) -> set[int]:
    """Layer versions listed in ``path`` (first column; ``#`` comments)."""
    lines = (line.split("#", 1)[0].split() for line in path.read_text().splitlines())
    return {int(cols[0]) for cols in lines if cols}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


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


PARAMETER_SETS = ({}, {"EnableFunctionUrl": "true", "EnableBufferedApi": "true", "ReservedConcurrency": "20"})


def problems_of(template: Path, parameter_sets: tuple[dict[str, str], ...] = PARAMETER_SETS,
                dump: Path | None = None) -> list[str]:
    problems: list[str] = []
    for params in parameter_sets:
        out = translate(params, template)
        problems += [f"{params or 'defaults'}: {p}" for p in check(out, params)]
        if dump and params:
            dump.write_text(json.dumps(out, indent=2, default=str))
    return problems


def main(argv: list[str]) -> int:
    """``[--template FILE] [--dump FILE]``: exit 1 and name each problem when the translation lost something.
    ``--each FILE...``: check every FILE with every feature on (one translation each), one verdict line per
    file as ``FILE: OK`` or ``FILE: problem``; exit 0 (the caller reads the lines)."""
    if "--each" in argv:
        for name in argv[argv.index("--each") + 1:]:
            found = problems_of(Path(name), PARAMETER_SETS[1:])
            print(f"{name}: " + (" | ".join(found) if found else "OK"))
        return 0
    template = Path(argv[argv.index("--template") + 1]) if "--template" in argv else ROOT / "template.yaml"
    dump = Path(argv[argv.index("--dump") + 1]) if "--dump" in argv else None
    problems = problems_of(template, dump=dump)
    for p in problems:
        print("template check:", p, file=sys.stderr)
    if not problems:
        print("template check: streaming, one throttled stage, caps, alarms + dashboard, access log, secrets, "
              "IAM = store calls + kms:ViaService, refresher destination, port/config/layer version OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
