#!/usr/bin/env bash
# Generation vs the bandwidth bound: the probe's read anchor, then llama-bench and fitbench-engine on the
# same slice (tg128, -t 2, -r 5), three times, then the anchor again. Ratio = bytes per token x t/s / anchor.
# Ours also measures the anchor in-process before each repetition (--bandwidth-anchor) and prints
# the median percentage of the bound itself.
set -u
L=~/.cache/fitbench-reference/bin
E=${E:-target/release/fitbench-engine}
F=${F:-target/release/fitbench}
S=${S:-/work/synth-out/qwen35moe-35b-a3b-4L-Q4_K_M.gguf}
export LD_LIBRARY_PATH=$L
for i in 1 2 3; do
  $F probe 2>/dev/null | grep -i "read bandwidth"
  $L/llama-bench -m $S -t 2 -r 5 -p 0 -n 128 -o md 2>/dev/null | grep tg128
  $E bench -m $S -t 2 -r 5 -p 0 -n 128 --bandwidth-anchor -o md 2>/dev/null | grep tg128
done
$F probe 2>/dev/null | grep -i "read bandwidth"
