"""template.yaml says what the issue asks, checked on the YAML itself (fast, no SAM CLI needed) and, when
scripts/sam.sh has installed the SAM CLI, on the translated template too."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import script

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def test_table_is_on_demand_with_ttl_pitr_and_kms(template: dict[str, Any]) -> None:
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"!Ref": "StateKey"}}
    assert table["DeletionPolicy"] == "Retain"  # credentials outlive a deleted stack


def test_streaming_function_runs_uvicorn_under_the_web_adapter(template: dict[str, Any]) -> None:
    fn = template["Resources"]["ApiFunction"]["Properties"]
    env = fn["Environment"]["Variables"]
    assert fn["Handler"] == "run.sh"
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/healthz"
    assert "LambdaAdapterLayerArm64" in json.dumps(fn["Layers"])
    event = fn["Events"]["Proxy"]["Properties"]
    assert event["ResponseTransferMode"] == "RESPONSE_STREAM"  # STREAM would be silently ignored
    max_stream_ms = template["Parameters"]["MaxStreamSeconds"]["Default"] * 1000
    assert max_stream_ms < event["TimeoutInMillis"] <= fn["Timeout"] * 1000 <= 900_000


def test_run_sh_is_executable_and_starts_the_app_on_port() -> None:
    script = ROOT / "src" / "run.sh"
    assert os.access(script, os.X_OK)
    mode = subprocess.run(["git", "ls-files", "-s", "src/run.sh"], cwd=ROOT, capture_output=True, text=True).stdout
    assert mode.startswith("100755"), "run.sh must be committed executable"
    text = script.read_text()
    assert 'python3 -m handlers.lambda_server "${PORT:-8000}"' in text and "/opt/python" in text
    assert '"handlers.api:app"' in (ROOT / "src" / "handlers" / "lambda_server.py").read_text()


def test_function_url_is_optional_and_kept_out_of_function_url_config(template: dict[str, Any]) -> None:
    assert "FunctionUrlConfig" not in json.dumps(template)  # under !If SAM drops InvokeMode and AuthType
    url = template["Resources"]["FunctionUrl"]
    assert url["Type"] == "AWS::Lambda::Url" and url["Condition"] == "HasFunctionUrl"
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    perms = [p["Properties"] for p in resources(template, "AWS::Lambda::Permission").values()
             if p.get("Condition") == "HasFunctionUrl"]
    assert {p["Action"] for p in perms} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}


def test_every_function_is_arm64_python312_with_retained_logs(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Architectures"] == ["arm64"] and glob["Runtime"] == "python3.12"
    functions = resources(template, "AWS::Serverless::Function")
    assert set(functions) == {"ApiFunction", "BufferedFunction", "RefresherFunction"}
    logged = {g["Properties"]["LogGroupName"]["!Sub"] for g in resources(template, "AWS::Logs::LogGroup").values()}
    assert logged == {f"/aws/lambda/${{{name}}}" for name in functions} | {"/aws/apigateway/${AWS::StackName}-proxy-access"}
    assert template["Resources"]["BufferedFunction"]["Properties"]["Handler"] == "handlers.api.handler"
    refresher = template["Resources"]["RefresherFunction"]["Properties"]
    assert refresher["Handler"] == "handlers.refresher.handler"
    assert refresher["Events"]["EveryFiveMinutes"]["Properties"]["Schedule"] == "rate(5 minutes)"


def test_iam_reaches_only_this_table_this_key_and_the_three_secrets(template: dict[str, Any]) -> None:
    statements = template["Resources"]["StateAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    targets = {s["Sid"]: s["Resource"] for s in statements}
    assert targets == {"StateTable": {"!GetAtt": "StateTable.Arn"}, "StateKey": {"!GetAtt": "StateKey.Arn"},
                       "Secrets": [{"!Ref": "ClientApiKeysSecret"}, {"!Ref": "UpstreamKeysSecret"},
                                   {"!Ref": "EncryptionKeySecret"}, {"!Ref": "ManagementKeysSecret"}]}
    assert all("*" not in action for s in statements for action in _list(s["Action"]))
    key = next(s for s in statements if s["Sid"] == "StateKey")
    via = json.dumps(key["Condition"]["StringEquals"]["kms:ViaService"])
    assert "dynamodb.${AWS::Region}" in via and "secretsmanager.${AWS::Region}" in via
    for fn in resources(template, "AWS::Serverless::Function").values():
        assert fn["Properties"]["Policies"] == [{"!Ref": "StateAccessPolicy"}]


def test_table_actions_are_exactly_the_calls_the_store_makes(template: dict[str, Any], on_lambda: Any) -> None:
    """The policy equals the store's request-time calls read from its source, and every call a real request
    or refresher run makes (recorded on moto) is among them."""
    import boto3

    from handlers import api, refresher

    statements = template["Resources"]["StateAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allowed = set(next(s for s in statements if s["Sid"] == "StateTable")["Action"])
    assert allowed == check_template().store_actions()
    made: set[str] = set()
    boto3.setup_default_session()  # clients made from here on inherit the hook
    boto3.DEFAULT_SESSION.events.register(  # type: ignore[union-attr]
        "before-call.dynamodb", lambda model, **_: made.add(f"dynamodb:{model.name}"))
    for event in ("chat-completions.json", "messages-stream.json", "models.json"):
        assert api.handler(on_lambda.event(event), on_lambda.context)["statusCode"] == 200
    refresher.handler(on_lambda.event("refresh-schedule.json"), on_lambda.context)
    assert made and made <= allowed, made - allowed


def test_secrets_are_created_by_the_stack_and_owned_by_the_operator(template: dict[str, Any]) -> None:
    """No parameter feeds the client or upstream keys, so a stack update never writes a rotated value back."""
    from handlers import lambda_config

    assert "ClientApiKeys" not in template["Parameters"]
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"ClientApiKeysSecret", "UpstreamKeysSecret", "EncryptionKeySecret",
                            "ManagementKeysSecret"}
    assert "GenerateSecretString" in secrets["ManagementKeysSecret"]["Properties"]
    assert "GenerateSecretString" in secrets["ClientApiKeysSecret"]["Properties"]
    assert "SecretString" not in secrets["ClientApiKeysSecret"]["Properties"]
    assert secrets["UpstreamKeysSecret"]["Properties"]["SecretString"] == "{}"
    for secret in secrets.values():
        assert secret["DeletionPolicy"] == "Retain" and secret["Properties"]["KmsKeyId"] == {"!Ref": "StateKey"}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert {*lambda_config.SECRETS.values(), lambda_config.UPSTREAM_SECRET} == {
        "CLIPROXY_API_KEYS_SECRET", "CLIPROXY_ENCRYPTION_KEY_SECRET", "CLIPROXY_UPSTREAM_KEYS_SECRET",
        "CLIPROXY_MANAGEMENT_KEYS_SECRET"}
    assert env["CLIPROXY_MANAGEMENT_KEYS_SECRET"] == {"!Ref": "ManagementKeysSecret"}
    assert env["CLIPROXY_API_KEYS_SECRET"] == {"!Ref": "ClientApiKeysSecret"}
    assert env["CLIPROXY_UPSTREAM_KEYS_SECRET"] == {"!Ref": "UpstreamKeysSecret"}
    assert env["CLIPROXY_ENCRYPTION_KEY_SECRET"] == {"!Ref": "EncryptionKeySecret"}
    assert "CLIPROXY_API_KEYS" not in env and "CLIPROXY_ENCRYPTION_KEY" not in env


def test_caps_stage_alarms_and_operator_parameters(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert {"ReservedConcurrency", "ThrottleRateLimit", "ThrottleBurstLimit", "AlarmTopicArn",
            "TableDeletionProtection", "EnableTracing", "WebAdapterLayerVersion"} <= set(params)
    assert params["TableDeletionProtection"]["Default"] == "true"
    assert params["AlarmTopicArn"]["Default"] == ""
    api = template["Resources"]["ProxyApi"]["Properties"]
    assert api["OpenApiVersion"] and api["StageName"] == "prod"
    rule = template["Rules"]["FunctionUrlNeedsReservedConcurrency"]
    assert rule["RuleCondition"] == {"!Equals": [{"!Ref": "EnableFunctionUrl"}, "true"]}
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(check_template().ALARMS)
    assert len(resources(template, "AWS::CloudWatch::Dashboard")) == 1


def test_web_adapter_layer_version_is_one_of_the_known(template: dict[str, Any]) -> None:
    known = check_template().known_layer_versions()
    param = template["Parameters"]["WebAdapterLayerVersion"]
    assert param["Default"] in known and set(param["AllowedValues"]) <= known


def test_outputs_name_the_client_settings(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "OpenAIBaseUrl", "AnthropicBaseUrl", "GeminiBaseUrl", "FunctionUrl", "TableName",
            "EncryptionKeySecretArn", "ClientApiKeysSecretArn", "UpstreamKeysSecretArn", "DashboardUrl"} <= set(outputs)
    assert outputs["OpenAIBaseUrl"]["Value"]["!Sub"].endswith("/prod/v1")
    assert "--table" in outputs["TableName"]["Description"]


def test_bundle_requirements_follow_pyproject_minus_runtime_boto3() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "deploy" / "lambda_requirements.py")], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    names = {re.split(r"[<>=;\s]", line, maxsplit=1)[0] for line in out if line}
    assert {"starlette", "uvicorn", "mangum", "httpx-aiohttp", "orjson", "aws-lambda-powertools"} <= names
    assert "boto3" not in names


# Each point of the operator's stack, broken one at a time: the translated-template check must name it.
BREAKAGES = {
    "streaming": ("ResponseTransferMode: RESPONSE_STREAM", "ResponseTransferMode: STREAM", "not streaming"),
    "timeouts": ("TimeoutInMillis: 900000", "TimeoutInMillis: 60000", "timeouts out of order"),
    "one stage": ('      OpenApiVersion: "3.0.1"  # without', "      # without", "expected only prod"),
    "throttling": ("ThrottlingRateLimit: !Ref ThrottleRateLimit\n          ThrottlingBurstLimit",
                   "ThrottlingBurstLimit", "no stage-wide throttling"),
    "reserved concurrency": ("      ReservedConcurrentExecutions: !If", "      # !If", "ReservedConcurrentExecutions"),
    "tracing": ("    Tracing: !If [Tracing, Active, PassThrough]\n", "", "tracing does not follow"),
    "deletion protection": ("DeletionProtectionEnabled: !If [ProtectTable, true, false]",
                            "DeletionProtectionEnabled: false", "DeletionProtectionEnabled"),
    "alarm": ("  CredentialsNeedLoginAlarm:", "  CredentialsNeedLoginAlarmGone:", "CredentialsNeedLoginAlarm missing"),
    "alarm topic": ("      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n"
                    "      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n\n  ApiThrottlesAlarm",
                    "\n  ApiThrottlesAlarm", "does not notify AlarmTopicArn"),
    "access log": ('"path":"$context.path"', '"path":"$context.path","q":"$input.params()"', "access log format"),
    "secret owner": ("      SecretString: \"{}\"", "      SecretString: !Ref EnableTracing", "a parameter owns"),
    "iam scan": ("              - dynamodb:Query\n", "              - dynamodb:Query\n              - dynamodb:Scan\n",
                 "differ from the store's calls"),
    "kms via": ("            Condition:\n              StringEquals:\n                kms:ViaService:",
                "            Metadata:\n              StringEquals:\n                kms:ViaService:", "kms:ViaService"),
    "refresher destination": ("            Destination: !GetAtt RefresherFailures.Arn",
                              "            Destination: !GetAtt ApiAccessLogs.Arn", "on-failure destination"),
    "port": ('PORT: "8000"', 'PORT: "8080"', "uvicorn on 8080"),
    "config path": ("CLIPROXY_CONFIG: !Ref ConfigFile", 'CLIPROXY_CONFIG: !Sub "/var/task/${ConfigFile}"',
                    "CLIPROXY_CONFIG"),
    "buffered timeout": ("      Timeout: 29\n", "      Timeout: 900\n", "29 s buffered integration"),
    "layer version": ("    Default: 30\n    AllowedValues: [24, 25, 26, 28, 29, 30]",
                      "    Default: 31\n    AllowedValues: [24, 25, 26, 28, 29, 30, 31]", "WebAdapterLayerVersion"),
}


@pytest.mark.timeout(300)
@pytest.mark.skipif(not SAM_PYTHON.exists(), reason="SAM CLI not installed (scripts/sam.sh install)")
def test_translated_template_check_catches_each_broken_point(tmp_path: Path) -> None:
    cmd = [str(SAM_PYTHON), str(ROOT / "scripts" / "check_template.py")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    source = (ROOT / "template.yaml").read_text()
    files = {}
    for name, (change, problem, _) in BREAKAGES.items():
        assert source.count(change) >= 1, f"{name}: {change!r} no longer in template.yaml"
        files[name] = tmp_path / f"{name.replace(' ', '-')}.yaml"
        files[name].write_text(source.replace(change, problem, 1))
    proc = subprocess.run([*cmd, "--each", *map(str, files.values())], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    verdicts = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if line.startswith(str(tmp_path)))
    missed = [f"{name}: {verdicts.get(str(path))}" for name, path in files.items()
              if BREAKAGES[name][2] not in (verdicts.get(str(path)) or "")]
    assert not missed, "\n".join(missed)


def check_template() -> Any:
    """scripts/check_template.py as a module (its SAM imports are lazy, so the project venv can load it)."""
    return script("check_template")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
