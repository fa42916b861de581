// MoE routing: per token, softmax over the router logits, top-k, weights renormalized over the
// k chosen (llama.cpp build_moe_ffn with norm_w; sum clamped at 6.103515625e-5 as ggml does).
// One thread per token; k <= 32. logits: [n_tok][n_expert] (overwritten with probabilities).
extern "C" __global__ void moe_topk_softmax(float* logits, int* ids, float* weights, int n_tok,
                                            int n_expert, int k) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_tok) return;
    float* r = logits + (int64_t)t * n_expert;
    float m = FB_NEG_INF;
    for (int e = 0; e < n_expert; e++) m = fmaxf(m, r[e]);
    float s = 0.0f;
    for (int e = 0; e < n_expert; e++) {
        r[e] = expf(r[e] - m);
        s += r[e];
    }
    for (int e = 0; e < n_expert; e++) r[e] /= s;
    unsigned int taken[32];
    for (int i = 0; i < 32; i++) taken[i] = 0;
    float sum = 0.0f;
    for (int slot = 0; slot < k; slot++) {
        int best = -1;
        float bv = FB_NEG_INF;
        for (int e = 0; e < n_expert; e++) {
            bool used = (taken[e / 32] >> (e % 32)) & 1;
            if (!used && r[e] > bv) {
                bv = r[e];
                best = e;
            }
        }
        if (best < 0) best = 0;
        taken[best / 32] |= 1u << (best % 32);
        ids[t * k + slot] = best;
        weights[t * k + slot] = bv;
        sum += bv;
    }
    sum = fmaxf(sum, 6.103515625e-5f);
    for (int slot = 0; slot < k; slot++) weights[t * k + slot] /= sum;
}
