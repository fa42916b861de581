// Reference logits from llama.cpp's library, in the fixtures' format:
// i32 n_tokens, i32 n_vocab, i32 tokens[n], f32 logits[n][n_vocab] (little-endian).
// usage: llama_logits MODEL TOKENS.txt batch|step OUT.bin [threads] [fa]
// (a sixth argument `fa` turns flash attention on; it is off otherwise)
// Build: gcc -O2 tools/llama_logits.c -I$R/src/include -I$R/src/ggml/include -L$R/build/bin -lllama
//        -Wl,-rpath,$R/build/bin   (R = ~/.cache/fitbench-reference)
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL TOKENS.txt batch|step OUT.bin [threads] [fa]\n", argv[0]);
        return 2;
    }
    int step = strcmp(argv[3], "step") == 0;
    int threads = argc > 5 ? atoi(argv[5]) : 2;
    FILE *tf = fopen(argv[2], "r");
    if (!tf) { perror(argv[2]); return 1; }
    llama_token tokens[4096];
    int n = 0;
    while (n < 4096 && fscanf(tf, "%d", &tokens[n]) == 1) n++;
    fclose(tf);

    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "%s: failed to load\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 4096;
    cp.n_batch = cp.n_ubatch = 4096;
    cp.n_threads = cp.n_threads_batch = threads;
    int flash = argc > 6 && strcmp(argv[6], "fa") == 0;
    cp.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    float *out = malloc(sizeof(float) * (size_t)n * n_vocab);
    struct llama_batch b = llama_batch_init(n, 0, 1);
    int chunk = step ? 1 : n;
    for (int s = 0; s < n; s += chunk) {
        b.n_tokens = chunk;
        for (int i = 0; i < chunk; i++) {
            b.token[i] = tokens[s + i];
            b.pos[i] = s + i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        if (llama_decode(ctx, b)) { fprintf(stderr, "decode failed at %d\n", s); return 1; }
        for (int i = 0; i < chunk; i++)
            memcpy(out + (size_t)(s + i) * n_vocab, llama_get_logits_ith(ctx, i), sizeof(float) * n_vocab);
    }
    FILE *o = fopen(argv[4], "wb");
    fwrite(&n, 4, 1, o);
    fwrite(&n_vocab, 4, 1, o);
    fwrite(tokens, 4, n, o);
    fwrite(out, sizeof(float), (size_t)n * n_vocab, o);
    fclose(o);
    return 0;
}
