// Rotary embeddings from per-token angle tables computed on the host (the Rope type), so
// frequency scaling, rope_freqs and Qwen3.5's sections (which only change the angles) need no
// kernel of their own. x: [n_tok][n_heads][head_dim]; cos/sin: [n_tok][n_rot / 2].
// Grid: (n_heads, n_tok); block: n_rot / 2 threads (one per rotated pair).

// NEOX: pairs (i, i + n_rot/2).
extern "C" __global__ void rope_neox(float* x, const float* cosv, const float* sinv, int n_heads,
                                     int head_dim, int n_rot) {
    int h = blockIdx.x, t = blockIdx.y, i = threadIdx.x, half = n_rot / 2;
    if (i >= half) return;
    float* v = x + ((int64_t)t * n_heads + h) * head_dim;
    float c = cosv[t * half + i], s = sinv[t * half + i];
    float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = a * s + b * c;
}

// Normal (GPT-J style): adjacent pairs (2i, 2i + 1).
extern "C" __global__ void rope_norm(float* x, const float* cosv, const float* sinv, int n_heads,
                                     int head_dim, int n_rot) {
    int h = blockIdx.x, t = blockIdx.y, i = threadIdx.x, half = n_rot / 2;
    if (i >= half) return;
    float* v = x + ((int64_t)t * n_heads + h) * head_dim;
    float c = cosv[t * half + i], s = sinv[t * half + i];
    float a = v[2 * i], b = v[2 * i + 1];
    v[2 * i] = a * c - b * s;
    v[2 * i + 1] = a * s + b * c;
}
