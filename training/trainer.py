"""``SFTTrainer`` with a loss that projects only answer tokens through the LM head.

Why: TRL 1.16's fused LM head computes the loss without materializing logits, but it keeps
only the labelled positions when Triton is available (``_use_triton``, i.e. on a GPU); on a CPU
it projects every position through the 49k-token head and also computes per-token entropy and
top-1 accuracy for its metrics. Our rows are two-thirds production prompt (masked), so on 2 CPU
cores that made a step 2.3x slower (measured: ~13-28 s vs ~5-12 s for batch 8). This loss is
the same quantity — mean negative log-likelihood of the answer tokens, normalized by
``num_items_in_batch`` so gradient accumulation stays exact — computed on those positions only.
Under data parallelism (training.distributed) the forward must run through the DDP wrapper, so
there the same positions are projected through the model's own ``logits_to_keep``.
Imported lazily: it pulls in TRL.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import SFTTrainer

from hrstack.training.chat import IGNORE


class AnswerOnlySFTTrainer(SFTTrainer):
    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        if return_outputs:  # callers that want logits get TRL's path
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        targets = inputs["labels"][:, 1:]
        answer = targets != IGNORE
        with self.accelerator.autocast():
            if isinstance(model, torch.nn.parallel.DistributedDataParallel):
                logits, gold = _through_wrapper(model, inputs, targets, answer)
            else:
                causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
                backbone = getattr(causal_lm, causal_lm.base_model_prefix)  # e.g. LlamaModel
                hidden = backbone(
                    input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")
                ).last_hidden_state
                logits = causal_lm.get_output_embeddings()(hidden[:, :-1][answer]).float()
                gold = targets[answer]
        nll = torch.nn.functional.cross_entropy(logits, gold, reduction="sum")
        # With num_items_in_batch (tokens over all accumulated micro-batches) the sum is already
        # scaled for accumulation; without it, let the Trainer divide by the accumulation steps.
        self.loss_is_scaled_for_ga = num_items_in_batch is not None  # type: ignore[assignment]
        count = num_items_in_batch if num_items_in_batch is not None else answer.sum().clamp(min=1)
        loss = nll / count
        if num_items_in_batch is not None and self.args.average_tokens_across_devices:
            # Data parallel: num_items_in_batch counts every process's tokens and DDP averages
            # the gradients over processes, so scale back up (the Trainer's own compute_loss
            # does the same): the step then follows the same mean as one process would.
            loss = loss * self.accelerator.num_processes
        return loss


def _through_wrapper(
    model: Any, inputs: dict[str, Any], targets: torch.Tensor, answer: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same answer-token logits, computed through the DDP wrapper's forward.

    DDP synchronises gradients only for a forward that ran through the wrapper, so under data
    parallelism the backbone cannot be called directly. The model's ``logits_to_keep`` projects
    only the positions that hold an answer token in some row of the batch (a tensor of indices,
    the same for every row); the per-row mask then picks each row's own answer tokens."""
    keep = answer.any(dim=0).nonzero().squeeze(1)
    out = model(
        input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"),
        logits_to_keep=keep, use_cache=False,
    )  # fmt: skip
    picked = answer[:, keep]
    return out.logits[picked].float(), targets[:, keep][picked]
