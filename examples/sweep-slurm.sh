#!/usr/bin/env bash
# A gradflow sweep as a SLURM job array: each array task computes one shard of the grid, then
# one dependent job merges the shards. Submit from the directory that should hold the results:
#
#   jid=$(sbatch --parsable --array=1-16 examples/sweep-slurm.sh diagonal --alphas 1e-2,1e-4,1e-8 --seeds 0..9 --dim d=5,10)
#   sbatch --dependency=afterok:$jid --wrap 'gradflow merge sweep/shard-* --out sweep/all'
#
# Everything after the script name is the grid (as for `gradflow sweep`); every task must get
# the same grid. A task that was killed (time limit, pre-emption) is simply resubmitted: --resume
# keeps its finished cells. The array may start at 0 or 1 (SLURM_ARRAY_TASK_MIN is honoured).
#SBATCH --job-name=gradflow-sweep
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=sweep-%A_%a.log
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?run this as a job array: sbatch --array=1-N $0 <model> [grid options]}"
min="${SLURM_ARRAY_TASK_MIN:-1}"
count="${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set}"
k=$((SLURM_ARRAY_TASK_ID - min + 1))
dir="${SWEEP_DIR:-sweep}/shard-${k}"
resume=()
[ -f "$dir/cells.jsonl" ] && resume=(--resume)
exec gradflow sweep "$@" --shard "${k}/${count}" --workers "${SLURM_CPUS_PER_TASK:-1}" --out "$dir" "${resume[@]}"
