"""The RunPod Serverless endpoint for one GPU size: its template and its endpoint settings.

The template runs the pod template's image (``deploy/runpod/Dockerfile``) with the same planned
profile in its env (``runpod_template.profile_env``); ``HRSTACK_MODE=serverless`` makes the
image's start script run the worker (``deploy/serverless.py``) instead of `hrstack serve`. The
mode is an environment value rather than a start command because RunPod's "container start
command" (``dockerArgs``) is documented both as arguments to the image's entrypoint and as a
replacement for it; the entrypoint (tini, the start script's caches and fit check) runs either
way, and an env value reaches it either way.

Field names follow RunPod's GraphQL: ``SaveTemplateInput`` with ``isServerless: true`` (no pod
volume, no ports) and ``EndpointInput`` (``saveEndpoint``). Sources, not checked against the
live API (no account here): https://docs.runpod.io/sdks/graphql/manage-endpoints (gpuIds pools,
workersMin/workersMax, idleTimeout, networkVolumeId, ``id`` to modify) and the runpod SDK
1.10's own mutations (``runpod/api/mutations/endpoints.py``, ``templates.py``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hrstack.deploy.plan_types import Plan
from hrstack.deploy.runpod_template import (
    DEFAULT_MODEL,
    TemplateBase,
    fill_readme,
    profile_env,
    secret_ref,
)

#: RunPod Serverless GPU pools by the profile planned for them (the card sizes of each pool).
GPU_POOLS = {
    "16gb": ("AMPERE_16",),
    "24gb": ("AMPERE_24", "ADA_24"),
    "48gb": ("AMPERE_48", "ADA_48_PRO"),
    "80gb": ("AMPERE_80", "ADA_80_PRO"),
}
#: Where RunPod mounts an endpoint's network volume in each worker.
NETWORK_VOLUME_PATH = "/runpod-volume"
#: Worker idle time before RunPod stops it. RunPod's default is 5 s; a vLLM worker's cold start
#: is minutes, so a burst with gaps of under a minute keeps its workers.
IDLE_TIMEOUT_S = 60
_POOL = re.compile(r"^[A-Z0-9]+_\d+(_[A-Z]+)?$")


class ServerlessTemplate(TemplateBase):
    """RunPod's Serverless template fields hrstack sets."""

    volumeInGb: Literal[0] = Field(
        0, description="No pod volume: a network volume attaches to the endpoint instead."
    )
    isServerless: Literal[True] = True

    @model_validator(mode="after")
    def _runs_the_worker(self) -> ServerlessTemplate:
        self.env_keys()
        if {item.key: item.value for item in self.env}.get("HRSTACK_MODE") != "serverless":
            raise ValueError(
                "env must set HRSTACK_MODE=serverless: without it the image's start script runs "
                "`hrstack serve`, an HTTP server that no job reaches"
            )
        return self


class EndpointConfig(BaseModel):
    """RunPod's ``EndpointInput`` fields hrstack sets; ``templateId`` (and ``id`` to update) are
    added when the template is saved."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Endpoint name.")
    gpuIds: str = Field(description="Comma-separated GPU pools, e.g. AMPERE_24,ADA_24.")
    workersMin: int = Field(0, ge=0, description="Always-on workers (0: scale to zero).")
    workersMax: int = Field(3, ge=1, description="Most workers at once.")
    idleTimeout: int = Field(IDLE_TIMEOUT_S, ge=1, description="Seconds idle before a stop.")
    networkVolumeId: str | None = Field(None, description="Mounted at /runpod-volume.")
    flashBootType: Literal["FLASHBOOT"] | None = Field(None, description="Faster cold starts.")

    @field_validator("gpuIds")
    @classmethod
    def _pools(cls, gpu_ids: str) -> str:
        pools = [pool.strip() for pool in gpu_ids.split(",")]
        bad = [pool for pool in pools if not _POOL.match(pool)]
        if bad:
            raise ValueError(
                f"gpuIds {gpu_ids!r}: {bad} are not RunPod GPU pool ids such as AMPERE_24 or "
                "ADA_80_PRO (comma-separated)"
            )
        return ",".join(pools)

    @model_validator(mode="after")
    def _workers(self) -> EndpointConfig:
        if self.workersMin > self.workersMax:
            raise ValueError(f"workersMin {self.workersMin} exceeds workersMax {self.workersMax}")
        return self

    def as_input(self, template_id: str, endpoint_id: str | None = None) -> dict[str, Any]:
        """The ``saveEndpoint`` input: unset options left to RunPod, ``id`` to update."""
        payload = self.model_dump(exclude_none=True) | {"templateId": template_id}
        return payload | ({"id": endpoint_id} if endpoint_id else {})


def render_serverless_template(
    profile: str,
    image: str,
    gpu_label: str,
    plan: Plan,
    *,
    model: str = DEFAULT_MODEL,
    name: str | None = None,
    container_disk_gb: int = 40,
    network_volume: bool = False,
    hf_secret: str | None = None,
    audit_dsn_secret: str | None = None,
) -> ServerlessTemplate:
    """The validated Serverless template; raises pydantic's ValidationError if malformed."""
    env = profile_env(profile) | {
        "MODEL": model,
        "HRSTACK_MODE": "serverless",
        "RUNPOD_LOG_LEVEL": "INFO",  # the SDK's default (DEBUG) logs every job's input and output
    }
    if network_volume:  # weights and compile caches survive the worker (start.sh puts them there)
        env["HRSTACK_VOLUME"] = NETWORK_VOLUME_PATH
    if hf_secret:
        env["HF_TOKEN"] = secret_ref(hf_secret)
    if audit_dsn_secret:  # workers come and go: decisions go to the shared PostgreSQL table
        env["AUDIT_DSN"] = secret_ref(audit_dsn_secret)
    where = (
        f"on the endpoint's network volume ({NETWORK_VOLUME_PATH})"
        if network_volume
        else "on each worker's container disk (downloaded again by every new worker)"
    )
    values: dict[str, Any] = {
        "name": name or f"hrstack-serverless-{profile}",
        "imageName": image,
        "containerDiskInGb": container_disk_gb,
        "env": [{"key": k, "value": v} for k, v in env.items()],
        "readme": fill_readme(
            "serverless_readme.md", profile, gpu_label, model, plan, volume=where
        ),
    }
    return ServerlessTemplate.model_validate(values)


def endpoint_config(
    profile: str,
    name: str,
    *,
    gpu_ids: str | None = None,
    workers_min: int = 0,
    workers_max: int = 3,
    idle_timeout_s: int = IDLE_TIMEOUT_S,
    network_volume_id: str | None = None,
    flashboot: bool = False,
) -> EndpointConfig:
    """The endpoint on the GPU pools of the profile's card size (or ``gpu_ids``)."""
    pools = gpu_ids or ",".join(GPU_POOLS.get(profile, ()))
    return EndpointConfig(
        name=name, gpuIds=pools, workersMin=workers_min, workersMax=workers_max,
        idleTimeout=idle_timeout_s, networkVolumeId=network_volume_id,
        flashBootType="FLASHBOOT" if flashboot else None,
    )  # fmt: skip
