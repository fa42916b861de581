//! Anonymous memory for weights the engine holds itself (repacked copies, `--no-mmap` reads).

/// A zeroed, page-aligned anonymous mapping of `len` bytes (at least one), advised to use 2 MiB
/// pages where Linux has them to give (`MADV_HUGEPAGE`, which the common `madvise` THP setting
/// needs asked for). Decode reads a few hundred KiB of each of a handful of experts spread over
/// gigabytes; with 4 KiB pages every page of that is a TLB miss and a restarted hardware
/// prefetch. The advice is only advice: where it is refused, 4 KiB pages still work.
pub(crate) fn map_anonymous(len: usize) -> std::io::Result<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(len.max(1))?;
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Ok(map)
}
