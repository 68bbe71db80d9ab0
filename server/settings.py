"""Typed settings for the gateway and the vLLM engine it launches.

Precedence, lowest first: field defaults < engine profile (``configs/profiles/``) < ``configs/
serve.yaml`` < environment variables (``MODEL``, ``MAX_NUM_SEQS``, ``UPSTREAM_URLS``, ``PORT``...)
< keyword arguments (the CLI passes its options here). Unknown keys in YAML are errors, so a typo
cannot silently fall back to a default.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from hrstack.server import embedded_model
from hrstack.server.profiles import choose_profile, detect_vram_gib, load_profile
from hrstack.tasks.redaction import REDACTION_CATEGORIES
from hrstack.validators.config import configs_dir

#: Fields that hold secrets: read from the environment (or arguments) only, never from YAML.
SECRET_FIELDS = frozenset({"api_keys", "audit_dsn"})
#: Shortest API key accepted: a short key can be guessed faster than it can be rotated.
MIN_API_KEY_CHARS = 16
#: Engine fields a profile may set; ``None`` on the model means "the profile decides".
ENGINE_FIELDS = (
    "max_num_seqs",
    "gpu_memory_utilization",
    "max_model_len",
    "dtype",
    "quantization",
    "kv_cache_dtype",
    "cpu_kvcache_space_gib",
    "enable_chunked_prefill",
    "max_num_batched_tokens",
)
#: Gateway values a profile may set, because they follow the hardware: a CPU prefills a real
#: posting + CV in seconds per request, a GPU in milliseconds. They keep their field default
#: unless the profile, serve.yaml, the environment or an argument sets them.
PROFILE_GATEWAY_FIELDS = ("upstream_timeout_s", "request_deadline_s", "health_check_timeout_s")
#: Engine values the gateway assumes of UPSTREAM_URLS engines it did not launch: their batch size
#: (admission) and whether they chunk prefills (whether per-request seeds are safe to send).
ASSUMED_OF_UPSTREAMS = ("max_num_seqs", "enable_chunked_prefill")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False, validate_default=True)

    # --- engine (vLLM) -------------------------------------------------------------------------
    model: str | None = Field(
        None,
        description="Model directory or name vLLM serves. Unset: the embedded model "
        "(EMBEDDED_MODEL), prepared once into cache_dir.",
    )
    embedded_model: str = Field(
        embedded_model.DEFAULT,
        description="Which model of configs/embedded_models.yaml serves when MODEL is unset "
        "(smollm2-135m, qwen2.5-0.5b, qwen2.5-1.5b); its dtype unless DTYPE says otherwise.",
    )
    served_model_name: str = Field(
        "hrstack",
        description="Name the gateway asks vLLM for; the launcher serves the model under it.",
    )
    profile: str = Field(
        "auto",
        description="Engine profile in configs/profiles/ (cpu, 16gb, 24gb, ...); 'auto' picks "
        "from the detected GPU memory, 'cpu' when there is no GPU.",
    )
    max_num_seqs: int | None = Field(
        None, ge=1, description="vLLM --max-num-seqs: sequences batched at once."
    )
    gpu_memory_utilization: float | None = Field(
        None, gt=0, le=1, description="vLLM --gpu-memory-utilization: share of VRAM vLLM may take."
    )
    max_model_len: int | None = Field(
        None, ge=256, description="vLLM --max-model-len: prompt + answer tokens."
    )
    dtype: str | None = Field(
        None, description="vLLM --dtype (float32 on CPU, bfloat16/float16 on GPU)."
    )
    quantization: str | None = Field(
        None, description="vLLM --quantization (e.g. bitsandbytes, awq), or none."
    )
    kv_cache_dtype: str | None = Field(None, description="vLLM --kv-cache-dtype (auto, fp8).")
    cpu_kvcache_space_gib: int | None = Field(
        None, gt=0, description="VLLM_CPU_KVCACHE_SPACE for the CPU build: whole GiB of KV cache."
    )
    enable_chunked_prefill: bool | None = Field(
        None,
        description="vLLM --[no-]enable-chunked-prefill. The CPU profile turns it off: vllm-cpu "
        "0.32 dies on a seeded request whose prefill is chunked (its CPU generators have no "
        "offset to rewind). Unset: vLLM's default (on).",
    )
    max_num_batched_tokens: int | None = Field(
        None,
        ge=256,
        description="vLLM --max-num-batched-tokens, the tokens one engine step may process. Unset "
        "with chunked prefill off: MAX_MODEL_LEN, so any prompt that fits the context is prefilled "
        "in one step (vLLM refuses a smaller value then).",
    )
    engine_seeds: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Send per-request sampling seeds to vLLM. auto: on, except on a CPU engine "
        "that chunks prefills (ENGINE_EXTRA_ARGS or the profile turning chunked prefill on), where "
        "a seeded request kills vllm-cpu 0.32; then ?seed=N is accepted but not reproducible.",
    )
    engine_max_restarts: int = Field(
        5,
        ge=0,
        description="The launcher restarts a vLLM that dies; after this many deaths within "
        "ENGINE_RESTART_WINDOW_S it gives up and exits non-zero instead of flapping.",
    )
    engine_restart_window_s: float = Field(
        600, gt=0, description="The window in which ENGINE_MAX_RESTARTS deaths end the stack."
    )
    engine_backoff_s: float = Field(
        1.0, gt=0, description="First wait before restarting a dead vLLM; doubles per death."
    )
    engine_backoff_max_s: float = Field(
        30.0, gt=0, description="Longest wait between vLLM restarts."
    )
    engine_host: str = Field(
        "127.0.0.1", description="Where the launched vLLM listens; loopback keeps it private."
    )
    engine_port: int = Field(8100, ge=1, le=65535, description="Port of the launched vLLM server.")
    engine_python: str = Field(
        default_factory=lambda: sys.executable,
        description="The Python that runs vLLM (`-m vllm.entrypoints.openai.api_server`): a path "
        "or a name looked up on PATH. Default: the gateway's own. The RunPod image sets it to "
        "the base image's python3, so the gateway's venv never shares packages with vLLM.",
    )
    engine_extra_args: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra vLLM CLI arguments, space-separated in the environment.",
    )
    engine_start_timeout_s: float = Field(
        900,
        gt=0,
        description="How long to wait for vLLM to become healthy (CPU start-up is ~80 s).",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "hrstack",
        description="Where prepared models are kept between runs.",
    )

    # --- gateway ---------------------------------------------------------------------------------
    host: str = Field("0.0.0.0", description="Gateway bind address.")
    port: int = Field(8000, ge=1, le=65535, description="Gateway port.")
    upstream_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="vLLM base URLs (comma-separated). Set: the gateway talks to these and "
        "launches no "
        "engine. Unset: the launcher starts vLLM and points the gateway at it.",
    )
    upstream_timeout_s: float = Field(
        60,
        gt=0,
        description="Per-attempt deadline for one upstream call; beyond it the client gets 504.",
    )
    upstream_connect_timeout_s: float = Field(
        5,
        gt=0,
        description="Connect deadline; an upstream that does not accept is reported as 503 and "
        "the request fails over. A refused connection fails at once; this only bounds a host that "
        "is slow to answer, and 2 s proved too tight for a vLLM saturating a 2-core machine.",
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After seconds sent with 503 answers.")
    batch_concurrency: int = Field(
        8, ge=1, description="Rank candidates of one batch request sent to vLLM at once."
    )
    self_check: bool = Field(
        True,
        description="At start-up, prove vLLM enforces every domain's constraint (grammar or "
        "JSON schema) before reporting ready.",
    )
    playground: bool = Field(
        True,
        description="Serve GET /playground, a page to try every task in a browser (it calls "
        "the task routes with the key typed into it). false: the route does not exist.",
    )
    constrained_decoding: bool = Field(
        True,
        description="Send each domain's grammar / JSON schema with every attempt (vLLM structured "
        "outputs). Off: free text, judged by the validators only (an engine without structured "
        "outputs, or to measure what the constraints buy).",
    )
    domains_file: Path = Field(
        default_factory=lambda: configs_dir() / "domains.yaml", description="The domain table."
    )
    validators_file: Path = Field(
        default_factory=lambda: configs_dir() / "validators.yaml",
        description="Validator thresholds.",
    )
    log_level: str = Field("info", description="Log level for the gateway and launcher.")
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector (http://collector:4318) to send traces to: a span per "
        "request, per attempt, per validator run and per call to vLLM. Unset: tracing is off.",
    )
    otel_service_name: str = Field("hrstack", description="service.name of the traces.")
    trace_sample_ratio: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of requests traced when the caller sent no sampled traceparent (a "
        "caller's sampling decision is always followed). Recording and exporting every request "
        "costs about 1 ms of gateway CPU each on 2 cores (README, Operations); raise it when "
        "debugging. OpenTelemetry's OTEL_TRACES_SAMPLER, when set, takes precedence.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text, or json: one object a line with request_id, domain, caller, attempt, "
        "upstream, status and duration_ms on every line about a request.",
    )

    input_overflow: Literal["refuse", "truncate"] = Field(
        "refuse",
        description="A request whose prompt plus its domain's answer budget exceeds the served "
        "model's context: refuse (422 naming each field and its token count) or truncate (cut "
        "the longest document fields from their end, reported in the response's flags).",
    )

    # --- guard: auth, admission, deadlines ------------------------------------------------------
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Accepted API keys (API_KEYS, comma-separated; environment only). Empty: no "
        "auth, for loopback development; set keys before exposing the port.",
    )
    auth_open_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "/healthz",
            "/readyz",
            "/metrics",
            "/docs",
            "/openapi.json",
            "/playground",
        ],
        description="Paths served without a key when API_KEYS is set: probes and scrapers often "
        "cannot send one. Remove /metrics here to make the scrape authenticate.",
    )
    max_in_flight: int | None = Field(
        None,
        ge=1,
        description="Task requests one gateway serves at once with every upstream healthy. "
        "Unset: MAX_NUM_SEQS x the number of upstreams, so admitted work fits the engines' "
        "batches instead of queueing inside vLLM.",
    )
    admission_retry_after_s: int = Field(
        1, ge=1, description="Retry-After seconds on 429: a slot frees as soon as one answer ends."
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="Largest request body (413 beyond it); 2 MiB holds 50 full-length resumes.",
    )
    request_deadline_s: float = Field(
        120,
        gt=0,
        description="Whole-request deadline, retries included; beyond it 504 and the upstream "
        "call is cancelled, so a stuck request cannot hold an admission slot.",
    )
    health_check_interval_s: float = Field(
        2.0, gt=0, description="How often each upstream's /health is polled."
    )
    health_check_timeout_s: float = Field(
        2.0,
        gt=0,
        description="How long one /health probe may take before it counts as slow. Per profile: "
        "on a 2-core CPU host the engine saturates both cores and vLLM's API server answers "
        "late while it still serves.",
    )
    health_check_slow_strikes: int = Field(
        3,
        ge=1,
        description="Slow (timed-out) /health probes in a row that mark an upstream down. A "
        "refused or non-200 probe marks it down at once; a busy 2-core engine answers late "
        "while it still serves, and one late probe must not refuse every request.",
    )
    keep_alive_timeout_s: int = Field(
        75,
        ge=1,
        description="How long the gateway keeps an idle client connection open. Longer than any "
        "client pool's idle expiry (httpx and uvicorn both default to 5 s): at equal timeouts the "
        "server can close a connection just as a client reuses it, and that request is reset.",
    )

    # --- untrusted input, protected attributes, audit -------------------------------------------
    neutralize_injection: bool = Field(
        True,
        description="Replace sentences that match prompt-injection patterns with a marker "
        "before prompting (they are always reported as flags).",
    )
    redact_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(REDACTION_CATEGORIES),
        description="Protected attributes removed from candidate text before ranking; empty "
        "turns redaction off.",
    )
    audit_log_path: Path | None = Field(
        Path("runs/audit/rank.jsonl"),
        description="JSONL file every rank decision is appended to (fsynced before the "
        "response); rotated files sit beside it.",
    )
    audit_max_bytes: int = Field(
        64 * 1024 * 1024, ge=4096, description="Rotate the audit log when it grows past this."
    )
    audit_dsn: SecretStr | None = Field(
        None,
        description="PostgreSQL connection string (postgresql://user:pass@host/db); when set, "
        "decisions go to the shared table hrstack_audit instead of AUDIT_LOG_PATH, committed "
        "before the response. Every replica may point here. Environment only (it holds a "
        "password).",
    )
    audit_writer: str | None = Field(
        None,
        description="This gateway's hash-chain id in the audit trail (default: host name + "
        "random; a file log continues the chain it finds).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = _SecretFreeYaml(settings_cls, yaml_file=configs_dir() / "serve.yaml")
        return init_settings, env_settings, yaml_source

    @field_validator(
        "upstream_urls", "engine_extra_args", "api_keys", "auth_open_paths", "redact_categories",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            sep = "," if "," in value or "://" in value else " "
            return [part.strip() for part in value.split(sep) if part.strip()]
        return value

    @field_validator("upstream_urls")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"upstream URL {url!r} must start with http:// or https://")
        return [url.rstrip("/") for url in urls]

    @field_validator("audit_log_path", "audit_dsn", mode="before")
    @classmethod
    def _off_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off"):
            return None
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for position, key in enumerate(keys, start=1):
            if len(key.get_secret_value()) < MIN_API_KEY_CHARS:
                raise ValueError(
                    f"API key {position} has fewer than {MIN_API_KEY_CHARS} characters; "
                    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe())'`"
                )
        return keys

    @field_validator("redact_categories")
    @classmethod
    def _check_categories(cls, categories: list[str]) -> list[str]:
        if categories in (["none"], ["off"]):
            return []
        unknown = sorted(set(categories) - set(REDACTION_CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown redaction categories {unknown}; known: {', '.join(REDACTION_CATEGORIES)}"
            )
        return categories

    @field_validator("embedded_model")
    @classmethod
    def _known_embedded_model(cls, name: str) -> str:
        try:
            embedded_model.get(name)
        except embedded_model.EmbeddedModelError as exc:
            raise ValueError(str(exc)) from None
        return name

    @model_validator(mode="after")
    def _apply_profile(self) -> Settings:
        """Fill engine values nobody set from the profile, so env and CLI always win."""
        if self.profile == "auto":
            self.profile = choose_profile(detect_vram_gib())
        profile = load_profile(self.profile)
        if self.model is None and not self.upstream_urls and self.dtype is None:
            # The embedded model's own precision (bf16 only where the CPU computes it).
            self.dtype = embedded_model.serving_dtype(embedded_model.get(self.embedded_model))
        elif self.model and self.dtype is None and profile.get("dtype") == "float32":
            # A model directory on a CPU profile (a merged fine-tune, most often) saved in bf16
            # runs in bf16 where the CPU computes it: ~2x fp32's speed there, and the precision
            # its evaluation ran in (training.generation.load_for_inference, the same rule).
            self.dtype = embedded_model.cpu_dtype_of(Path(self.model))
        for key in PROFILE_GATEWAY_FIELDS:
            if key in profile and key not in self.model_fields_set:
                setattr(self, key, profile[key])
        if self.upstream_urls:
            # Gateway only: the engines are someone else's, but admission still needs their
            # batch size; assume the profile's unless MAX_NUM_SEQS says what they run with.
            for key in ASSUMED_OF_UPSTREAMS:
                if getattr(self, key) is None:
                    setattr(self, key, profile.get(key))
            return self
        for key, value in profile.items():
            if key in PROFILE_GATEWAY_FIELDS:
                continue
            if key not in ENGINE_FIELDS:
                raise ValueError(f"profile {self.profile!r} sets unknown engine key {key!r}")
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self

    @model_validator(mode="after")
    def _engine_port_is_free_of_the_gateway(self) -> Settings:
        if self.launches_engine and self.engine_port == self.port:
            raise ValueError(f"ENGINE_PORT and PORT are both {self.port}; give vLLM its own port")
        return self

    @model_validator(mode="after")
    def _engine_python_runs(self) -> Settings:
        if self.launches_engine and shutil.which(self.engine_python) is None:
            raise ValueError(
                f"ENGINE_PYTHON {self.engine_python!r} is not an executable file or a command on "
                "PATH; point it at the Python that has vLLM installed"
            )
        return self

    @model_validator(mode="after")
    def _one_step_prefill_fits(self) -> Settings:
        """Without chunked prefill a prompt must fit one engine step; vLLM refuses to start
        otherwise, so say it here, before a model is loaded."""
        if self.enable_chunked_prefill is False and self.launches_engine:
            if self.max_num_batched_tokens is None:
                self.max_num_batched_tokens = self.max_model_len
            elif self.max_model_len and self.max_num_batched_tokens < self.max_model_len:
                raise ValueError(
                    f"MAX_NUM_BATCHED_TOKENS {self.max_num_batched_tokens} is below MAX_MODEL_LEN "
                    f"{self.max_model_len} with chunked prefill off; raise it or lower the length"
                )
        return self

    def chunks_prefill(self) -> bool:
        """Whether the engine may split a prefill across steps: ENGINE_EXTRA_ARGS (the last
        flag wins, as in vLLM's argparse) over the profile, over vLLM's default (on)."""
        chunked = self.enable_chunked_prefill is not False
        for arg in self.engine_extra_args:
            if arg == "--enable-chunked-prefill":
                chunked = True
            elif arg == "--no-enable-chunked-prefill":
                chunked = False
        return chunked

    def sends_seeds(self) -> bool:
        """Per-request seeds are safe except on a CPU engine that chunks prefills: vLLM rewinds
        the generator of a request whose chunk was not sampled (``gen.set_offset`` in
        gpu_model_runner ``_bookkeeping_sync``), which CUDA generators support and CPU ones
        do not ("CPU Generator does not use offset")."""
        if self.engine_seeds != "auto":
            return self.engine_seeds == "on"
        return self.profile != "cpu" or not self.chunks_prefill()

    @property
    def launches_engine(self) -> bool:
        return not self.upstream_urls

    def engine_urls(self) -> list[str]:
        """Where the gateway sends requests: the given upstreams or the engine it launched."""
        return self.upstream_urls or [f"http://{self.engine_host}:{self.engine_port}"]

    def admission_limit(self) -> int:
        """In-flight task requests with every upstream healthy: one per engine sequence."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        return (self.max_num_seqs or 1) * len(self.engine_urls())


class _SecretFreeYaml(YamlConfigSettingsSource):
    """serve.yaml is committed to git: a secret there would be published, so it is refused."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        leaked = sorted(SECRET_FIELDS & set(values))
        if leaked:
            raise ValueError(
                f"serve.yaml sets {', '.join(leaked)}: secrets come from the environment only "
                "(API_KEYS=...); remove the key from the file"
            )
        return values
