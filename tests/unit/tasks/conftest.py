"""The gateway fixtures: screening and redaction are also tested end to end through the app."""

from tests.unit.server.conftest import make_client  # noqa: F401
