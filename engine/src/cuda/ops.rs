//! Host-slice wrappers of the kernels that the forward pass does not call yet (RMSNorm, softmax,
//! SwiGLU, MoE top-k routing, split-K decode attention): upload, launch, download. They exist so
//! that a machine with a GPU checks every kernel against the CPU code (`ops_tests.rs`).

use super::kernels::{self, KernelSource};
use super::runtime::{driver_err, rt};
use super::CudaError;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

fn cfg(grid: (u32, u32), block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (grid.0, grid.1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn up<T: cudarc::driver::DeviceRepr>(x: &[T]) -> Result<CudaSlice<T>, CudaError> {
    rt()?.stream.clone_htod(x).map_err(driver_err("uploading"))
}

fn down<T: cudarc::driver::DeviceRepr + Default + Clone>(
    x: &CudaSlice<T>,
) -> Result<Vec<T>, CudaError> {
    let s = &rt()?.stream;
    let v = s.clone_dtoh(x).map_err(driver_err("downloading"))?;
    s.synchronize().map_err(driver_err("synchronizing"))?;
    Ok(v)
}

fn func(src: &KernelSource, name: &str) -> Result<cudarc::driver::CudaFunction, CudaError> {
    rt()?.function(src, name)
}

/// Rows of `w.len()`: `x / rms(x) * w`.
pub fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32) -> Result<Vec<f32>, CudaError> {
    let n = w.len();
    let (xd, wd) = (up(x)?, up(w)?);
    let mut yd = up(&vec![0f32; x.len()])?;
    let f = func(&kernels::NORM, "rms_norm_rows")?;
    let ni = n as i32;
    let mut l = rt()?.stream.launch_builder(&f);
    l.arg(&xd).arg(&wd).arg(&mut yd).arg(&ni).arg(&eps);
    // SAFETY: arguments match rms_norm_rows(const float*, const float*, float*, int, float).
    unsafe { l.launch(cfg(((x.len() / n) as u32, 1), 256)) }.map_err(driver_err("rms_norm"))?;
    down(&yd)
}

/// Softmax of each row of `n` values.
pub fn softmax_rows(x: &[f32], n: usize) -> Result<Vec<f32>, CudaError> {
    let mut xd = up(x)?;
    let f = func(&kernels::ELEMENTWISE, "softmax_rows")?;
    let ni = n as i32;
    let mut l = rt()?.stream.launch_builder(&f);
    l.arg(&mut xd).arg(&ni);
    // SAFETY: softmax_rows(float*, int); one block per row.
    unsafe { l.launch(cfg(((x.len() / n) as u32, 1), 256)) }.map_err(driver_err("softmax"))?;
    down(&xd)
}

/// `silu(g) * u`.
pub fn swiglu(g: &[f32], u: &[f32]) -> Result<Vec<f32>, CudaError> {
    let (mut gd, ud) = (up(g)?, up(u)?);
    let f = func(&kernels::ELEMENTWISE, "swiglu")?;
    let n = g.len() as i64;
    let mut l = rt()?.stream.launch_builder(&f);
    l.arg(&mut gd).arg(&ud).arg(&n);
    // SAFETY: swiglu(float*, const float*, long long); bounds-checked.
    unsafe { l.launch(cfg((g.len().div_ceil(256) as u32, 1), 256)) }
        .map_err(driver_err("swiglu"))?;
    down(&gd)
}

/// Per token: (expert ids, renormalized weights) of the top `k` of the router softmax.
pub fn moe_topk(
    logits: &[f32],
    n_expert: usize,
    k: usize,
) -> Result<(Vec<i32>, Vec<f32>), CudaError> {
    if n_expert > 1024 || k > n_expert {
        return Err(CudaError::Shape(format!("{n_expert} experts, top {k}")));
    }
    let n_tok = logits.len() / n_expert;
    let mut ld = up(logits)?;
    let mut ids = up(&vec![0i32; n_tok * k])?;
    let mut wts = up(&vec![0f32; n_tok * k])?;
    let f = func(&kernels::MOE, "moe_topk_softmax")?;
    let (nt, ne, ki) = (n_tok as i32, n_expert as i32, k as i32);
    let mut l = rt()?.stream.launch_builder(&f);
    l.arg(&mut ld)
        .arg(&mut ids)
        .arg(&mut wts)
        .arg(&nt)
        .arg(&ne)
        .arg(&ki);
    // SAFETY: moe_topk_softmax(float*, int*, float*, int, int, int); one thread per token.
    unsafe { l.launch(cfg((n_tok.div_ceil(64) as u32, 1), 64)) }.map_err(driver_err("moe"))?;
    Ok((down(&ids)?, down(&wts)?))
}

/// One decode query per head against an F16 cache `[pos][n_kv_head][hd]` (positions
/// `first..n_kv`), split-K over spans of 256 positions, then combined.
#[allow(clippy::too_many_arguments)]
pub fn attention_decode(
    q: &[f32],
    k_cache: &[u16],
    v_cache: &[u16],
    n_head: usize,
    n_kv_head: usize,
    hd: usize,
    first: usize,
    n_kv: usize,
    scale: f32,
) -> Result<Vec<f32>, CudaError> {
    let n_split = (n_kv - first).div_ceil(256).max(1);
    let (qd, kd, vd) = (up(q)?, up(k_cache)?, up(v_cache)?);
    let mut po = up(&vec![0f32; n_head * n_split * hd])?;
    let mut pm = up(&vec![0f32; n_head * n_split])?;
    let mut pl = up(&vec![0f32; n_head * n_split])?;
    let mut out = up(&vec![0f32; n_head * hd])?;
    let s = &rt()?.stream;
    let split = func(&kernels::ATTENTION, "attn_decode_split")?;
    let (nh, nkv, hdi, fi, nkvi) = (
        n_head as i32,
        n_kv_head as i32,
        hd as i32,
        first as i32,
        n_kv as i32,
    );
    let mut l = s.launch_builder(&split);
    l.arg(&qd)
        .arg(&kd)
        .arg(&vd)
        .arg(&mut po)
        .arg(&mut pm)
        .arg(&mut pl)
        .arg(&nh)
        .arg(&nkv)
        .arg(&hdi)
        .arg(&hdi)
        .arg(&fi)
        .arg(&nkvi)
        .arg(&scale);
    // SAFETY: matches attn_decode_split's parameters; grid (n_head, n_split), one warp each.
    unsafe { l.launch(cfg((n_head as u32, n_split as u32), 32)) }
        .map_err(driver_err("attention split"))?;
    let combine = func(&kernels::ATTENTION, "attn_decode_combine")?;
    let nsi = n_split as i32;
    let mut l = s.launch_builder(&combine);
    l.arg(&po)
        .arg(&pm)
        .arg(&pl)
        .arg(&mut out)
        .arg(&nsi)
        .arg(&hdi);
    // SAFETY: matches attn_decode_combine's parameters; one block per head.
    unsafe { l.launch(cfg((n_head as u32, 1), 32)) }.map_err(driver_err("attention combine"))?;
    down(&out)
}
