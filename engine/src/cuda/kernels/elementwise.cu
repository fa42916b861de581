// Elementwise ops: SwiGLU, residual add, sigmoid output gate, and the row softmax for sampling.

extern "C" __global__ void swiglu(float* g, const float* u, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float x = g[i];
        g[i] = x / (1.0f + expf(-x)) * u[i];
    }
}

extern "C" __global__ void add_in_place(float* a, const float* b, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) a[i] += b[i];
}

extern "C" __global__ void sigmoid_gate(float* a, const float* g, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) a[i] *= 1.0f / (1.0f + expf(-g[i]));
}

// Softmax of each row (one 256-thread block per row), numerically stable (max subtracted).
#define SM_THREADS 256
extern "C" __global__ void __launch_bounds__(SM_THREADS)
    softmax_rows(float* x, int n) {
    __shared__ float red[SM_THREADS / 32];
    float* r = x + (int64_t)blockIdx.x * n;
    float m = FB_NEG_INF;
    for (int i = threadIdx.x; i < n; i += SM_THREADS) m = fmaxf(m, r[i]);
    m = fb_warp_max(m);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < SM_THREADS / 32 ? red[threadIdx.x] : FB_NEG_INF;
        v = fb_warp_max(v);
        if (threadIdx.x == 0) red[0] = v;
    }
    __syncthreads();
    m = red[0];
    __syncthreads();
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += SM_THREADS) {
        float e = expf(r[i] - m);
        r[i] = e;
        s += e;
    }
    s = fb_warp_sum(s);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        float v = threadIdx.x < SM_THREADS / 32 ? red[threadIdx.x] : 0.0f;
        v = fb_warp_sum(v);
        if (threadIdx.x == 0) red[0] = v;
    }
    __syncthreads();
    float inv = 1.0f / red[0];
    for (int i = threadIdx.x; i < n; i += SM_THREADS) r[i] *= inv;
}
