"""RunPod Serverless worker: every job is one request through the whole hrstack gateway.

    python -m hrstack.deploy.serverless --test_input '{"input": {"route": "/v1/ats-keywords",
        "body": {"job_description": "Data Analyst. Requirements: SQL, Tableau."},
        "params": {"seed": 7}}}'                          # one job (the SDK's local test mode)
    python -m hrstack.deploy.serverless --rp_serve_api --rp_api_port 8001   # its local API
    UPSTREAM_URLS=http://127.0.0.1:8100 python -m hrstack.deploy.serverless ...  # a running vLLM

The worker starts vLLM and the gateway once, as `hrstack serve` does (UPSTREAM_URLS set: the
gateway only, in front of that vLLM), waits until /readyz says 200, then hands the main thread
to ``runpod.serverless.start``. In the RunPod image, start.sh runs this module when
HRSTACK_MODE=serverless (the endpoint template from `hrstack deploy runpod-serverless` sets it).

Job input (``job["input"]``)::

    {"route": "/v1/rank",                        # required: a task route, or /v1/chat/completions
     "body": {"job_description": "...", "candidate": "..."},   # required: that route's body
     "params": {"seed": 7, "max_attempts": 2}}   # optional: strict, max_attempts, seed,
                                                 # include_redactions (the query options)

Output. The handler is a generator (RunPod streams what it yields and, with
``return_aggregate_stream``, returns the list of it):

- a task route: one item, the gateway's JSON answer, exactly what ``POST route`` answers over
  HTTP (validation report, attempts, evidence, guards; match and rank audited first);
- /v1/chat/completions with ``"stream": true``: one item per OpenAI chunk, as vLLM writes the
  answer; the last one carries the ``hrstack`` report. Without it, one ChatCompletion;
- a refusal: ``{"error": "/v1/rank answered HTTP 422: body.candidate: ...", "status": 422,
  "detail": <the gateway's error body>}``; a job that names no usable request,
  ``{"error": "input.route: unknown route '/v1/nope'; one of ...", "status": 400, ...}``.
  On RunPod the job is FAILED with that ``error`` (RunPod keeps only the message of a
  generator's error, hence a message that stands alone); ``--test_input`` prints it and exits 1;
  the local API's /runsync returns the item as the output (its simulation fails nothing).

The gateway listens on 127.0.0.1 only, with API_KEYS off: RunPod's endpoint key is the door, and
nothing outside the worker can reach the port. The SDK logs every job's input and output at its
default level (DEBUG): this module sets RUNPOD_LOG_LEVEL=INFO unless it is set, so resumes stay
out of the worker's logs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from hrstack.deploy.serverless_jobs import (
    CHAT_ROUTE,
    BadJob,
    GatewayCall,
    JobRoutes,
    answer_output,
    collect,
    gateway_error,
    parse_job,
    stream_outputs,
)
from hrstack.deploy.serverless_stack import WorkerStack
from hrstack.server import logs
from hrstack.server.settings import Settings
from hrstack.tasks.domains import load_domains

log = logging.getLogger(__name__)

#: Beyond the gateway's own request deadline (which answers 504 itself) before a call is dropped.
CALL_MARGIN_S = 30.0


class Worker:
    """The job handlers, bound to the worker's gateway: ``stream`` (an async generator, for the
    SDK's job loop and local API) and ``collect`` (a coroutine, for its single-job test mode)."""

    def __init__(
        self,
        gateway_url: str,
        routes: JobRoutes,
        timeout_s: float,
        *,
        echo: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.gateway_url = gateway_url
        self.routes = routes
        self.timeout = httpx.Timeout(timeout_s, connect=10.0)
        self.echo = echo
        self.transport = transport  # tests: a scripted gateway

    async def stream(self, job: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            call = parse_job(job.get("input"), self.routes)
        except BadJob as exc:
            yield exc.output()
            return
        async for item in self._send(call, str(job.get("id") or "")):
            yield item

    async def collect(self, job: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        """The list ``stream`` yields, or its error item. Echoed as one JSON line on stdout: the
        SDK's own "Job result" line is a Python repr, cut in the middle past 4,096 characters."""
        output = collect([item async for item in self.stream(job)])
        if self.echo:
            sys.stdout.write(json.dumps(output, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return output

    async def _send(self, call: GatewayCall, job_id: str) -> AsyncIterator[dict[str, Any]]:
        # The job id as the request id: the gateway's log lines and vLLM's carry it.
        headers = {"X-Request-ID": job_id} if job_id else {}
        try:
            async with httpx.AsyncClient(
                base_url=self.gateway_url, timeout=self.timeout, transport=self.transport
            ) as client:
                request = client.build_request(
                    "POST", call.route, json=call.body, params=call.params, headers=headers
                )
                response = await client.send(request, stream=True)
                try:
                    kind = response.headers.get("content-type", "")
                    if call.stream and response.status_code == 200 and "event-stream" in kind:
                        lines = response.aiter_lines()
                        async for item in stream_outputs(call.route, response.status_code, lines):
                            yield item
                    else:
                        text = (await response.aread()).decode(errors="replace")
                        yield answer_output(call.route, response.status_code, text)
                finally:
                    await response.aclose()
        except httpx.TimeoutException as exc:
            what = f"did not answer within {self.timeout.read:.0f} s ({type(exc).__name__})"
            yield gateway_error(call.route, 504, None, what)
        except httpx.HTTPError as exc:
            what = f"could not be reached inside the worker ({type(exc).__name__})"
            yield gateway_error(call.route, 503, None, what)


def job_routes(app: FastAPI, settings: Settings) -> JobRoutes:
    """The domain table's task routes and the OpenAI route; every other path the app serves
    (probes, metrics, docs, the playground, catalogues) is refused to jobs by name."""
    domains = load_domains(settings.domains_file)
    tasks = [domains[name].path for name in domains.names()]
    served = frozenset(str(getattr(route, "path", "")) for route in app.routes)
    return JobRoutes(tuple([*tasks, CHAT_ROUTE]), served)


def worker_settings(sdk_api_port: int | None) -> Settings:
    """The environment's settings, but the gateway on 127.0.0.1 with no API keys. Its port is
    PORT (the image's HEALTHCHECK probes /readyz there), unless the SDK's local API takes it
    (``--rp_api_port`` defaults to 8000 too): then a free port."""
    settings = Settings(host="127.0.0.1", api_keys=[])
    if sdk_api_port == settings.port:
        settings = Settings(host="127.0.0.1", api_keys=[], port=_free_port())
    return settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _iterates_generators(args: Any) -> bool:
    """Whether the SDK will run the handler as a generator. runpod 1.10 does on RunPod (the job
    loop, ``rp_job.handle_job``) and in the local API (``rp_fastapi``); its single-job test mode
    (``rp_local.run_local``) and the realtime endpoint call ``rp_job.run_job``, which only awaits
    a coroutine, so there the handler collects the same list itself. Mirrors
    ``runpod.serverless.start`` and ``worker._is_local``."""
    if args.rp_serve_api:
        return True
    if int(os.environ.get("RUNPOD_REALTIME_PORT", "0")):
        return False
    return not args.test_input and os.environ.get("RUNPOD_WEBHOOK_GET_JOB") is not None


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """A requested stop, as `hrstack serve` takes it (exit 0), raised so that the ``finally``
    that stops vLLM runs. RunPod's job loop installs its own graceful handler once it starts;
    uvicorn (the local API) re-raises the signal here once it has drained."""
    raise SystemExit(0)


def main() -> int:
    # Before the SDK is imported: its logger reads the level once, at import.
    os.environ.setdefault("RUNPOD_LOG_LEVEL", "INFO")
    import runpod.serverless

    args, _ = runpod.serverless.parser.parse_known_args(sys.argv[1:])
    settings = worker_settings(args.rp_api_port if args.rp_serve_api else None)
    logs.configure(settings.log_format, settings.log_level)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    stack = WorkerStack(settings)
    try:
        app = stack.start()
        if not stack.wait_ready():
            log.error("vLLM or the gateway did not get ready; no job was taken")
            return stack.exit_code or 1
        stack.on_failure = lambda: os.kill(os.getpid(), signal.SIGTERM)
        timeout_s = settings.request_deadline_s + CALL_MARGIN_S
        streams = _iterates_generators(args)
        worker = Worker(stack.url, job_routes(app, settings), timeout_s, echo=not streams)
        log.info("worker ready: jobs go to the gateway at %s", stack.url)
        runpod.serverless.start({
            "handler": worker.stream if streams else worker.collect,
            "return_aggregate_stream": True,
            # As many jobs at once as the gateway admits: vLLM batches them.
            "concurrency_modifier": lambda current: settings.admission_limit(),
        })  # fmt: skip
        return stack.exit_code or 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
