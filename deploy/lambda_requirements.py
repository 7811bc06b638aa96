"""Print the Lambda bundle's requirements: pyproject's runtime dependencies plus the `aws` extra.

boto3 is left out on purpose: the python3.12 Lambda runtime ships it, and bundling botocore would add
about 25 MB to every cold start's unzip. One source of truth, so the bundle cannot drift from pyproject.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath"}


def requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["aws"]]
    return [req for req in wanted if _name(req) not in RUNTIME_PROVIDED]


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(requirements(root / "pyproject.toml")))
    sys.exit(0)
