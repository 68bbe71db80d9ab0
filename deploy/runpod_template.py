"""The RunPod pod template for one GPU size: rendered from an engine profile, validated by a model.

The template is what a user picks in the RunPod console; its env carries the profile's values
so the pod runs exactly what was planned, whichever card of that size it lands on. Field names
follow RunPod's GraphQL ``SaveTemplateInput`` (camelCase), so ``model_dump()`` is the request's
input as is. Source: https://docs.runpod.io/sdks/graphql/manage-pod-templates (required fields
containerDiskInGb, dockerArgs, env, imageName, name, volumeInGb).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hrstack.deploy.plan_types import Plan
from hrstack.server.profiles import load_profile

ASSETS_DIR = Path(__file__).parent / "runpod"
GATEWAY_PORT = 8000
#: RunPod's HTTP proxy cuts requests at 100 s: 3 attempts x 30 s stays under it (README).
POD_UPSTREAM_TIMEOUT_S = 30
DEFAULT_MODEL = "Qwen/Qwen2.5-7B-Instruct"

_ENV_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_PORTS = re.compile(r"^\d{1,5}/(http|tcp)(,\d{1,5}/(http|tcp))*$")


class EnvVar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="Environment variable name (upper case).")
    value: str = Field(
        description="Its value; {{ RUNPOD_SECRET_name }} references a RunPod secret."
    )

    @field_validator("key")
    @classmethod
    def _upper(cls, key: str) -> str:
        if not _ENV_KEY.match(key):
            raise ValueError(f"env key {key!r} must be upper case letters, digits and _")
        return key


class TemplateBase(BaseModel):
    """What a pod and a Serverless template share; unknown fields are errors (typos reach no
    API)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Unique per RunPod account.")
    imageName: str = Field(description="Image with an explicit tag or digest; never latest.")
    dockerArgs: str = Field("", description="Empty: the image's ENTRYPOINT (start.sh) runs.")
    containerDiskInGb: int = Field(
        ge=10, le=1000, description="Ephemeral disk (pip, compile cache)."
    )
    env: list[EnvVar] = Field(default_factory=list)
    readme: str = Field("", max_length=20000)

    @field_validator("imageName")
    @classmethod
    def _pinned(cls, image: str) -> str:
        last = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
            raise ValueError(
                f"image {image!r} must carry an explicit version tag or digest (not latest): "
                "a re-pushed tag would change what a running template pulls"
            )
        return image

    def env_keys(self) -> list[str]:
        keys = [item.key for item in self.env]
        if len(keys) != len(set(keys)):
            raise ValueError(f"env keys repeat: {sorted(k for k in keys if keys.count(k) > 1)}")
        if "PROFILE" not in keys:
            raise ValueError("env must set PROFILE so the container runs the planned profile")
        return keys


class PodTemplate(TemplateBase):
    """RunPod's pod template fields hrstack sets."""

    volumeInGb: int = Field(
        ge=0, le=10000, description="Persistent volume for weights and HF cache."
    )
    volumeMountPath: str = Field("/workspace", description="Where the volume is mounted.")
    ports: str = Field(f"{GATEWAY_PORT}/http", description="Comma-separated port/protocol list.")
    isServerless: bool = Field(False, description="A pod template; see README for serverless.")

    @field_validator("volumeMountPath")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"volumeMountPath {path!r} must be an absolute path")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> PodTemplate:
        gateway = {f"{GATEWAY_PORT}/http", f"{GATEWAY_PORT}/tcp"}
        if not _PORTS.match(self.ports) or not gateway & set(self.ports.split(",")):
            raise ValueError(
                f"ports {self.ports!r} must be port/http|tcp items, one of them the gateway's "
                f"{GATEWAY_PORT} (http through RunPod's proxy, or tcp on a public IP)"
            )
        self.env_keys()
        return self


def profile_env(profile: str) -> dict[str, str]:
    """PROFILE plus each engine value of the profile, under the names Settings reads."""
    env = {"PROFILE": profile}
    for key, value in load_profile(profile).items():
        if value is not None:
            env[key.upper()] = str(value)
    return env


def render_template(
    profile: str,
    image: str,
    gpu_label: str,
    plan: Plan,
    *,
    model: str = DEFAULT_MODEL,
    name: str | None = None,
    container_disk_gb: int = 40,
    volume_gb: int = 80,
    hf_secret: str | None = None,
) -> PodTemplate:
    """The validated template for ``profile``; raises pydantic's ValidationError if malformed."""
    env = profile_env(profile) | {
        "MODEL": model,
        "UPSTREAM_TIMEOUT_S": str(POD_UPSTREAM_TIMEOUT_S),
    }
    if hf_secret:
        env["HF_TOKEN"] = secret_ref(hf_secret)
    values: dict[str, Any] = {
        "name": name or f"hrstack-{profile}",
        "imageName": image,
        "containerDiskInGb": container_disk_gb,
        "volumeInGb": volume_gb,
        "volumeMountPath": "/workspace",
        "env": [{"key": k, "value": v} for k, v in env.items()],
    }
    values["readme"] = fill_readme(
        "template_readme.md", profile, gpu_label, model, plan,
        volume_mount_path=values["volumeMountPath"],
    )  # fmt: skip
    return PodTemplate.model_validate(values)


def secret_ref(name: str) -> str:
    """How a template's env value names a RunPod secret (resolved by RunPod at start)."""
    return "{{ RUNPOD_SECRET_%s }}" % name  # noqa: UP031 - the braces are literal


def fill_readme(asset: str, profile: str, gpu: str, model: str, plan: Plan, **extra: str) -> str:
    """A template readme of ``deploy/runpod/`` with the profile's values and the plan in it."""
    engine = plan.engine
    text = (ASSETS_DIR / asset).read_text()
    return Template(text).substitute(
        model=model,
        gpu=gpu,
        profile=profile,
        max_num_seqs=engine.max_num_seqs,
        max_model_len=engine.max_model_len,
        gpu_memory_utilization=engine.gpu_memory_utilization,
        dtype=plan.dtype,
        quantization=engine.quantization or "none",
        plan=plan.message,
        **extra,
    )
