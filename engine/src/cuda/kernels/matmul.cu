// y[t][r] = W[r] · x[t] for a quantized weight W (rows of `row_bytes`), f32 activations.
// One warp per weight row; each warp iteration covers 256 weights, 8 per lane; the warp serves
// MM_TOKENS activation rows at once, so for prompts (grid.y > 1) each weight block is decoded
// once per 8 tokens. Decode (n = 1) is the same kernel with grid.y = 1.
#include "dequant.cuh"

#define MM_TOKENS 8
#define MM_WARPS 4

// One lane's partial sums over its share of a row (also run on the host by host_check.cpp).
template <class D>
FB_HD void mm_lane_partial(const uint8_t* row, const float* x, int k, int n_tok, int lane,
                           float* acc) {
    for (int t = 0; t < MM_TOKENS; t++) acc[t] = 0.0f;
    for (int i0 = lane * 8; i0 < k; i0 += 256) {
        float v[8];
        D::deq8(row, i0, v);
        for (int t = 0; t < MM_TOKENS; t++) {
            if (t < n_tok) {
                const float* xr = x + (int64_t)t * k + i0;
                float s = 0.0f;
                for (int j = 0; j < 8; j++) s += v[j] * xr[j];
                acc[t] += s;
            }
        }
    }
}

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
template <class D>
__device__ void mm_body(const uint8_t* w, int64_t row_bytes, const float* x, float* y, int k,
                        int rows, int n) {
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int r = blockIdx.x * MM_WARPS + warp;
    int t0 = blockIdx.y * MM_TOKENS;
    if (r >= rows) return;
    int n_tok = min(MM_TOKENS, n - t0);
    float acc[MM_TOKENS];
    mm_lane_partial<D>(w + (int64_t)r * row_bytes, x + (int64_t)t0 * k, k, n_tok, lane, acc);
    for (int t = 0; t < MM_TOKENS; t++) {
        float s = fb_warp_sum(acc[t]);
        if (lane == 0 && t < n_tok) y[(int64_t)(t0 + t) * rows + r] = s;
    }
}

#define FB_MM_KERNEL(NAME, D)                                                                 \
    extern "C" __global__ void __launch_bounds__(MM_WARPS * 32)                               \
        NAME(const uint8_t* w, long long row_bytes, const float* x, float* y, int k, int rows, \
             int n) {                                                                         \
        mm_body<D>(w, row_bytes, x, y, k, rows, n);                                           \
    }

FB_MM_KERNEL(mm_f32, DeqF32)
FB_MM_KERNEL(mm_f16, DeqF16)
FB_MM_KERNEL(mm_bf16, DeqBF16)
FB_MM_KERNEL(mm_q8_0, DeqQ8_0)
FB_MM_KERNEL(mm_q4_0, DeqQ4_0)
FB_MM_KERNEL(mm_q5_0, DeqQ5_0)
FB_MM_KERNEL(mm_q4_k, DeqQ4_K)
FB_MM_KERNEL(mm_q5_k, DeqQ5_K)
FB_MM_KERNEL(mm_q6_k, DeqQ6_K)
#endif
