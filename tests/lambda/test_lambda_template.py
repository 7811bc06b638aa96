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
    assert "handlers.api:app" in text and '"${PORT:-8080}"' in text and "/opt/python" in text


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
    assert logged == {f"/aws/lambda/${{{name}}}" for name in functions}
    assert template["Resources"]["BufferedFunction"]["Properties"]["Handler"] == "handlers.api.handler"
    refresher = template["Resources"]["RefresherFunction"]["Properties"]
    assert refresher["Handler"] == "handlers.refresher.handler"
    assert refresher["Events"]["EveryFiveMinutes"]["Properties"]["Schedule"] == "rate(5 minutes)"


def test_iam_reaches_only_this_table_this_key_and_the_two_secrets(template: dict[str, Any]) -> None:
    statements = template["Resources"]["StateAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    targets = {s["Sid"]: s["Resource"] for s in statements}
    assert targets == {"StateTable": {"!GetAtt": "StateTable.Arn"}, "StateKey": {"!GetAtt": "StateKey.Arn"},
                       "Secrets": [{"!Ref": "ClientApiKeysSecret"}, {"!Ref": "EncryptionKeySecret"}]}
    assert all("*" not in action for s in statements for action in _list(s["Action"]))
    for fn in resources(template, "AWS::Serverless::Function").values():
        assert fn["Properties"]["Policies"] == [{"!Ref": "StateAccessPolicy"}]


def test_client_keys_reach_the_functions_only_through_a_secret(template: dict[str, Any]) -> None:
    from handlers import lambda_config

    assert template["Parameters"]["ClientApiKeys"]["NoEcho"] is True
    uses = re.findall(r"ClientApiKeys\b(?!Secret)", json.dumps(template["Resources"]))
    assert len(uses) == 1  # the SecretString of ClientApiKeysSecret, nowhere else
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(lambda_config.SECRETS.values()) == {"CLIPROXY_API_KEYS_SECRET", "CLIPROXY_ENCRYPTION_KEY_SECRET"}
    assert env["CLIPROXY_API_KEYS_SECRET"] == {"!Ref": "ClientApiKeysSecret"}
    assert env["CLIPROXY_ENCRYPTION_KEY_SECRET"] == {"!Ref": "EncryptionKeySecret"}
    assert "CLIPROXY_API_KEYS" not in env and "CLIPROXY_ENCRYPTION_KEY" not in env


def test_outputs_name_the_client_settings(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "OpenAIBaseUrl", "AnthropicBaseUrl", "GeminiBaseUrl", "FunctionUrl", "TableName",
            "EncryptionKeySecretArn"} <= set(outputs)
    assert outputs["OpenAIBaseUrl"]["Value"]["!Sub"].endswith("/prod/v1")
    assert "--table" in outputs["TableName"]["Description"]


def test_bundle_requirements_follow_pyproject_minus_runtime_boto3() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "deploy" / "lambda_requirements.py")], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    names = {re.split(r"[<>=;\s]", line, maxsplit=1)[0] for line in out if line}
    assert {"fastapi", "uvicorn", "mangum", "httpx-aiohttp", "orjson", "aws-lambda-powertools"} <= names
    assert "boto3" not in names


@pytest.mark.skipif(not SAM_PYTHON.exists(), reason="SAM CLI not installed (scripts/sam.sh install)")
@pytest.mark.parametrize(("change", "problem"), [
    ("ResponseTransferMode: RESPONSE_STREAM", "ResponseTransferMode: STREAM"),
    ("TimeoutInMillis: 900000", "TimeoutInMillis: 60000"),
])
def test_translated_template_check_catches_silent_buffering(tmp_path: Path, change: str, problem: str) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text((ROOT / "template.yaml").read_text().replace(change, problem))
    cmd = [str(SAM_PYTHON), str(ROOT / "scripts" / "check_template.py")]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    proc = subprocess.run([*cmd, "--template", str(broken)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
