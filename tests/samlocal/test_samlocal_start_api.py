"""`sam local start-api` with the official SDKs (OpenAI chat, Anthropic, Gemini) pointed at it, the fake upstream
behind it (non-stream), and the DynamoDB store on a moto server on the host's loopback. start-api runs every
request in a fresh container, so what one request leaves for the next travels through DynamoDB only: the
cold-start story, locally."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from tests.samlocal.conftest import CLIENT_KEY, ENCRYPTION_KEY, REGION, TABLE, UPSTREAM_KEYS, config_doc

from core.store import records

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.upstream import FakeUpstream, Recorded

    from core.credentials import Credential

pytestmark = [pytest.mark.samlocal, pytest.mark.timeout(600)]
CLAUDE_MODEL = "claude-sonnet-4-6"


def test_openai_sdk_chat_through_start_api(sam_api: str, sam_fake: FakeUpstream) -> None:
    import openai

    sam_fake.reset()
    client = openai.OpenAI(base_url=sam_api + "/v1", api_key=CLIENT_KEY, timeout=60, max_retries=0)
    started = time.monotonic()
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    print(f"start-api request (fresh container): {time.monotonic() - started:.1f}s")
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content
    sent = [r for r in sam_fake.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 1 and sent[0].headers["authorization"] == f"Bearer {UPSTREAM_KEYS['openai']}"


def test_anthropic_sdk_messages_through_start_api(sam_api: str, sam_fake: FakeUpstream) -> None:
    import anthropic

    sam_fake.reset()
    client = anthropic.Anthropic(base_url=sam_api, api_key=CLIENT_KEY, timeout=60, max_retries=0)
    reply = client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.content[0].type == "text" and reply.content[0].text
    assert [r.path for r in sam_fake.requests] == ["/v1/messages"]
    assert secret_of(sam_fake.requests[0]) in UPSTREAM_KEYS["claude"]


def test_gemini_sdk_generate_content_through_start_api(sam_api: str, sam_fake: FakeUpstream) -> None:
    from google import genai
    from google.genai import types

    sam_fake.reset()
    client = genai.Client(api_key=CLIENT_KEY, http_options=types.HttpOptions(base_url=sam_api, timeout=60_000))
    reply = client.models.generate_content(model="gemini-2.5-pro", contents="Hi")
    assert reply.text
    sent = [r for r in sam_fake.requests if ":generateContent" in r.path]
    assert len(sent) == 1 and "/models/gemini-test:" in sent[0].path
    assert secret_of(sent[0]) == UPSTREAM_KEYS["gemini"]


def test_models_list_through_start_api(sam_api: str) -> None:
    import openai

    client = openai.OpenAI(base_url=sam_api + "/v1", api_key=CLIENT_KEY, timeout=60, max_retries=0)
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini", CLAUDE_MODEL, "gemini-2.5-pro"} <= ids


def test_bad_key_is_refused_through_start_api(sam_api: str, sam_fake: FakeUpstream) -> None:
    import openai

    sam_fake.reset()
    client = openai.OpenAI(base_url=sam_api + "/v1", api_key="sk-wrong", timeout=60, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 401
    assert "sk-wrong" not in caught.value.response.text
    assert sam_fake.requests == []


def test_session_pin_survives_into_the_next_container(sam_api: str, sam_fake: FakeUpstream, moto_dynamodb: Any,
                                                      sam_stack: Path) -> None:
    """The session's home credential fails once: the request succeeds on the other key and pins the session
    there. With the home credential healthy again, the next request -- another container, nothing in memory --
    still goes to the pinned key, which it can only have learnt from DynamoDB."""
    import anthropic

    session = "samlocal-pin"
    creds = {c.id: c for c in claude_credentials(sam_fake)}
    home = home_of(tuple(creds.values()), session)
    client = anthropic.Anthropic(base_url=sam_api, api_key=CLIENT_KEY, timeout=60, max_retries=0,
                                 default_headers={"x-session-id": session})

    sam_fake.reset()
    sam_fake.fail(500, times=1, when_token=creds[home].api_key)
    before = containers(sam_stack)
    client.messages.create(model=CLAUDE_MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    first = [secret_of(r) for r in sam_fake.requests]
    (away,) = (cid for cid in creds if cid != home)
    assert first == [creds[home].api_key, creds[away].api_key]
    assert pin_in_table(moto_dynamodb, session) == away
    # the home credential healthy again in the table, so only the pin can keep the session away
    assert (home, CLAUDE_MODEL) in cooldowns_in_table(moto_dynamodb)
    in_table(moto_dynamodb, lambda store: records.clear_cooldown(store, home, CLAUDE_MODEL))
    assert cooldowns_in_table(moto_dynamodb) == {}

    sam_fake.reset()
    client.messages.create(model=CLAUDE_MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    assert [secret_of(r) for r in sam_fake.requests] == [creds[away].api_key]
    assert pin_in_table(moto_dynamodb, session) == away
    first_container, second_container = containers(sam_stack)[len(before):]
    assert first_container != second_container  # two cold starts, nothing shared in memory


# --- helpers ----------------------------------------------------------------------------------------------------


def containers(stack: Path) -> list[str]:
    """The function containers start-api has started so far, in order (SAM logs each one's id)."""
    return re.findall(r"SAM_CONTAINER_ID: (\w+)", (stack / "start-api.log").read_text())


def secret_of(sent: Recorded) -> str:
    """The upstream key a recorded request carried."""
    h = sent.headers
    found = h.get("x-api-key") or h.get("x-goog-api-key") or h.get("authorization", "").removeprefix("Bearer ")
    return found or sent.query.get("key", "")


def claude_credentials(fake: FakeUpstream) -> tuple[Credential, ...]:
    """The function's Claude credentials, parsed from the same config (ids depend on the fake's URL)."""
    from core import config as cfgmod

    return tuple(c for c in cfgmod.parse(config_doc(fake), "samlocal").credentials if c.provider == "claude")


def home_of(creds: tuple[Credential, ...], session: str) -> str:
    """Where the session lands with nothing pinned or cooling (no record needed there)."""
    from core import models, pool

    target = models.Index(creds).resolve(CLAUDE_MODEL)
    home = pool.candidates(target, now=time.time(), cooldowns={}, session=f"header:{session}").home
    assert home is not None
    return home


def in_table(client: Any, work: Any) -> Any:
    """Run ``work(store)`` against the function's table on the moto server, from the test process."""
    from core import config as cfgmod
    from core.store import open_store

    cfg = cfgmod.StoreConfig(backend="dynamodb", table=TABLE, region=REGION, endpoint_url=client.endpoint)

    async def go() -> Any:
        return await work(open_store(cfg, dynamodb_client=client, encryption_key=ENCRYPTION_KEY))

    return asyncio.run(go())


def cooldowns_in_table(client: Any) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = in_table(client, lambda s: records.load_cooldowns(s, time.time()))
    return found


def pin_in_table(client: Any, session: str) -> str | None:
    found = in_table(client, lambda s: records.get_pin(s, "claude", f"header:{session}", CLAUDE_MODEL, time.time()))
    return found[0] if found else None
