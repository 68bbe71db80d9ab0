"""Typed settings for the gateway and the vLLM engine it launches.

Precedence, lowest first: field defaults < engine profile (``configs/profiles/``) < ``configs/
serve.yaml`` < environment variables (``MODEL``, ``MAX_NUM_SEQS``, ``UPSTREAM_URLS``, ``PORT``...)
< keyword arguments (the CLI passes its options here). Unknown keys in YAML are errors, so a typo
cannot silently fall back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from server.profiles import choose_profile, detect_vram_gib, load_profile
from validators.config import configs_dir

#: Engine fields a profile may set; ``None`` on the model means "the profile decides".
ENGINE_FIELDS = (
    "max_num_seqs",
    "gpu_memory_utilization",
    "max_model_len",
    "dtype",
    "quantization",
    "kv_cache_dtype",
    "cpu_kvcache_space_gib",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False, validate_default=True)

    # --- engine (vLLM) -------------------------------------------------------------------------
    model: str | None = Field(
        None,
        description="Model directory or name vLLM serves. Unset: the embedded "
        "SmolLM2-135M-Instruct, "
        "prepared once into cache_dir (CPU default).",
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
    engine_host: str = Field(
        "127.0.0.1", description="Where the launched vLLM listens; loopback keeps it private."
    )
    engine_port: int = Field(8100, ge=1, le=65535, description="Port of the launched vLLM server.")
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
        2,
        gt=0,
        description="Connect deadline; an upstream that does not accept is reported as 503.",
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After seconds sent with 503 answers.")
    batch_concurrency: int = Field(
        8, ge=1, description="Rank candidates of one batch request sent to vLLM at once."
    )
    self_check: bool = Field(
        True,
        description="At start-up, prove vLLM enforces the rank JSON schema before reporting ready.",
    )
    domains_file: Path = Field(
        default_factory=lambda: configs_dir() / "domains.yaml", description="The domain table."
    )
    validators_file: Path = Field(
        default_factory=lambda: configs_dir() / "validators.yaml",
        description="Validator thresholds.",
    )
    log_level: str = Field("info", description="Log level for the gateway and launcher.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=configs_dir() / "serve.yaml")
        return init_settings, env_settings, yaml_source

    @field_validator("upstream_urls", "engine_extra_args", mode="before")
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

    @model_validator(mode="after")
    def _apply_profile(self) -> Settings:
        """Fill engine values nobody set from the profile, so env and CLI always win."""
        if self.upstream_urls:
            return self  # gateway only: the engine is someone else's
        if self.profile == "auto":
            self.profile = choose_profile(detect_vram_gib())
        for key, value in load_profile(self.profile).items():
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

    @property
    def launches_engine(self) -> bool:
        return not self.upstream_urls

    def engine_urls(self) -> list[str]:
        """Where the gateway sends requests: the given upstreams or the engine it launched."""
        return self.upstream_urls or [f"http://{self.engine_host}:{self.engine_port}"]
