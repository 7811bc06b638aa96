"""Fakes shared by the test suites: ``FakeUpstream`` speaks the four upstream wire formats on loopback."""

from tests.fakes.upstream import FakeUpstream, Recorded, fake_id_token

__all__ = ["FakeUpstream", "Recorded", "fake_id_token"]
