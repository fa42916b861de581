// RMSNorm of each row: y = x / sqrt(mean(x^2) + eps) * w. One block (256 threads) per row.
#define NORM_THREADS 256

extern "C" __global__ void __launch_bounds__(NORM_THREADS)
    rms_norm_rows(const float* x, const float* w, float* y, int n, float eps) {
    __shared__ float partial[NORM_THREADS / 32];
    const float* xr = x + (int64_t)blockIdx.x * n;
    float* yr = y + (int64_t)blockIdx.x * n;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += NORM_THREADS) s += xr[i] * xr[i];
    s = fb_warp_sum(s);
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < NORM_THREADS / 32 ? partial[threadIdx.x] : 0.0f;
        v = fb_warp_sum(v);
        if (threadIdx.x == 0) partial[0] = v;
    }
    __syncthreads();
    float scale = rsqrtf(partial[0] / n + eps);
    for (int i = threadIdx.x; i < n; i += NORM_THREADS) yr[i] = xr[i] * scale * w[i];
}
