"""One router per API area; ``server.app.create_app`` attaches each by name."""
