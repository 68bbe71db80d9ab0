"""Container start check: the profile and fit plan a start resolves to, and whether to go on.

``deploy/runpod/start.sh`` runs ``python -m hrstack.deploy.cli preflight`` (this module, printed)
before it execs ``hrstack serve``. Settings are built exactly as ``hrstack serve`` builds them
(profile from detected VRAM unless PROFILE names one, environment overrides single values), so
what is printed is what runs. HRSTACK_SKIP_PLAN=1 starts anyway when the estimate is wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from hrstack.deploy.model_shape import ModelShape, load_shape
from hrstack.deploy.plan_types import EngineConfig
from hrstack.deploy.planner import plan
from hrstack.deploy.profile_fit import min_vram_gib
from hrstack.server import embedded_model
from hrstack.server.profiles import detect_vram_gib


@dataclass
class Preflight:
    ok: bool = True
    lines: list[str] = field(default_factory=list)


def shape_for_model(model: str | None) -> ModelShape | None:
    """The embedded model, a local directory, a known name, or a Hugging Face repo id already in
    the HF cache (so restarts are checked); None when unknown (not downloaded yet)."""
    for candidate in (model or embedded_model.DEFAULT, *_hf_cached_dirs(model)):
        try:
            return load_shape(candidate)
        except ValueError:
            continue
    return None


def _hf_cached_dirs(model: str | None) -> list[str]:
    """Snapshot directories of ``org/name`` in the Hugging Face hub cache under HF_HOME."""
    if not model or model.count("/") != 1 or Path(model).exists():
        return []
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    repo = home / "hub" / ("models--" + model.replace("/", "--")) / "snapshots"
    return [str(p) for p in sorted(repo.glob("*")) if (p / "config.json").is_file()]


def preflight() -> Preflight:
    """Resolve settings like ``hrstack serve`` does and plan them on the detected GPU."""
    from hrstack.server.settings import Settings  # reads the environment as the launcher will

    settings = Settings()  # type: ignore[call-arg,unused-ignore]  # filled from env
    vram = detect_vram_gib()
    seen = f"{vram:.1f} GiB GPU" if vram is not None else "no GPU"
    out = Preflight()
    say = out.lines.append
    say(f"hrstack start: {seen}; PROFILE={os.environ.get('PROFILE', 'auto')} -> {settings.profile}")
    if not settings.launches_engine:
        say(f"gateway only, upstreams {', '.join(settings.upstream_urls)}")
        return out
    engine = EngineConfig.from_values(settings.model_dump())
    say(f"model {settings.model or 'embedded ' + settings.embedded_model}; {engine.describe()}")
    # The embedded model a start serves is EMBEDDED_MODEL's, each with a shipped shape.
    shape = shape_for_model(settings.model or settings.embedded_model)
    if shape is None:
        say("fit not checked: the model is neither a local directory with config.json nor a "
            "known shape (hrstack deploy plan --help)")  # fmt: skip
        return out
    if settings.profile == "cpu":
        vram = None
    elif vram is None:
        vram = min_vram_gib(settings.profile)
        say(f"no GPU detected: planning profile {settings.profile} at its {vram:g} GiB minimum")
    result = plan(shape, engine, vram)
    out.lines.extend(result.summary().splitlines())
    if not result.fits and os.environ.get("HRSTACK_SKIP_PLAN") != "1":
        out.ok = False
        say("not starting: change the setting above, or set HRSTACK_SKIP_PLAN=1 to start anyway")
    return out
