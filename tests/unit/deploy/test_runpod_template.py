"""The RunPod pod template: rendered from a profile, refused when malformed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from hrstack.deploy.model_shape import load_shape
from hrstack.deploy.profile_fit import plan_profile
from hrstack.deploy.runpod_template import PodTemplate, render_template

IMAGE = "ghcr.io/acme/hrstack:0.1.0"


def render(profile: str = "24gb", **kwargs: Any) -> PodTemplate:
    planned = plan_profile(load_shape("qwen2.5-7b"), profile)
    return render_template(profile, IMAGE, "24GB", planned, **kwargs)


def valid() -> dict[str, Any]:
    return render().model_dump()


def test_renders_the_profile_into_env() -> None:
    template = render(hf_secret="hf_token")
    env = {item.key: item.value for item in template.env}
    assert env["PROFILE"] == "24gb"
    assert env["MAX_NUM_SEQS"] == "12" and env["GPU_MEMORY_UTILIZATION"] == "0.9"
    assert env["MAX_MODEL_LEN"] == "4096" and env["DTYPE"] == "bfloat16"
    assert "QUANTIZATION" not in env  # 24gb serves 16-bit
    assert env["UPSTREAM_TIMEOUT_S"] == "30"  # 3 attempts x 30 s < RunPod's 100 s proxy
    assert env["HF_TOKEN"] == "{{ RUNPOD_SECRET_hf_token }}"
    assert env["MODEL"] == "Qwen/Qwen2.5-7B-Instruct"


def test_required_runpod_fields() -> None:
    data = json.loads(render().model_dump_json())
    assert data["name"] == "hrstack-24gb" and data["imageName"] == IMAGE
    assert data["ports"] == "8000/http" and data["isServerless"] is False
    assert data["volumeMountPath"] == "/workspace"
    assert data["containerDiskInGb"] > 0 and data["volumeInGb"] > 0
    assert data["dockerArgs"] == ""  # the image's entrypoint (start.sh) runs


def test_16gb_template_carries_the_4bit_path() -> None:
    env = {item.key: item.value for item in render("16gb").env}
    assert env["QUANTIZATION"] == "bitsandbytes" and env["MAX_NUM_SEQS"] == "4"


def test_readme_is_filled_in() -> None:
    readme = render().readme
    assert "$" not in readme and "24gb" in readme and "/readyz" in readme


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"imageName": "ghcr.io/acme/hrstack:latest"}, "explicit version tag"),
        ({"imageName": "ghcr.io/acme/hrstack"}, "explicit version tag"),
        ({"volumeMountPath": "workspace"}, "absolute"),
        ({"ports": "8888/http"}, "8000"),
        ({"ports": "8000/udp"}, "port/http"),
        ({"env": [{"key": "PROFILE", "value": "a"}, {"key": "PROFILE", "value": "b"}]}, "repeat"),
        ({"env": [{"key": "MODEL", "value": "x"}]}, "PROFILE"),
        ({"env": [{"key": "profile", "value": "x"}]}, "upper case"),
        ({"containerDiskInGb": 0}, "greater than or equal"),
        ({"startJupyter": True}, "Extra inputs"),
    ],
)
def test_validation_refuses(change: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        PodTemplate.model_validate(valid() | change)


def test_digest_pinned_image_is_accepted() -> None:
    PodTemplate.model_validate(valid() | {"imageName": "acme/hrstack@sha256:" + "0" * 64})
