// Softmax attention over an F16 KV cache laid out [pos][n_kv_head][head_dim] per layer.
// Decode: split-K — grid (n_head, n_split), one warp per block scores a span of positions and
// writes a partial (max, sum, unnormalized output); attn_decode_combine merges the spans.
// Prompt: one warp per (query token, head) with an online softmax over its causal window.
#define ATT_SPAN 256

FB_HD float fb_kv(const uint16_t* cache, int64_t idx) { return fb_f16_to_f32(cache[idx]); }

extern "C" __global__ void __launch_bounds__(32)
    attn_decode_split(const float* q, const uint16_t* k, const uint16_t* v, float* part_o,
                      float* part_m, float* part_l, int n_head, int n_kv_head, int hd, int hv,
                      int first, int n_kv, float scale) {
    __shared__ float score[ATT_SPAN];
    int h = blockIdx.x, split = blockIdx.y, lane = threadIdx.x;
    int kvh = h / (n_head / n_kv_head);
    int p0 = first + split * ATT_SPAN;
    int p1 = min(p0 + ATT_SPAN, n_kv);
    const float* qh = q + (int64_t)h * hd;
    float m = FB_NEG_INF;
    for (int p = p0 + lane; p < p1; p += 32) {
        const uint16_t* kr = k + ((int64_t)p * n_kv_head + kvh) * hd;
        float s = 0.0f;
        for (int d = 0; d < hd; d++) s += qh[d] * fb_kv(kr, d);
        s *= scale;
        score[p - p0] = s;
        m = fmaxf(m, s);
    }
    m = fb_warp_max(m);
    float l = 0.0f;
    for (int p = p0 + lane; p < p1; p += 32) {
        float e = expf(score[p - p0] - m);
        score[p - p0] = e;
        l += e;
    }
    l = fb_warp_sum(l);
    __syncwarp();
    int64_t slot = (int64_t)h * gridDim.y + split;
    for (int d = lane; d < hv; d += 32) {
        float acc = 0.0f;
        for (int p = p0; p < p1; p++) acc += score[p - p0] * fb_kv(v, ((int64_t)p * n_kv_head + kvh) * hv + d);
        part_o[slot * hv + d] = acc;
    }
    if (lane == 0) {
        part_m[slot] = m;
        part_l[slot] = l;
    }
}

// out[h][d] = sum_s o_s[d] e^(m_s - M) / sum_s l_s e^(m_s - M). Grid: n_head; block: 32.
extern "C" __global__ void attn_decode_combine(const float* part_o, const float* part_m,
                                               const float* part_l, float* out, int n_split,
                                               int hv) {
    int h = blockIdx.x;
    float M = FB_NEG_INF;
    for (int s = 0; s < n_split; s++) M = fmaxf(M, part_m[h * n_split + s]);
    float L = 0.0f;
    for (int s = 0; s < n_split; s++) L += part_l[h * n_split + s] * expf(part_m[h * n_split + s] - M);
    for (int d = threadIdx.x; d < hv; d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < n_split; s++)
            acc += part_o[((int64_t)h * n_split + s) * hv + d] * expf(part_m[h * n_split + s] - M);
        out[(int64_t)h * hv + d] = acc / L;
    }
}

// Prompt: q [n_tok][n_head][hd] at positions pos0 + t; keys/values 0..pos0+t (window-limited).
// Grid: (n_head, n_tok); block: 32 (lanes split the output dims; hv <= 256).
extern "C" __global__ void __launch_bounds__(32)
    attn_prompt(const float* q, const uint16_t* k, const uint16_t* v, float* out, int n_head,
                int n_kv_head, int hd, int hv, int pos0, int window, float scale) {
    int h = blockIdx.x, t = blockIdx.y, lane = threadIdx.x;
    int kvh = h / (n_head / n_kv_head);
    int n_kv = pos0 + t + 1;
    int first = n_kv > window ? n_kv - window : 0;
    const float* qh = q + ((int64_t)t * n_head + h) * hd;
    float m = FB_NEG_INF, l = 0.0f;
    float acc[8];
    for (int j = 0; j < 8; j++) acc[j] = 0.0f;
    for (int p = first; p < n_kv; p++) {
        const uint16_t* kr = k + ((int64_t)p * n_kv_head + kvh) * hd;
        float s = 0.0f;
        for (int d = lane; d < hd; d += 32) s += qh[d] * fb_kv(kr, d);
        s = fb_warp_sum(s) * scale;
        float m_new = fmaxf(m, s);
        float corr = expf(m - m_new), e = expf(s - m_new);
        l = l * corr + e;
        const uint16_t* vr = v + ((int64_t)p * n_kv_head + kvh) * hv;
        for (int j = 0; j < 8; j++) {
            int d = lane + 32 * j;
            if (d < hv) acc[j] = acc[j] * corr + e * fb_kv(vr, d);
        }
        m = m_new;
    }
    float* o = out + ((int64_t)t * n_head + h) * hv;
    for (int j = 0; j < 8; j++) {
        int d = lane + 32 * j;
        if (d < hv) o[d] = acc[j] / l;
    }
}
