"""Reasoning signatures shown to a client of another dialect come back with their origin."""

from __future__ import annotations

import base64

from core import ir, signatures


def test_wrapped_signature_is_base64_and_unwraps_to_its_origin():
    wrapped = signatures.wrap("gAAAAB-encrypted==", "openai_responses")
    base64.b64decode(wrapped, validate=True)  # SDKs type thoughtSignature / signature as bytes
    assert signatures.unwrap(wrapped) == ("openai_responses", "gAAAAB-encrypted==")


def test_wrapping_twice_keeps_the_first_origin():
    once = signatures.wrap("sig", "anthropic")
    assert signatures.wrap(once, "gemini") == once


def test_native_signatures_are_not_taken_for_wrapped_ones():
    assert signatures.unwrap("EqQBCkYIBxgCKkBsig") is None
    assert signatures.unwrap("Y3B4MTpnotbase64!!") is None


def test_restore_gives_reasoning_back_its_origin_and_raw_signature():
    wrapped = signatures.wrap("enc-1", "openai_responses")
    req = ir.Request(model="m", dialect="anthropic", messages=(
        ir.Message("assistant", (ir.Reasoning("thought", signature=wrapped, origin="anthropic"), ir.Text("hi"))),
    ))
    restored = signatures.restore(req)
    assert restored.messages[0].parts[0] == ir.Reasoning("thought", signature="enc-1", origin="openai_responses")
    assert restored.messages[0].parts[1] == ir.Text("hi")


def test_restore_leaves_requests_without_wrapped_signatures_alone():
    req = ir.Request(model="m", dialect="anthropic", messages=(
        ir.Message("assistant", (ir.Reasoning("t", signature="native", origin="anthropic"),)),))
    assert signatures.restore(req) is req
