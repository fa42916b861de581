#!/usr/bin/env bash
# Perplexity of synthetic models with catalog shapes no fixture has, scored by llama.cpp's
# llama-perplexity and by fitbench-engine on the same file and text. The synth files carry a
# byte-level vocabulary (one byte per token in both tokenizers), so both score the same tokens.
# Usage: results/unseen-shapes/compare.sh [WORKDIR]   (needs ../shared/tools/reference-llama.sh built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/fitbench-unseen-shapes}
bin=${LLAMA_BIN:-$HOME/.cache/fitbench-reference/bin}
text=$root/../shared/fixtures/gemma3-270m/GPL-3.txt
export LD_LIBRARY_PATH=$bin
mkdir -p "$work"
# 2560 bytes = 5 chunks of 512 byte-tokens.
head -c 2560 "$text" > "$work/text.txt"
fitbench=$root/target/release/fitbench
engine=$root/target/release/fitbench-engine
# like layers quant
models=(
  "qwen3.5-0.8b 4 Q8_0"
  "qwen3.5-4b 4 Q4_K_M"
  "qwen3-30b-a3b 2 Q4_K_M"
  "gemma-3-1b 2 Q4_K_M"
  "gemma-3-4b 2 Q8_0"
  "gemma-3-27b 2 Q4_0"
  "llama-3.1-8b 2 Q4_K_M"
  "qwen3.5-35b-a3b 4 IQ4_XS"
)
printf '| model | layers | quant | llama-perplexity | fitbench-engine | difference |\n|---|---|---|---:|---:|---:|\n'
for m in "${models[@]}"; do
  read -r like layers quant <<<"$m"
  f=$work/$like-${layers}L-$quant.gguf
  [ -f "$f" ] || "$fitbench" synth --like "$like" --layers "$layers" --quant "$quant" -o "$f" >/dev/null
  ref=$("$bin/llama-perplexity" -m "$f" -f "$work/text.txt" -c 512 -t 2 2>&1 | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p')
  ours=$("$engine" perplexity -m "$f" -f "$work/text.txt" -c 512 -t 2 2>&1 | sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p')
  diff=$(python3 -c "print(f'{($ours/$ref-1)*100:+.3f}%')")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$like" "$layers" "$quant" "$ref" "$ours" "$diff"
done
