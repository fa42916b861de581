#!/usr/bin/env bash
# Throughput of two fitbench-engine builds (OLD, NEW) beside llama-bench on the same files, -t 2,
# alternated in two rounds: pp512 unless TESTS says otherwise (e.g. TESTS="-p 0 -n 128"). Models:
# the arguments (default: the Q4_0, Q8_0 and MXFP4_MOE 4-layer slices of Qwen3.5-35B-A3B from
# `fitbench synth`). L names another llama.cpp build (e.g. one without AVX-512); FITBENCH_CPU_ISA
# in the environment caps only fitbench-engine's kernels.
set -u
L=${L:-$HOME/.cache/fitbench-reference/bin}
OLD=${OLD:?the fitbench-engine build before the change}
NEW=${NEW:-target/release/fitbench-engine}
S=${S:-/work/synth-out}
TESTS=${TESTS:--p 512 -n 0}
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=($S/qwen35moe-35b-a3b-4L-Q4_0.gguf $S/qwen35moe-35b-a3b-4L-Q8_0.gguf $S/qwen35moe-35b-a3b-4L-MXFP4_MOE.gguf)
date -u
for round in 1 2; do
  for M in "${MODELS[@]}"; do
    echo "== round $round: $(basename $M)"
    echo -n "llama-bench: "; LD_LIBRARY_PATH=$L $L/llama-bench -m $M -t 2 -r 3 $TESTS -o md 2>/dev/null | grep -E '\| *(pp|tg)'
    echo -n "old: "; $OLD bench -m $M -t 2 -r 3 $TESTS -o md 2>/dev/null | grep -E '\| *(pp|tg)'
    echo -n "new: "; $NEW bench -m $M -t 2 -r 3 $TESTS -o md 2>/dev/null | grep -E '\| *(pp|tg)'
  done
done
date -u
