//! The process-wide CUDA context on device 0: weight uploads, kernel modules, matmul launches.

use super::kernels::{self, KernelSource};
use super::{nvrtc, Availability, Bandwidth, CudaError, DeviceInfo};
use crate::gguf::GgmlType;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

pub(super) struct Runtime {
    ctx: Arc<CudaContext>,
    pub(super) stream: Arc<CudaStream>,
    arch: &'static str,
    info: DeviceInfo,
    modules: Mutex<HashMap<&'static str, Arc<CudaModule>>>,
}

pub(super) fn driver_err(what: &'static str) -> impl Fn(cudarc::driver::DriverError) -> CudaError {
    move |e| CudaError::Driver {
        what,
        detail: format!("{e:?}"),
    }
}

fn init() -> Result<Runtime, Availability> {
    // SAFETY: only tries to open libcuda by name; no driver call is made without it.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(Availability::NoDriver);
    }
    let no_dev = |e: cudarc::driver::DriverError| Availability::NoDevice(format!("{e:?}"));
    let n = CudaContext::device_count().map_err(no_dev)?;
    if n < 1 {
        return Err(Availability::NoDevice(
            "the driver reports 0 devices".into(),
        ));
    }
    let ctx = CudaContext::new(0).map_err(no_dev)?;
    let cc = ctx.compute_capability().map_err(no_dev)?;
    let (free, total) = ctx.mem_get_info().map_err(no_dev)?;
    let info = DeviceInfo {
        name: ctx.name().unwrap_or_else(|_| "CUDA device 0".into()),
        compute_capability: cc,
        total_bytes: total as u64,
        free_bytes: free as u64,
    };
    let stream = ctx.default_stream();
    Ok(Runtime {
        ctx,
        stream,
        arch: nvrtc::arch_for(cc),
        info,
        modules: Mutex::new(HashMap::new()),
    })
}

fn runtime() -> Result<&'static Runtime, Availability> {
    static RT: OnceLock<Result<Runtime, Availability>> = OnceLock::new();
    RT.get_or_init(init).as_ref().map_err(|a| a.clone())
}

pub(super) fn rt() -> Result<&'static Runtime, CudaError> {
    runtime().map_err(|a| {
        CudaError::NoDevice(a.fallback_notice().unwrap_or_else(|| "unavailable".into()))
    })
}

/// Device 0 if a driver and a device are present (free memory as of first use).
pub fn availability() -> Availability {
    match runtime() {
        Ok(r) => Availability::Ready(r.info.clone()),
        Err(a) => a,
    }
}

impl Runtime {
    pub(super) fn function(
        &self,
        src: &KernelSource,
        name: &str,
    ) -> Result<CudaFunction, CudaError> {
        let mut mods = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        let module = match mods.get(src.name) {
            Some(m) => m.clone(),
            None => {
                let ptx = nvrtc::compile(src, self.arch)?;
                let m = self
                    .ctx
                    .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
                    .map_err(driver_err("loading a kernel module"))?;
                mods.insert(src.name, m.clone());
                m
            }
        };
        module
            .load_function(name)
            .map_err(driver_err("looking up a kernel"))
    }
}

/// Bytes of one weight tensor (or a row range of one) in device memory.
#[derive(Debug, Clone)]
pub struct DeviceBytes {
    buf: Arc<CudaSlice<u8>>,
    offset: usize,
    len: usize,
}

impl DeviceBytes {
    /// `len` bytes from `offset` within this range (a sub-tensor: one expert's rows).
    pub fn slice(&self, offset: usize, len: usize) -> DeviceBytes {
        let offset = (self.offset + offset).min(self.offset + self.len);
        let len = len.min(self.offset + self.len - offset);
        DeviceBytes {
            buf: self.buf.clone(),
            offset,
            len,
        }
    }
}

/// Copies `bytes` to device memory.
pub fn upload(bytes: &[u8]) -> Result<DeviceBytes, CudaError> {
    let r = rt()?;
    let buf = r
        .stream
        .clone_htod(bytes)
        .map_err(driver_err("uploading a weight"))?;
    Ok(DeviceBytes {
        buf: Arc::new(buf),
        offset: 0,
        len: bytes.len(),
    })
}

const MM_TOKENS: usize = 8;
const MM_WARPS: usize = 4;

/// `out[t][r] = W[r] · x[t]` with W (`rows` rows of `k` weights of type `ty`) on the device.
pub fn matmul(
    w: &DeviceBytes,
    ty: GgmlType,
    k: usize,
    rows: usize,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), CudaError> {
    let name = kernels::matmul_kernel(ty).ok_or(CudaError::Unsupported(ty.name()))?;
    let n = if k == 0 { 0 } else { x.len() / k };
    let row_bytes = ty.bytes_for(k as u64).unwrap_or(0) as usize;
    if k % 8 != 0 || rows == 0 || row_bytes * rows != w.len || out.len() != n * rows {
        return Err(CudaError::Shape(format!(
            "{} weight of {} bytes for {rows} rows of {k}; x {} floats, out {} floats",
            ty.name(),
            w.len,
            x.len(),
            out.len()
        )));
    }
    if n == 0 {
        return Ok(());
    }
    let r = rt()?;
    let f = r.function(&kernels::MATMUL, name)?;
    let s = &r.stream;
    let x_dev = s.clone_htod(x).map_err(driver_err("copying activations"))?;
    let mut y_dev = s
        .alloc_zeros::<f32>(n * rows)
        .map_err(driver_err("allocating the output"))?;
    let wv = w.buf.slice(w.offset..w.offset + w.len);
    let (rb, ki, ri, ni) = (row_bytes as i64, k as i32, rows as i32, n as i32);
    let cfg = LaunchConfig {
        grid_dim: (
            rows.div_ceil(MM_WARPS) as u32,
            n.div_ceil(MM_TOKENS) as u32,
            1,
        ),
        block_dim: ((MM_WARPS * 32) as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut launch = s.launch_builder(&f);
    launch
        .arg(&wv)
        .arg(&rb)
        .arg(&x_dev)
        .arg(&mut y_dev)
        .arg(&ki)
        .arg(&ri)
        .arg(&ni);
    // SAFETY: the argument list matches the kernel's signature in matmul.cu; the grid covers
    // `rows` x `n` and the kernel bounds-checks both.
    unsafe { launch.launch(cfg) }.map_err(driver_err("launching a matmul"))?;
    s.memcpy_dtoh(&y_dev, out)
        .map_err(driver_err("copying the result"))?;
    s.synchronize().map_err(driver_err("synchronizing"))?;
    Ok(())
}

/// Device-to-device and host-to-device copy bandwidth over 256 MiB buffers (best of 5).
pub fn bandwidth() -> Result<Bandwidth, CudaError> {
    let r = rt()?;
    let s = &r.stream;
    let n = 256usize << 20;
    let host = vec![1u8; n];
    let src = s.clone_htod(&host).map_err(driver_err("allocating"))?;
    let mut dst = s.alloc_zeros::<u8>(n).map_err(driver_err("allocating"))?;
    let best = |f: &mut dyn FnMut() -> Result<(), CudaError>| -> Result<f64, CudaError> {
        f()?; // warm-up
        let mut t = f64::MAX;
        for _ in 0..5 {
            let t0 = Instant::now();
            f()?;
            s.synchronize().map_err(driver_err("synchronizing"))?;
            t = t.min(t0.elapsed().as_secs_f64());
        }
        Ok(t)
    };
    let d2d = best(&mut || {
        s.memcpy_dtod(&src, &mut dst)
            .map_err(driver_err("copying device to device"))
    })?;
    let h2d = best(&mut || {
        s.memcpy_htod(&host, &mut dst)
            .map_err(driver_err("copying host to device"))
    })?;
    // A device-to-device copy reads and writes each byte: 2n bytes of traffic.
    Ok(Bandwidth {
        device_to_device_gbs: 2.0 * n as f64 / d2d / 1e9,
        host_to_device_gbs: n as f64 / h2d / 1e9,
    })
}
