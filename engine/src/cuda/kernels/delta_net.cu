// Gated DeltaNet, token by token (as llama.cpp's fused CPU op).

// Causal conv1d over the carried state, then SiLU. x: [n_tok][conv_dim]; w: [conv_dim][kc];
// state: [kc - 1][conv_dim] (oldest first), updated in place. One thread per channel.
extern "C" __global__ void conv1d_silu_step(const float* x, const float* w, float* state,
                                            float* out, int conv_dim, int kc, int n_tok) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= conv_dim) return;
    const float* wr = w + (int64_t)c * kc;
    for (int t = 0; t < n_tok; t++) {
        float xin = x[(int64_t)t * conv_dim + c];
        float acc = xin * wr[kc - 1];
        for (int j = 0; j < kc - 1; j++) acc += state[(int64_t)j * conv_dim + c] * wr[j];
        out[(int64_t)t * conv_dim + c] = acc / (1.0f + expf(-acc));
        for (int j = 0; j + 1 < kc - 1; j++)
            state[(int64_t)j * conv_dim + c] = state[(int64_t)(j + 1) * conv_dim + c];
        if (kc > 1) state[(int64_t)(kc - 2) * conv_dim + c] = xin;
    }
}

// One token's delta-rule update for every value head. Block per head, one thread per value dim
// (dv <= 1024). q, k: [n_group][dk] (L2-normed); v, z, out: [n_vhead][dv]; b, a: [n_vhead];
// state: [n_vhead][dk][dv]. decay = exp(softplus(a + dt_bias) * A), beta = sigmoid(b).
// Output: RMSNorm(S^T q / sqrt(dk)) * norm * silu(z).
extern "C" __global__ void delta_net_step(const float* q, const float* k, const float* v,
                                          const float* z, const float* b, const float* a,
                                          const float* dt_bias, const float* A,
                                          const float* norm, float* state, float* out, int dk,
                                          int dv, int n_group, int n_vhead, int interleaved,
                                          float eps) {
    __shared__ float red[32];
    int h = blockIdx.x, j = threadIdx.x;
    int g = interleaved ? h / (n_vhead / n_group) : h % n_group;
    const float* qg = q + (int64_t)g * dk;
    const float* kg = k + (int64_t)g * dk;
    float* S = state + (int64_t)h * dk * dv;
    float x = a[h] + dt_bias[h];
    float softplus = x > 20.0f ? x : log1pf(expf(x));
    float decay = expf(softplus * A[h]);
    float beta = 1.0f / (1.0f + expf(-b[h]));
    float o = 0.0f;
    if (j < dv) {
        float kv = 0.0f;
        for (int i = 0; i < dk; i++) {
            float s = S[(int64_t)i * dv + j] * decay;
            S[(int64_t)i * dv + j] = s;
            kv += s * kg[i];
        }
        float delta = (v[(int64_t)h * dv + j] - kv) * beta;
        for (int i = 0; i < dk; i++) {
            float s = S[(int64_t)i * dv + j] + kg[i] * delta;
            S[(int64_t)i * dv + j] = s;
            o += s * qg[i];
        }
        o *= rsqrtf((float)dk);
    }
    // RMSNorm over the head's dv outputs.
    float sq = j < dv ? o * o : 0.0f;
    sq = fb_warp_sum(sq);
    if (j % 32 == 0) red[j / 32] = sq;
    __syncthreads();
    if (j < 32) {
        float r = j < (blockDim.x + 31) / 32 ? red[j] : 0.0f;
        r = fb_warp_sum(r);
        if (j == 0) red[0] = r;
    }
    __syncthreads();
    if (j < dv) {
        float zz = z[(int64_t)h * dv + j];
        float y = o * rsqrtf(red[0] / dv + eps) * norm[j];
        out[(int64_t)h * dv + j] = y * zz / (1.0f + expf(-zz));
    }
}
