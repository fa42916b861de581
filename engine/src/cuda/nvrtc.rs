//! Finding `libnvrtc` and compiling kernel sources to PTX (no GPU or driver needed).
//!
//! cudarc (feature `cuda-13000`) opens `libnvrtc.so`, `libnvrtc.so.13`, ... by bare name, i.e.
//! through the loader's search path. A library outside that path (a pip wheel, a toolkit not in
//! `ld.so.conf`) is loaded here first by full path; glibc then resolves cudarc's bare-name
//! `dlopen` to the already-loaded object by its soname.

use super::kernels::{assemble, KernelSource};
use super::CudaError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[cfg(unix)]
extern "C" {
    fn dlopen(
        filename: *const std::os::raw::c_char,
        flag: std::os::raw::c_int,
    ) -> *mut std::ffi::c_void;
}

/// Loads `path` into the process (RTLD_NOW | RTLD_GLOBAL). True on success.
pub fn preload(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a NUL-terminated path; the handle is intentionally never closed.
        let h = unsafe { dlopen(c.as_ptr(), 0x2 | 0x100) };
        !h.is_null()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Candidate full paths: `$CUDA_HOME`/`$CUDA_PATH`/`/usr/local/cuda` lib64 (after the loader's
/// search path, which cudarc tries by bare name).
fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let roots = ["CUDA_HOME", "CUDA_PATH"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .chain([PathBuf::from("/usr/local/cuda")]);
    for root in roots {
        for lib in ["lib64", "lib"] {
            out.push(root.join(lib).join("libnvrtc.so.13"));
            out.push(root.join(lib).join("libnvrtc.so"));
        }
    }
    out
}

/// True when NVRTC can be used. `FITBENCH_NVRTC` (a library path) is loaded first when set;
/// otherwise the loader's search path, then a CUDA toolkit. A miss is not cached, so a caller
/// may [`preload`] another copy and ask again.
///
/// Prefer the toolkit that matches the driver: PTX from a newer NVRTC (e.g. the 13.5 pip wheel)
/// may be rejected by an older driver (580 = CUDA 13.0) when the module is loaded.
pub fn available() -> bool {
    static FOUND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static EXPLICIT: OnceLock<()> = OnceLock::new();
    if FOUND.load(std::sync::atomic::Ordering::Relaxed) {
        return true;
    }
    EXPLICIT.get_or_init(|| {
        if let Some(p) = std::env::var_os("FITBENCH_NVRTC") {
            preload(Path::new(&p));
        }
    });
    // SAFETY: only tries to open the library by name.
    let mut ok = unsafe { cudarc::nvrtc::sys::is_culib_present() };
    if !ok {
        for c in candidates() {
            // SAFETY: as above.
            if c.is_file() && preload(&c) && unsafe { cudarc::nvrtc::sys::is_culib_present() } {
                ok = true;
                break;
            }
        }
    }
    if ok {
        FOUND.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    ok
}

/// `compute_XY` for a compute capability (NVRTC wants a `&'static str`; few distinct values).
pub fn arch_for(cc: (i32, i32)) -> &'static str {
    static ARCHS: OnceLock<Mutex<HashMap<(i32, i32), &'static str>>> = OnceLock::new();
    let mut m = ARCHS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    m.entry(cc)
        .or_insert_with(|| Box::leak(format!("compute_{}{}", cc.0, cc.1).into_boxed_str()))
}

/// PTX of `src` for `arch` (e.g. `compute_90`), cached per process.
pub fn compile(src: &KernelSource, arch: &'static str) -> Result<String, CudaError> {
    static CACHE: OnceLock<Mutex<HashMap<(&'static str, &'static str), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(src.name, arch))
    {
        return Ok(p.clone());
    }
    if !available() {
        return Err(CudaError::NoNvrtc);
    }
    let opts = cudarc::nvrtc::CompileOptions {
        arch: Some(arch),
        use_fast_math: Some(false),
        name: Some(src.name.into()),
        options: vec!["-std=c++17".into()],
        ..Default::default()
    };
    let ptx = cudarc::nvrtc::compile_ptx_with_opts(assemble(src), opts).map_err(|e| {
        let log = match &e {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => {
                log.to_string_lossy().into_owned()
            }
            other => format!("{other:?}"),
        };
        CudaError::Compile {
            source_name: src.name,
            arch: arch.into(),
            log,
        }
    })?;
    let text = ptx.to_src();
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((src.name, arch), text.clone());
    Ok(text)
}
