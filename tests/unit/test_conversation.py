"""A Responses WebSocket connection's conversation: each turn expanded to the whole input."""

from __future__ import annotations

import pytest

from core import conversation, errors


def user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


ANSWER = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a1"}]}


def test_create_forces_stream_and_drops_connection_fields():
    conv = conversation.Conversation()
    body = conv.next_body({"type": "response.create", "model": "m", "input": "hi", "stream": False,
                           "generate": True, "api_key": "k", "previous_response_id": "nope", "tools": []})
    assert body == {"model": "m", "input": [user("hi")], "stream": True, "tools": []}


def test_previous_response_id_of_this_connection_expands_the_input():
    conv = conversation.Conversation()
    first = conv.next_body({"type": "response.create", "model": "m", "input": [user("q1")]})
    conv.record(first, {"id": "resp_1", "output": [ANSWER]})
    second = conv.next_body({"type": "response.create", "model": "m", "input": [user("q2")],
                             "previous_response_id": "resp_1"})
    assert second["input"] == [user("q1"), ANSWER, user("q2")]
    conv.record(second, {"id": "resp_2", "output": []})
    other = conv.next_body({"type": "response.create", "model": "m", "input": [user("q3")],
                            "previous_response_id": "resp_1"})  # not the last answer: nothing to build on
    assert other["input"] == [user("q3")]
    appended = conv.next_body({"type": "response.append", "input": [user("q4")]})
    assert appended["input"] == [user("q1"), ANSWER, user("q2"), user("q4")] and appended["model"] == "m"


def test_warm_up_answers_locally_and_becomes_the_base():
    conv = conversation.Conversation()
    body = conv.next_body({"type": "response.create", "model": "m", "input": [user("q1")], "generate": False})
    created, completed = conv.warm_up(body)
    assert created["type"] == "response.created" and completed["type"] == "response.completed"
    rid = completed["response"]["id"]
    nxt = conv.next_body({"type": "response.create", "model": "m", "input": [], "previous_response_id": rid})
    assert nxt["input"] == [user("q1")]


@pytest.mark.parametrize("frame", [
    {"type": "response.cancel"},
    {"type": "response.create", "input": []},
    {"type": "response.create", "model": "m", "input": 3},
    {"type": "response.append", "input": [user("x")]},  # nothing created yet
    {"type": "response.append", "input": "x"},
])
def test_refused_frames(frame):
    with pytest.raises(errors.BadRequestError):
        conversation.Conversation().next_body(frame)
