"""The `sam local` template is derived from template.yaml (scripts/sam_local_template.py), never kept by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".tools" / "sam" / "bin" / "python"  # aws-sam-cli's venv (scripts/sam.sh install; make test)


class _Tags(yaml.SafeLoader):
    """The generated template uses long-form intrinsics; template.yaml's short tags are read as plain values."""


_Tags.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not SAM_PYTHON.exists():
        pytest.skip("aws-sam-cli not installed in .tools/sam (scripts/sam.sh install; make test does it)")
    out = tmp_path_factory.mktemp("samlocal") / "template.yaml"
    done = subprocess.run([str(SAM_PYTHON), str(ROOT / "scripts" / "sam_local_template.py"), "--arch", "x86_64",
                           str(out)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(out.read_text())


def test_only_the_buffered_function_and_its_layer_for_the_host(derived: dict) -> None:
    resources = derived["Resources"]
    assert set(resources) == {"BufferedFunction", "DependenciesLayer"}
    assert "Conditions" not in derived and "Outputs" not in derived
    function, layer = resources["BufferedFunction"], resources["DependenciesLayer"]
    assert "Condition" not in function
    assert function["Properties"]["Architectures"] == ["x86_64"] == derived["Globals"]["Function"]["Architectures"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"] == [layer["Metadata"]["BuildArchitecture"]]
    assert {e["Properties"]["Path"] for e in function["Properties"]["Events"].values()} == {"/", "/{proxy+}"}
    assert all("RestApiId" not in e["Properties"] for e in function["Properties"]["Events"].values())


def test_what_the_function_runs_comes_from_template_yaml(derived: dict) -> None:
    source = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Tags)  # noqa: S506 (SafeLoader subclass)
    function = derived["Resources"]["BufferedFunction"]["Properties"]
    assert function["Handler"] == source["Resources"]["BufferedFunction"]["Properties"]["Handler"]
    assert derived["Globals"]["Function"]["Runtime"] == source["Globals"]["Function"]["Runtime"]
    assert Path(derived["Globals"]["Function"]["CodeUri"]) == ROOT / source["Globals"]["Function"]["CodeUri"]
    variables = derived["Globals"]["Function"]["Environment"]["Variables"]
    assert set(source["Globals"]["Function"]["Environment"]["Variables"]) <= set(variables)
    # the values the local run fills through --env-vars are declared; none is an unresolved intrinsic
    assert {"CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY", "CLIPROXY_STORE_ENDPOINT"} <= set(variables)
    assert all(isinstance(value, str) for value in variables.values())
    assert variables["CLIPROXY_CONFIG"] == "/var/task/config.samlocal.yaml"
