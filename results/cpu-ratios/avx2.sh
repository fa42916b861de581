#!/usr/bin/env bash
# The engine capped below AVX-512 (FITBENCH_CPU_ISA=avxvnni: AVX2 + AVX-VNNI, as on Intel desktops
# and laptops since Alder Lake; ISA=avx2 for AVX2 alone) beside llama-bench built for such a CPU
# (GGML_AVX512=OFF, GGML_AVX_VNNI=ON, no AMX), same files, -t 2, back to back. LA: that build's bin
# folder (the results note gives its cmake line).
set -u
LA=${LA:?the bin folder of a llama.cpp built without AVX-512}
S=${S:-/work/synth-out}
G=${G:-/work/gemma3-270m.gguf}
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=($G $S/qwen35moe-35b-a3b-4L-Q4_K_M.gguf $S/qwen35moe-35b-a3b-4L-IQ4_XS.gguf $S/qwen35moe-35b-a3b-4L-Q8_0.gguf)
date -u
objdump -d $LA/libggml-cpu.so | grep -c zmm | sed 's/^/zmm instructions in llama.cpp libggml-cpu.so: /'
for M in "${MODELS[@]}"; do
  echo "== $(basename $M)"
  echo "llama-bench:"; LD_LIBRARY_PATH=$LA $LA/llama-bench -m $M -t 2 -r 3 -p 512 -n 128 -o md 2>/dev/null | grep -E '\| *(pp|tg)'
  echo "fitbench-engine (FITBENCH_CPU_ISA=${ISA:-avxvnni}):"; FITBENCH_CPU_ISA=${ISA:-avxvnni} target/release/fitbench-engine bench -m $M -t 2 -r 3 -p 512 -n 128 -o md 2>/dev/null | grep -E '\| *(pp|tg)'
done
date -u
