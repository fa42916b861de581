//! Keeps freed buffers in the process instead of returning them to the OS.
//!
//! A forward pass allocates its per-layer buffers (several MiB for a prompt batch) and frees them
//! a moment later. With glibc's defaults, buffers that size are mmap'd and unmapped each time, or
//! trimmed off the heap's top, so every layer of every batch pays page faults and the kernel's
//! zeroing of fresh pages: on Gemma 3 270M pp512 (2 threads) that was about a quarter of the
//! time. Raising the mmap and trim thresholds makes glibc reuse the memory, as llama.cpp reuses
//! its preallocated compute buffers.

/// Applies the setting once per process (glibc on Linux; elsewhere nothing to do).
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(apply);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() {
    /// Allocations below this come from the heap (a fixed value also stops glibc from
    /// adjusting it); larger ones, such as a whole KV cache, are still mapped on their own.
    const MMAP_THRESHOLD: libc::c_int = 256 << 20;
    /// Free memory at the heap's top kept before trimming.
    const TRIM_THRESHOLD: libc::c_int = 1 << 30;
    // SAFETY: mallopt only changes allocator parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() {}
