"""cliproxy core: pure, stateless pieces of the proxy (no FastAPI, no boto3 at import time)."""
