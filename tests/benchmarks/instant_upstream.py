"""A test double of vLLM's chat endpoint that answers instantly, for measuring gateway overhead.

Against real vLLM on 2 shared cores, generation jitter (hundreds of ms) hides a gateway's
millisecond overhead. This stub answers every request at once with a realistic, fixed answer,
so "through the gateway" minus "straight to the stub" is the gateway's own cost: parsing,
prompt building, validation, metrics and one extra loopback hop. It is never used for quality.

    python -m tests.benchmarks.instant_upstream --port 8200
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response

ANSWER = (
    " Quantify results in every role, for example the 40% faster monthly reporting.\n"
    "2. Move SQL, Python and Tableau to a skills section at the top.\n"
    "3. Add a two-line summary aimed at the Senior Data Analyst role.\n"
    "4. Replace duties with achievements that start with strong verbs.\n"
    "ATS Keywords: SQL, Python, Tableau, data visualization, stakeholder reporting"
)
RANK = json.dumps(
    {
        "decision": "shortlist",
        "score": 0.8,
        "reasons": [
            "Built Tableau dashboards for 40 store managers",
            "4 years of SQL on Snowflake",
        ],
    }
)


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {}

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        """An OTLP/HTTP collector that keeps nothing: bench_observability's trace sink."""
        await request.body()
        return Response(status_code=200)

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        text = RANK if "response_format" in body else ANSWER
        return {
            "id": "stub",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 60, "total_tokens": 160},
        }  # fmt: skip

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
