#!/usr/bin/env bash
# Flash attention (-fa 1) side by side: llama-bench then fitbench-engine on the same file and point,
# -t 2, pp512 and tg128 at several depths, F16 cache (and one q8_0 cache point).
set -u
L=~/.cache/fitbench-reference/bin
E=${E:-target/release/fitbench-engine}
G=${G:-/work/gemma3-270m.gguf}
S=${S:-/work/synth-out/qwen35moe-35b-a3b-4L-Q4_K_M.gguf}
export LD_LIBRARY_PATH=$L
run() {
  echo "== $*"
  $L/llama-bench -t 2 -r 2 -p 512 -n 128 -fa 1 -o md "$@" 2>/dev/null | grep -E "pp512|tg128"
  $E bench -t 2 -r 2 -p 512 -n 128 -fa 1 -o md "$@" 2>/dev/null | grep -E "pp512|tg128"
}
git rev-parse --short HEAD; date -u
for m in "$G" "$S"; do
  for d in 0 4096 16384; do run -m "$m" -d $d; done
done
run -m "$G" -d 8192 -ctk q8_0 -ctv q8_0
date -u; echo ALLDONE
