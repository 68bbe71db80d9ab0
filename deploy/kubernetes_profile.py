"""The engine profile as the env file kustomize turns into ``deploy/kubernetes/``'s ConfigMap.

    hrstack deploy kubernetes --profile 24gb > deploy/kubernetes/engine-profile.env
    kubectl apply -k deploy/kubernetes

Why an env file rather than a ConfigMap manifest: kustomize's ``configMapGenerator`` names the
ConfigMap after a hash of its content, so a new profile rolls both Deployments (an edited
ConfigMap restarts nothing), and kustomize reads only files below the kustomization, so it
cannot point at ``configs/profiles/`` itself. The values are ``profile_env``'s, the one rendering
the RunPod template uses: ``PROFILE`` plus each profile value under the name Settings reads, which
is also the ``$(NAME)`` the vLLM container's arguments expand.
"""

from __future__ import annotations

from hrstack.deploy.profile_fit import gpu_profiles
from hrstack.deploy.runpod_template import profile_env
from hrstack.server.profiles import profile_path

#: Where the generated file sits in a checkout (the wheel carries no manifests).
ENV_FILE = "deploy/kubernetes/engine-profile.env"


def render_env_file(profile: str) -> str:
    """``KEY=value`` lines for ``profile``, under a header saying where they came from."""
    if profile not in gpu_profiles():
        raise ValueError(
            f"profile {profile!r} is not a GPU profile ({', '.join(gpu_profiles())}): the "
            "manifests run vllm/vllm-openai on one NVIDIA GPU"
        )
    header = [
        f"# Generated from configs/profiles/{profile_path(profile).name}; do not edit. Regenerate:",
        f"#   hrstack deploy kubernetes --profile {profile} > {ENV_FILE}",
        "# kustomization.yaml makes it the ConfigMap hrstack-engine-profile (hash-suffixed, so a",
        "# change rolls the pods): the gateway reads every key, vLLM's arguments expand them.",
    ]
    values = [f"{key}={value}" for key, value in profile_env(profile).items()]
    return "\n".join([*header, *values]) + "\n"
