#!/usr/bin/env bash
# Container entrypoint (deploy/runpod/Dockerfile): caches on the volume, print and check the
# resolved profile and fit plan, then exec `hrstack serve` so the launcher receives the signals.
#   PROFILE unset/auto: chosen from detected VRAM;  HRSTACK_DRY_RUN=1: print, start nothing;
#   HRSTACK_SKIP_PLAN=1: start even if the plan is refused;
#   HRSTACK_MODE=serverless: exec the RunPod Serverless worker instead (deploy/serverless.py:
#   the same vLLM and gateway, fed by RunPod's job queue; its endpoint template sets this).
set -euo pipefail

volume="${HRSTACK_VOLUME:-/workspace}"
export HF_HOME="${HF_HOME:-$volume/huggingface}"   # model downloads survive pod restarts
export CACHE_DIR="${CACHE_DIR:-$volume/hrstack}"     # hrstack's prepared models
export VLLM_CACHE_ROOT="${VLLM_CACHE_ROOT:-$volume/vllm}"  # torch.compile cache: faster restarts
export PROFILE="${PROFILE:-auto}"
python="${HRSTACK_PYTHON:-python3}"
mode="${HRSTACK_MODE:-serve}"
case "$mode" in
  serve) command=(hrstack serve) ;;
  serverless) command=("$python" -m hrstack.deploy.serverless) ;;
  *) echo "HRSTACK_MODE=$mode: expected serve (the HTTP gateway) or serverless" >&2; exit 2 ;;
esac

echo "hrstack start: HF_HOME=$HF_HOME CACHE_DIR=$CACHE_DIR VLLM_CACHE_ROOT=$VLLM_CACHE_ROOT"
"$python" -m hrstack.deploy.cli preflight   # exits 3 (and stops here) when the plan cannot fit

if [[ "${HRSTACK_DRY_RUN:-0}" == "1" ]]; then
  echo "dry run: exec ${command[*]} $*"
  exit 0
fi
if [[ "$mode" == "serverless" ]]; then
  exec "${command[@]}" "$@"
fi
exec hrstack serve "$@"
