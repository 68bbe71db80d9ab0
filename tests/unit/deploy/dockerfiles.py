"""The repository's Dockerfiles as data for the container tests, parsed by dockerfile-parse.

No container engine runs where the tests do, so an image is judged by what its Dockerfile says:
instructions in file order, grouped by build stage, and the chain of stages the final image is
built from (``FROM base`` inherits everything ``base`` ran).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[3]
RUNPOD = REPO / "deploy" / "runpod" / "Dockerfile"
GATEWAY = REPO / "deploy" / "gateway.Dockerfile"
DOCKERFILES = {"runpod": RUNPOD, "gateway": GATEWAY}
#: The lock every image installs its dependencies from (made by pip-tools, with --hash lines).
LOCK = "requirements/serve.txt"


@dataclass
class Step:
    instruction: str  # FROM, RUN, COPY, ...
    value: str  # the arguments, continuation lines joined
    index: int  # position in the file among instructions (comments excluded)


@dataclass
class Stage:
    name: str  # ``AS name``, or the stage's position
    parent: str  # the image or stage it starts from
    steps: list[Step] = field(default_factory=list)


def steps(path: Path) -> list[Step]:
    parser = DockerfileParser(path=str(path), env_replace=False)
    found = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    return [Step(i["instruction"], " ".join(i["value"].split()), n) for n, i in enumerate(found)]


def stages(path: Path) -> list[Stage]:
    out: list[Stage] = []
    for step in steps(path):
        if step.instruction == "FROM":
            words = step.value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(out))
            out.append(Stage(name, words[0]))
        out[-1].steps.append(step)
    return out


def final_chain(path: Path) -> list[Step]:
    """The steps the final image is made of: its ancestors' stages first, then its own."""
    by_name = {stage.name: stage for stage in stages(path)}
    chain = [stages(path)[-1]]
    while chain[0].parent in by_name:
        chain.insert(0, by_name[chain[0].parent])
    return [step for stage in chain for step in stage.steps]


def of(path: Path, instruction: str, *, final: bool = False) -> list[Step]:
    source = final_chain(path) if final else steps(path)
    return [step for step in source if step.instruction == instruction]


def env(path: Path) -> dict[str, str]:
    """ENV values the final image runs with (``KEY=value`` pairs; later ones win)."""
    values: dict[str, str] = {}
    for step in of(path, "ENV", final=True):
        for pair in shlex.split(step.value):
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def exec_form(step: Step) -> list[str]:
    """ENTRYPOINT/CMD/HEALTHCHECK CMD in JSON (exec) form; shell form is an error here."""
    value = step.value.split("CMD", 1)[1] if step.instruction == "HEALTHCHECK" else step.value
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"{step.instruction} is not in exec form: {step.value}"
    return [str(item) for item in parsed]


def copy_args(step: Step) -> tuple[dict[str, str], list[str], str]:
    """A COPY's ``--flag=value`` options, its sources and its destination."""
    words = shlex.split(step.value)
    flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
    paths = [w for w in words if not w.startswith("--")]
    return flags, paths[:-1], paths[-1]


def commands(step: Step) -> list[str]:
    """A RUN's shell commands, split at ``&&`` and ``||``."""
    return [c.strip() for c in step.value.replace("||", "&&").split("&&") if c.strip()]
