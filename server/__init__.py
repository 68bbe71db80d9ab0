"""hrstack gateway: task endpoints in front of a vLLM OpenAI-compatible server."""
