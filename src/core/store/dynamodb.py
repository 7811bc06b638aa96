"""DynamoDB store: one table, ``pk`` (S) hash + ``sk`` (S) range, TTL attribute ``ttl``, on-demand billing.

boto3 is synchronous, so every call runs in a worker thread. The client is injectable (moto in tests);
otherwise it is made here, honouring ``region`` and ``endpoint-url`` (DynamoDB Local, LocalStack).
DynamoDB deletes expired items lazily (up to days later), so reads filter on ``ttl`` themselves.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.store.base import IfAbsent, IfExpired, IfOwner, IfVersion

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.config import StoreConfig
    from core.crypto import Cipher
    from core.store.base import Cond, Item

_NOT_LIVE = "attribute_not_exists(pk) OR #ttl <= :now"


class DynamoStore:
    def __init__(self, cfg: StoreConfig, *, client: Any = None, cipher: Cipher | None = None) -> None:
        self.table = cfg.table
        self.cipher = cipher
        if client is None:
            from core import awsclient

            client = awsclient.client("dynamodb", region_name=cfg.region, endpoint_url=cfg.endpoint_url)
        self._client = client
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._ser, self._de = TypeSerializer(), TypeDeserializer()

    async def init(self) -> bool:
        """Create the table (on-demand, TTL on ``ttl``) unless it exists. True when it was created."""
        return await asyncio.to_thread(self._create_table)

    async def get(self, pk: str, sk: str) -> Item | None:
        out = await asyncio.to_thread(
            self._client.get_item, TableName=self.table, Key=self._key(pk, sk), ConsistentRead=True
        )
        item = self._decode(out["Item"]) if "Item" in out else None
        return item if item is not None and _alive(item, time.time()) else None

    async def query(self, pk: str, sk_prefix: str = "") -> list[Item]:
        return await asyncio.to_thread(self._query, pk, sk_prefix)

    async def put(self, item: Item, *, cond: Cond | None = None) -> bool:
        args: dict[str, Any] = {"TableName": self.table, "Item": self._encode(item)}
        if cond is not None:
            args.update(_condition(cond))
        try:
            await asyncio.to_thread(self._client.put_item, **args)
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    async def delete(self, pk: str, sk: str) -> None:
        await asyncio.to_thread(self._client.delete_item, TableName=self.table, Key=self._key(pk, sk))

    async def add(self, pk: str, sk: str, counters: Mapping[str, int], *, ttl: float | None = None) -> dict[str, int]:
        names = {f"#c{i}": name for i, name in enumerate(counters)}
        values: dict[str, Any] = {f":c{i}": {"N": str(int(n))} for i, n in enumerate(counters.values())}
        update = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
        if ttl is not None:
            names["#ttl"], values[":ttl"] = "ttl", {"N": str(int(ttl))}
            update += " SET #ttl = :ttl"
        out = await asyncio.to_thread(
            self._client.update_item, TableName=self.table, Key=self._key(pk, sk), ReturnValues="UPDATED_NEW",
            UpdateExpression=update, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
        )
        new = self._decode(out.get("Attributes", {}))
        return {name: int(new.get(name, 0)) for name in counters}

    async def close(self) -> None:
        """The client holds no resources that need releasing."""

    def _query(self, pk: str, sk_prefix: str) -> list[Item]:
        args: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :p)" if sk_prefix else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":p": {"S": sk_prefix}} if sk_prefix else {})},
        }
        now, items = time.time(), []
        while True:
            page = self._client.query(**args)
            items += [it for it in map(self._decode, page.get("Items", [])) if _alive(it, now)]
            if "LastEvaluatedKey" not in page:
                return items
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _create_table(self) -> bool:
        try:
            self._client.describe_table(TableName=self.table)
            return False
        except Exception as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
        self._client.create_table(
            TableName=self.table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        self._client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1})
        self._client.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
        return True

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _encode(self, item: Item) -> dict[str, Any]:
        return {k: self._ser.serialize(_to_dynamo(v)) for k, v in item.items()}

    def _decode(self, raw: dict[str, Any]) -> Item:
        return {k: _from_dynamo(self._de.deserialize(v)) for k, v in raw.items()}


def _condition(cond: Cond) -> dict[str, Any]:
    """The ConditionExpression for ``cond``: the rules of ``conditions.cond_holds``, stated for DynamoDB."""
    names = {"#ttl": "ttl"}
    match cond:
        case IfAbsent(now=now) | IfExpired(now=now):
            expr, values = _NOT_LIVE, {":now": _number(now)}
        case IfVersion(version=0):
            expr = f"{_NOT_LIVE} OR attribute_not_exists(#ver) OR #ver = :v"
            values, names["#ver"] = {":now": _number(time.time()), ":v": {"N": "0"}}, "version"
        case IfVersion(version=v):
            expr = "#ver = :v AND (attribute_not_exists(#ttl) OR #ttl > :now)"
            values, names["#ver"] = {":now": _number(time.time()), ":v": {"N": str(v)}}, "version"
        case IfOwner(owner=owner):
            return {"ConditionExpression": "#owner = :owner", "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": {":owner": {"S": owner}}}
    return {"ConditionExpression": expr, "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values}


def _error_code(exc: Exception) -> str | None:
    """The DynamoDB error code of a botocore ClientError. Matched by code, not by ``client.exceptions.X``:
    botocore builds those classes lazily per thread-racing caller, so a racing write could raise a class
    that ``except client.exceptions.X`` does not match (seen with concurrent conditional puts)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _alive(item: Item, now: float) -> bool:
    ttl = item.get("ttl")
    return ttl is None or ttl > now


def _number(n: float) -> dict[str, str]:
    return {"N": repr(float(n)) if isinstance(n, float) else str(n)}


def _to_dynamo(value: Any) -> Any:
    """floats become Decimal (boto3 refuses floats); containers are converted element by element."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    """Decimal back to int or float, so items read the same from every backend."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value
