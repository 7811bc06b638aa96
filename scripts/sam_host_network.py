"""SAM CLI with `--docker-network host` taken literally: the function's container shares the host's network.

SAM (1.170; aws/aws-sam-cli#4236) accepts `--docker-network host` yet still publishes the emulator's port on a
bridge and calls the container through it, so the function cannot reach a server on the host's 127.0.0.1 (the
fake upstream, a moto DynamoDB). This launcher wraps two SAM/docker-py calls before running SAM's own CLI:
containers are created in host network mode without port bindings, and the Lambda emulator in them listens on
the loopback port SAM will call (its runtime API on another free port, so warm containers never clash).

    .tools/sam/bin/python scripts/sam_host_network.py local start-api --docker-network host \
        --container-host 127.0.0.1 --skip-pull-image ...
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from typing import Any

EMULATOR = "aws-lambda-rie"


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def patch_sam() -> None:
    """Route SAM's host-network containers onto the host's network; SAM unchanged if its internals moved."""
    try:
        from docker.models.containers import ContainerCollection
        from samcli.local.docker.container import Container
    except ImportError as exc:
        print(f"sam_host_network: not patched ({exc}); containers stay on Docker's bridge", file=sys.stderr)
        return
    creating = threading.local()  # the SAM container being created on this thread, when it asked for host mode
    sam_create, docker_create = Container.create, ContainerCollection.create

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        creating.container = self if getattr(self, "network_id", None) == "host" else None
        try:
            return sam_create(self, *args, **kwargs)
        finally:
            creating.container = None

    def create_on_host(collection: Any, image: Any, command: Any = None, **kwargs: Any) -> Any:
        container = getattr(creating, "container", None)
        if container is not None:
            kwargs.pop("ports", None)  # Docker refuses port bindings in host mode
            kwargs["network_mode"] = "host"
            entrypoint, port = kwargs.get("entrypoint"), getattr(container, "rapid_port_host", None)
            if isinstance(entrypoint, list) and entrypoint and str(entrypoint[0]).endswith(EMULATOR) and port:
                kwargs["entrypoint"] = [*entrypoint, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                                        "--runtime-api-address", f"127.0.0.1:{free_loopback_port()}"]
        return docker_create(collection, image, command, **kwargs)

    Container.create = create
    ContainerCollection.create = create_on_host


def main(argv: list[str]) -> None:
    # a background job of a non-interactive shell starts with SIGINT ignored: give SAM its Ctrl-C back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    patch_sam()
    from samcli.cli.main import cli

    sys.argv = ["sam", *argv]
    sys.exit(cli(prog_name="sam"))


if __name__ == "__main__":
    main(sys.argv[1:])
