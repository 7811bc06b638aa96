"""Backend-specific set-up: DynamoDB table creation, SQLite schema and key file, open_store's lazy imports."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.store.conftest import KEY, table_from_template

from core import crypto
from core import store as stores
from core.config import StoreConfig
from core.credentials import Credential
from core.store import records


async def test_dynamodb_init_creates_an_on_demand_table_with_ttl_once(dynamodb_client):
    store = stores.open_store(StoreConfig(backend="dynamodb", table="fresh"), dynamodb_client=dynamodb_client,
                              encryption_key=KEY)

    assert await store.init() is True
    assert await store.init() is False
    table = dynamodb_client.describe_table(TableName="fresh")["Table"]
    ttl = dynamodb_client.describe_time_to_live(TableName="fresh")["TimeToLiveDescription"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert ttl == {"AttributeName": "ttl", "TimeToLiveStatus": "ENABLED"}
    assert await store.put({"pk": "a", "sk": "b"}) is True


def test_init_table_matches_the_template():
    props = table_from_template()

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert props["TimeToLiveSpecification"]["AttributeName"] == "ttl"


async def test_sqlite_creates_parent_dir_schema_and_a_private_key_file(tmp_path):
    path = tmp_path / "deep" / "dir" / "cliproxy.db"
    store = stores.open_store(StoreConfig(backend="sqlite", path=str(path)))
    cred = Credential(id="c", kind="claude", provider="claude", auth_type="oauth", access_token="secret-at")
    await records.save_credential(store, cred, expected_version=0)
    await store.close()

    key_file = tmp_path / "deep" / "dir" / ".cliproxy.key"
    assert path.exists() and key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600

    reopened = stores.open_store(StoreConfig(backend="sqlite", path=str(path)))  # same key file, same secrets
    assert (await records.get_credential(reopened, "c")).access_token == "secret-at"
    await reopened.close()


async def test_sqlite_data_survives_reopening(tmp_path):
    cfg = StoreConfig(backend="sqlite", path=str(tmp_path / "x.db"))
    first = stores.open_store(cfg, encryption_key=KEY)
    await first.add("U", "k", {"n": 2})
    await first.close()

    second = stores.open_store(cfg, encryption_key=KEY)
    assert await second.get("U", "k") == {"pk": "U", "sk": "k", "n": 2}
    await second.close()


def test_open_store_does_not_import_boto3_for_local_backends(tmp_path):
    code = (
        "import sys; from core import store; from core.config import StoreConfig;"
        f"store.open_store(StoreConfig(backend='sqlite', path={str(tmp_path / 'a.db')!r}));"
        "store.open_store(StoreConfig(backend='memory'));"
        "assert 'boto3' not in sys.modules and 'cryptography' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cipher_round_trip_and_refusals():
    cipher = crypto.Cipher(KEY)
    token = cipher.encrypt("hello")

    assert token.startswith("enc:v1:") and "hello" not in token
    assert cipher.decrypt(token) == "hello"
    assert cipher.encrypt("hello") != token  # fresh nonce each time
    for bad in ("hello", "enc:v1:AAAA", crypto.Cipher(crypto.generate_key()).encrypt("hello")):
        try:
            cipher.decrypt(bad)
        except crypto.CryptoError as exc:
            assert "hello" not in str(exc)
        else:
            raise AssertionError(f"decrypted {bad!r}")


def test_check_key_explains_a_bad_key():
    assert crypto.check_key(KEY) is None
    assert crypto.check_key(crypto.generate_key()) is None
    assert crypto.check_key("c2hvcnQ=") == "expected urlsafe base64 of 32 bytes, got 5 bytes"
