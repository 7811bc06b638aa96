"""cliproxy core: pure, stateless pieces of the proxy (no web framework, no boto3 at import time)."""
