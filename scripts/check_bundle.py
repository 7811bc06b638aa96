"""Check the `sam build` output: what Lambda will unzip, that no config in it holds a secret, and that it
imports on Python 3.12.

Secrets live in the stack's Secrets Manager secrets, never in the bundle: a bundled config with a key-shaped
value (an ``api-key``/``encryption-key`` field with a value, or any ``sk-...``, ``AIza...``, JWT or ``enc:v1:``
string) fails the check, naming the file and the field but not the value.

The layer holds aarch64 wheels that cannot load on an x86_64 build host, so the import runs the built function
code against an x86_64 twin of the same requirements (same resolved versions, checked) plus boto3, which the
Lambda runtime provides. Run with a python3.12: ``scripts/sam.sh check``.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
LAYER = BUILD / "DependenciesLayer" / "python"
TWIN = ROOT / ".aws-sam" / "x86-twin"
FUNCTIONS = ("ApiFunction", "RefresherFunction", "BufferedFunction")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + all its layers
WEB_ADAPTER_ALLOWANCE = 10 * 1024 * 1024  # the LWA layer (~5 MB), counted against ApiFunction
X86 = ["--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "--implementation", "cp",
       "--python-version", "3.12", "--only-binary=:all:"]


# A field that holds a secret, with a value on the same line (YAML `api-key: x`, `- api-key: x`, JSON "api-key": "x").
SECRET_FIELD = re.compile(r"""(?i)(?:^|[\s\-{,\[])["']?(api-keys?|encryption-key|access-token|refresh-token|password)["']?"""
                          r"""\s*:\s*(?!\s*(#|$|\[\s*\]|""|''|null\b|~))""")
SECRET_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}|\bAIza[0-9A-Za-z_\-]{20,}|"
                           r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+\.|\benc:v1:[A-Za-z0-9_\-=]{8,}")


def config_secrets(fn_dir: Path) -> list[str]:
    """``file:line (field)`` for every key-shaped value in the bundle's config files (text scan: no YAML
    library on the checking interpreter, and comments are skipped)."""
    found = []
    for path in sorted(p for p in fn_dir.glob("config*") if p.suffix in (".yaml", ".yml", ".json")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            field = SECRET_FIELD.search(code)
            if field or SECRET_SHAPES.search(code):
                found.append(f"{path.name}:{number} ({field.group(1) if field else 'key-shaped value'})")
    return found


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def distributions(site: Path) -> set[str]:
    return {d.name.removesuffix(".dist-info").lower() for d in site.glob("*.dist-info")}


def check_files(fn_dir: Path) -> list[str]:
    problems = []
    run_sh = fn_dir / "run.sh"
    if not run_sh.is_file() or not os.access(run_sh, os.X_OK):
        problems.append(f"{fn_dir.name}: run.sh missing or not executable")
    if not list((fn_dir / "handlers" / "__pycache__").glob("api.cpython-312.pyc")):
        problems.append(f"{fn_dir.name}: handlers/api.py has no precompiled cpython-312 bytecode")
    if not (fn_dir / "config.lambda.yaml").is_file():
        problems.append(f"{fn_dir.name}: bundled config.lambda.yaml missing")
    return problems


def build_twin() -> list[str]:
    reqs = subprocess.run([sys.executable, str(ROOT / "deploy" / "lambda_requirements.py")], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    pins = sorted(_pins(LAYER))
    _pip_install(TWIN / "deps", pins)
    _pip_install(TWIN / "runtime", ["boto3"])
    missing = {_norm(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in reqs} - {
        _norm(p.split("==")[0]) for p in pins}
    return [f"requirement not in the layer: {name}" for name in sorted(missing)]


def _pip_install(target: Path, requirements: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--root-user-action=ignore", *X86, "--target", str(target), "--upgrade", *requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"check_bundle: pip install for the import twin failed:\n{proc.stderr[-3000:]}")


def _norm(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _pins(site: Path) -> set[str]:
    """``name==version`` for every distribution in ``site`` (dist-info dir names are ``name-version``)."""
    return {"==".join(d.rsplit("-", 1)) for d in distributions(site)}


def check_import(fn_dir: Path) -> tuple[list[str], float]:
    path = os.pathsep.join([str(fn_dir), str(TWIN / "deps"), str(TWIN / "runtime")])
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, "PYTHONNOUSERSITE": "1",
           "CLIPROXY_CONFIG": str(fn_dir / "config.lambda.yaml"), "AWS_DEFAULT_REGION": "us-east-1",
           # the app refuses to start without its store (core.readiness); here there is no table and no secret,
           # so it gets a memory store and a throw-away key: the check is that the bundle imports and builds
           "CLIPROXY_STORE_BACKEND": "memory", "CLIPROXY_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()}
    # Import timed alone (the cold-start figure), then the app built from the bundled config.
    code = ("import time; t=time.perf_counter(); import handlers.api, handlers.refresher; "
            "print(time.perf_counter()-t); handlers.api.handler")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0]={path.split(os.pathsep)!r}; {code}"],
                          env=env, capture_output=True, text=True, cwd=fn_dir)
    if proc.returncode != 0:
        return [f"{fn_dir.name}: import handlers.api failed:\n{proc.stderr[-2000:]}"], 0.0
    return [], float(proc.stdout.split()[0] if proc.stdout.strip() else time.perf_counter() - started)


def main() -> int:
    if sys.version_info[:2] != (3, 12):
        print("check_bundle: run with python3.12 (the Lambda runtime's version)", file=sys.stderr)
        return 2
    problems = [] if LAYER.is_dir() else [f"no layer build at {LAYER}: run `scripts/sam.sh build` first"]
    layer_size = tree_size(LAYER) if LAYER.is_dir() else 0
    for name in FUNCTIONS:
        fn_dir = BUILD / name
        size = tree_size(fn_dir) + layer_size + (WEB_ADAPTER_ALLOWANCE if name == "ApiFunction" else 0)
        print(f"check_bundle: {name}: {size / 2**20:.1f} MB unzipped with layers (limit 250 MB)")
        if size >= LAMBDA_UNZIPPED_LIMIT:
            problems.append(f"{name}: {size} bytes unzipped is over Lambda's limit")
        problems += check_files(fn_dir)
        problems += [f"{name}: secret in the bundle (put it in the stack's secrets): {where}"
                     for where in config_secrets(fn_dir)]
    if not problems:
        problems += build_twin()
        errors, seconds = check_import(BUILD / "ApiFunction")
        problems += errors
        if not errors:
            print(f"check_bundle: built ApiFunction imports handlers.api + handlers.refresher in {seconds * 1000:.0f} ms"
                  " and builds the app from config.lambda.yaml (x86_64 twin of the layer, python3.12)")
    for p in problems:
        print("check_bundle:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
