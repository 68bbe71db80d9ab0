"""`hrstack deploy`: plan a GPU fit, check the profiles, render the RunPod and Kubernetes configs.

    hrstack deploy plan --model qwen2.5-7b --gpu 24GB          # fits? KV tokens, concurrency
    hrstack deploy plan --model ./merged --gpu 16GB --quantization bitsandbytes
    hrstack deploy profiles --model qwen2.5-7b                 # every profile, 16-bit and 4-bit
    hrstack deploy runpod --gpu 24GB --image ghcr.io/you/hrstack:0.1.0 --dry-run
    RUNPOD_API_KEY=... hrstack deploy runpod --gpu 24GB --image ghcr.io/you/hrstack:0.1.0
    hrstack deploy runpod-serverless --gpu 24GB --image ghcr.io/you/hrstack:0.1.0 --dry-run
    RUNPOD_API_KEY=... hrstack deploy runpod-serverless --gpu 24GB --image ... --workers-max 2
    hrstack deploy kubernetes --profile 48gb > deploy/kubernetes/engine-profile.env

Exit status 1 means the plan was refused (the message says why and what to change). Heavy
imports happen inside the commands so `hrstack --help` stays fast.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pydantic import ValidationError

    from hrstack.deploy.plan_types import Plan
    from hrstack.deploy.runpod_serverless import EndpointConfig, ServerlessTemplate

app = typer.Typer(help="Plan GPU fit and deploy to RunPod or Kubernetes.", no_args_is_help=True)

ModelOpt = Annotated[
    str,
    typer.Option(help="Known shape (qwen2.5-7b, smollm2-135m) or a model dir with config.json."),
]
GpuOpt = Annotated[
    str | None,
    typer.Option(
        help="GPU memory as nvidia-smi reports it (24GB = 24 GiB), or cpu; default: detected."
    ),
]


def parse_gpu(text: str | None) -> float | None:
    """'24GB', '24gib', '22.5' -> GiB; 'cpu' -> None. GB is read as GiB, as cards are sold."""
    if text is None or text.strip().lower() == "cpu":
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(gb|gib|g)?\s*", text.lower())
    if not match:
        raise typer.BadParameter(f"{text!r}: expected GPU memory such as 24GB, 80GB or cpu")
    return float(match.group(1))


@app.command()
def plan(
    model: ModelOpt = "qwen2.5-7b",
    gpu: GpuOpt = None,
    profile: Annotated[
        str | None, typer.Option(help="Profile to plan (default: chosen for --gpu).")
    ] = None,
    max_num_seqs: Annotated[int | None, typer.Option(help="Override MAX_NUM_SEQS.")] = None,
    max_model_len: Annotated[int | None, typer.Option(help="Override MAX_MODEL_LEN.")] = None,
    gpu_memory_utilization: Annotated[
        float | None, typer.Option(help="Override the share.")
    ] = None,
    dtype: Annotated[str | None, typer.Option(help="Override DTYPE.")] = None,
    quantization: Annotated[
        str | None, typer.Option(help="none, bitsandbytes, awq, gptq, fp8.")
    ] = None,
    kv_cache_dtype: Annotated[str | None, typer.Option(help="auto or fp8.")] = None,
    kv_cache_gib: Annotated[int | None, typer.Option(help="CPU: VLLM_CPU_KVCACHE_SPACE.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Plan MODEL on a GPU (or CPU) with a profile's values; exit 1 if it cannot fit."""
    from hrstack.deploy.model_shape import load_shape
    from hrstack.deploy.plan_types import EngineConfig
    from hrstack.deploy.planner import plan as make_plan
    from hrstack.server.profiles import choose_profile, detect_vram_gib, load_profile

    vram = parse_gpu(gpu) if gpu is not None else detect_vram_gib()
    name = profile or choose_profile(vram)
    overrides = {
        "max_num_seqs": max_num_seqs, "max_model_len": max_model_len, "dtype": dtype,
        "gpu_memory_utilization": gpu_memory_utilization, "quantization": quantization,
        "kv_cache_dtype": kv_cache_dtype, "cpu_kvcache_space_gib": kv_cache_gib,
    }  # fmt: skip
    try:
        values = load_profile(name) | {k: v for k, v in overrides.items() if v is not None}
        result = make_plan(load_shape(model), EngineConfig.from_values(values), vram)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print(json.dumps({"profile": name, **asdict(result)}, indent=2))
    else:
        print(f"profile {name}")
        print(result.summary())
    raise typer.Exit(0 if result.fits else 1)


@app.command()
def profiles(model: ModelOpt = "qwen2.5-7b") -> None:
    """Every GPU profile planned at its smallest card, in 16-bit and 4-bit; exit 1 if one fails."""
    from hrstack.deploy.model_shape import load_shape
    from hrstack.deploy.profile_fit import (
        VARIANTS,
        gpu_profiles,
        min_vram_gib,
        plan_profile,
        plan_variant,
    )

    shape = load_shape(model)
    print(f"{shape.name}: {shape.params / 1e9:.2f}B params; each profile at its min_vram_gib")
    row = "{:<8}{:>5}  {:<12}{:>11}{:>12}{:>8}{:>7}  {}"
    print(row.format("profile", "GiB", "variant", "weights GB", "KV tokens", "seqs", "len", "fits"))
    failed = False
    for name in gpu_profiles():
        own = plan_profile(shape, name)
        failed |= not own.fits
        for variant in [*VARIANTS, "as profiled"]:
            p = own if variant == "as profiled" else plan_variant(shape, name, variant)
            print(row.format(
                name, f"{min_vram_gib(name):g}", variant, f"{p.weight_bytes / 1e9:.2f}",
                f"{p.kv_tokens:,}", f"{p.max_concurrent_seqs:.1f}", p.engine.max_model_len,
                "yes" if p.fits else f"no ({p.reason})",
            ))  # fmt: skip
    raise typer.Exit(1 if failed else 0)


ImageOpt = Annotated[str, typer.Option(envvar="HRSTACK_IMAGE", help="Pushed image, pinned tag.")]
ServedModelOpt = Annotated[
    str, typer.Option(help="MODEL the workers serve (HF id or dir on the volume).")
]
ShapeOpt = Annotated[
    str | None, typer.Option(help="Shape to plan (default: --model if known, else qwen2.5-7b).")
]
HfSecretOpt = Annotated[str | None, typer.Option(help="RunPod secret holding HF_TOKEN.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the JSON only.")]
ApiUrlOpt = Annotated[str, typer.Option(envvar="RUNPOD_API_URL", help="GraphQL endpoint.")]
DEFAULT_SERVED = "Qwen/Qwen2.5-7B-Instruct"
GRAPHQL = "https://api.runpod.io/graphql"


def _fit(gpu: str, model: str, shape: str | None) -> tuple[str, Plan]:
    """The profile for a card of ``gpu`` and the model planned on it; exits 1 (the plan
    printed) when it cannot fit, as `hrstack deploy plan` does."""
    from hrstack.deploy.model_shape import load_shape
    from hrstack.deploy.profile_fit import plan_profile
    from hrstack.deploy.resolve import shape_for_model
    from hrstack.server.profiles import choose_profile

    vram = parse_gpu(gpu)
    if vram is None:
        raise typer.BadParameter("RunPod templates here are for GPU cards; give e.g. --gpu 24GB")
    try:
        profile = choose_profile(vram)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    planned = load_shape(shape) if shape else shape_for_model(model) or load_shape("qwen2.5-7b")
    result = plan_profile(planned, profile, vram)
    if not result.fits:
        print(result.summary())
        raise typer.Exit(1)
    return profile, result


def _refused(exc: ValidationError) -> typer.BadParameter:
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return typer.BadParameter(f"template refused: {problems}")


def _api_key(what: str) -> str:
    key = os.environ.get("RUNPOD_API_KEY")
    if not key:
        raise typer.BadParameter(f"set RUNPOD_API_KEY to save the {what}, or pass --dry-run")
    return key


@app.command()
def runpod(
    gpu: Annotated[str, typer.Option(help="GPU memory of the pod, e.g. 24GB.")],
    image: ImageOpt,
    model: ServedModelOpt = DEFAULT_SERVED,
    shape: ShapeOpt = None,
    name: Annotated[
        str | None, typer.Option(help="Template name (default hrstack-PROFILE).")
    ] = None,
    container_disk_gb: Annotated[int, typer.Option(help="Container disk.")] = 40,
    volume_gb: Annotated[int, typer.Option(help="Persistent volume for weights/HF cache.")] = 80,
    hf_secret: HfSecretOpt = None,
    dry_run: DryRunOpt = False,
    api_url: ApiUrlOpt = GRAPHQL,
) -> None:
    """Render the pod template for a GPU size, refuse it if the plan cannot fit, save it."""
    from pydantic import ValidationError

    from hrstack.deploy.runpod_api import RunPodError, save_template
    from hrstack.deploy.runpod_template import render_template

    profile, result = _fit(gpu, model, shape)
    try:
        template = render_template(
            profile, image, gpu, result, model=model, name=name,
            container_disk_gb=container_disk_gb, volume_gb=volume_gb, hf_secret=hf_secret,
        )  # fmt: skip
    except ValidationError as exc:
        raise _refused(exc) from None
    if dry_run:
        print(template.model_dump_json(indent=2))
        return
    try:
        saved = save_template(template, _api_key("template"), url=api_url)
    except RunPodError as exc:
        print(f"error: {exc}")
        raise typer.Exit(1) from None
    print(f"{'created' if saved.created else 'updated'} template {saved.name} (id {saved.id})")


@app.command("runpod-serverless")
def runpod_serverless(
    gpu: Annotated[str, typer.Option(help="GPU memory of the workers' cards, e.g. 24GB.")],
    image: ImageOpt,
    model: ServedModelOpt = DEFAULT_SERVED,
    shape: ShapeOpt = None,
    name: Annotated[
        str | None,
        typer.Option(help="Template and endpoint name (default hrstack-serverless-PROFILE)."),
    ] = None,
    container_disk_gb: Annotated[int, typer.Option(help="Container disk per worker.")] = 40,
    network_volume: Annotated[
        str | None, typer.Option(help="Network volume id: weights and caches outlive workers.")
    ] = None,
    workers_min: Annotated[int, typer.Option(help="Always-on workers (0: scale to zero).")] = 0,
    workers_max: Annotated[int, typer.Option(help="Most workers at once.")] = 3,
    idle_timeout: Annotated[int, typer.Option(help="Seconds a worker idles before it stops.")] = 60,
    gpu_ids: Annotated[
        str | None,
        typer.Option(help="GPU pools (default: the card size's, e.g. AMPERE_24,ADA_24)."),
    ] = None,
    flashboot: Annotated[bool, typer.Option(help="RunPod FlashBoot (faster cold starts).")] = False,
    hf_secret: HfSecretOpt = None,
    audit_dsn_secret: Annotated[
        str | None, typer.Option(help="RunPod secret holding AUDIT_DSN (PostgreSQL audit).")
    ] = None,
    dry_run: DryRunOpt = False,
    api_url: ApiUrlOpt = GRAPHQL,
) -> None:
    """Render the Serverless template and endpoint for a GPU size (the same image and planned
    profile as the pod template), refuse them if the plan cannot fit, save both."""
    from pydantic import ValidationError

    from hrstack.deploy.runpod_serverless import endpoint_config, render_serverless_template

    profile, result = _fit(gpu, model, shape)
    try:
        template = render_serverless_template(
            profile, image, gpu, result, model=model, name=name,
            container_disk_gb=container_disk_gb, network_volume=network_volume is not None,
            hf_secret=hf_secret, audit_dsn_secret=audit_dsn_secret,
        )  # fmt: skip
        endpoint = endpoint_config(
            profile, template.name, gpu_ids=gpu_ids, workers_min=workers_min,
            workers_max=workers_max, idle_timeout_s=idle_timeout,
            network_volume_id=network_volume, flashboot=flashboot,
        )  # fmt: skip
    except ValidationError as exc:
        raise _refused(exc) from None
    if audit_dsn_secret is None:
        typer.echo("note: without --audit-dsn-secret each worker records decisions on its own "
                   "disk, which RunPod discards with the worker", err=True)  # fmt: skip
    if dry_run:
        dumped = {
            "template": template.model_dump(),
            "endpoint": endpoint.model_dump(exclude_none=True),
        }
        print(json.dumps(dumped, indent=2))
        return
    _save_serverless(template, endpoint, api_url)


def _save_serverless(template: ServerlessTemplate, endpoint: EndpointConfig, api_url: str) -> None:
    """Save the template, then the endpoint on it (each created, or updated by name)."""
    from hrstack.deploy.runpod_api import RunPodError, save_endpoint, save_template

    key = _api_key("template and endpoint")
    try:
        saved = save_template(template, key, url=api_url)
        ready = save_endpoint(endpoint, saved.id, key, url=api_url)
    except RunPodError as exc:
        print(f"error: {exc}")
        raise typer.Exit(1) from None
    print(f"{'created' if saved.created else 'updated'} template {saved.name} (id {saved.id})")
    print(f"{'created' if ready.created else 'updated'} endpoint {ready.name} (id {ready.id}); "
          f"jobs: POST https://api.runpod.ai/v2/{ready.id}/runsync")  # fmt: skip


@app.command()
def preflight() -> None:
    """Print the resolved profile and plan; exit 3 if it cannot fit (container start script)."""
    from hrstack.deploy.resolve import preflight as run

    result = run()
    print("\n".join(result.lines), flush=True)
    raise typer.Exit(0 if result.ok else 3)


@app.command()
def kubernetes(
    profile: Annotated[
        str, typer.Option(help="GPU profile the vLLM pods run (16gb, 24gb, 48gb, 80gb).")
    ] = "24gb",
) -> None:
    """Print the profile as deploy/kubernetes/engine-profile.env, the ConfigMap's source."""
    from hrstack.deploy.kubernetes_profile import render_env_file

    try:
        print(render_env_file(profile), end="")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


if __name__ == "__main__":
    app()
