"""The domain table (configs/domains.yaml) as typed models.

Adding or tuning a domain is a YAML edit: prompts, seed, sampling and attempt budget are data.
The code only knows how to run any row of this table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from hrstack.validators import DOMAINS


class Sampling(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(ge=0, le=2, description="Sampling temperature sent to vLLM.")
    top_p: float = Field(gt=0, le=1, description="Nucleus sampling mass.")
    max_tokens: int = Field(ge=1, le=4096, description="Most new tokens per attempt.")
    repetition_penalty: float = Field(
        1.0, gt=0, description="vLLM repetition penalty (>1 discourages loops in small models)."
    )
    frequency_penalty: float = Field(
        0.0, ge=-2, le=2, description="OpenAI-style frequency penalty (vLLM); 0 sends none."
    )


class DomainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The gateway route that serves this domain.")
    summary: str = Field(description="One line for API docs and GET /v1/domains.")
    validator: str = Field(description="Name of the validator in validators.VALIDATORS.")
    seed: str | None = Field(description="Assistant prefix the answer starts with, or null.")
    constraint: Literal["grammar", "json_schema", "none"] = Field(
        description=(
            "How the answer is constrained while it is decoded: an EBNF grammar or a JSON schema "
            "built from configs/validators.yaml by the domain's validator module (validators/), "
            "or none (free text, judged afterwards only)."
        )
    )
    retry: Literal["repair", "reseed"] = Field(
        "repair",
        description=(
            "What attempt 2+ does: repair shows the model its last answer and the checks it "
            "failed, as a follow-up turn; reseed asks the same prompt again with a new seed."
        ),
    )
    max_attempts: int = Field(ge=1, le=10, description="Attempt budget, first try included.")
    sampling: Sampling
    fields: list[str] = Field(
        min_length=1, description="Request fields put in the prompt, in order."
    )
    instruction: str = Field(min_length=1, description="First line of the user message.")
    system_prompt: str = Field(
        min_length=1, description="System message, format exemplar included."
    )

    @model_validator(mode="after")
    def _check(self) -> DomainConfig:
        if self.validator not in DOMAINS:
            raise ValueError(f"validator {self.validator!r} is not one of {', '.join(DOMAINS)}")
        if self.seed is not None and not self.seed.strip():
            raise ValueError("seed must contain text; use null for no seed")
        return self

    @property
    def sent_prefix(self) -> str | None:
        """What goes to vLLM: the seed without trailing whitespace, so tokens stay natural."""
        return self.seed.rstrip() if self.seed else None


class DomainTable(RootModel[dict[str, DomainConfig]]):
    @model_validator(mode="after")
    def _known(self) -> DomainTable:
        unknown = set(self.root) - set(DOMAINS)
        if unknown:
            raise ValueError(f"unknown domains {sorted(unknown)}; known: {', '.join(DOMAINS)}")
        return self

    def __getitem__(self, name: str) -> DomainConfig:
        return self.root[name]

    def names(self) -> list[str]:
        return list(self.root)


def load_domains(path: Path) -> DomainTable:
    try:
        data = yaml.safe_load(path.read_text())
        return DomainTable.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: invalid domain table: {exc}") from exc
