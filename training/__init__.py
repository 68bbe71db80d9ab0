"""Training: the stages that produce, gate, select and merge the checkpoint the server serves.

Every stage is a typed function with its own module and an ``hrstack train <stage>`` command:

data (formats, split, synth) -> sft (callback: evaluate + gating) -> select -> merge -> report

Evaluation prompts are built with ``tasks.prompts`` and judged with ``validators``, so what the
gate measures is exactly what production sends and enforces. Heavy imports (torch,
transformers, peft, trl) happen inside the functions that need them, so ``hrstack --help`` and
the pure modules (config, gating, rubric, synth) load in milliseconds.
"""
