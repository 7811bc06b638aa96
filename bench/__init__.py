"""``make bench``: added latency, streaming cost, throughput, memory, cold import and DynamoDB calls.

Every target sits in front of the same very fast fake upstream (``bench.upstream``) and gets the same
requests, interleaved round by round, from a raw asyncio load client (``bench.client``):

    direct       the fake upstream itself (the baseline every "added" figure subtracts)
    passthrough  a bare starlette + uvicorn + aiohttp proxy (``bench.passthrough``)
    cliproxy     our proxy, a separate ``cliproxy serve`` process (uvicorn, uvloop, httptools)
    litellm      LiteLLM's proxy, only with ``--peers litellm`` (installed on demand into ``.tools/litellm``)

Run from the repo root: ``python -m bench [--peers litellm] [--long]``. Results go to ``bench-results.json``.
"""
