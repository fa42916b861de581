//! Data-parallel loops over the installed [`super::pool::ThreadPool`]: indices, disjoint mutable
//! chunks (of one slice or two), and per-index results. Outside an installed pool (or nested
//! inside a region) they run serially on the calling thread, with the same results.

use super::pool::run_indexed;

pub use super::pool::current_threads;

/// `f(i)` for every `i < n`.
pub fn for_each_index(n: usize, f: impl Fn(usize) + Sync) {
    run_indexed(n, &f);
}

/// `f(i, chunk_i)` for the `chunk`-element pieces of `data` (the last may be shorter), as
/// `par_chunks_mut(chunk).enumerate()`.
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    assert!(chunk > 0, "chunk size must be positive");
    let len = data.len();
    let base = SendPtr(data.as_mut_ptr());
    // SAFETY: each index takes only its own piece, while `data` is exclusively borrowed.
    run_indexed(len.div_ceil(chunk), &|i| {
        f(i, unsafe { piece(&base, len, chunk, i) })
    });
}

/// `f(i, a_i, b_i)` for the `chunk_a`-element pieces of `a` and the `chunk_b`-element pieces of
/// `b`, pairwise (as many as `a` has; `b` must have as many): per-index outputs beside per-index
/// state, with nothing collected.
pub fn for_each_chunk_pair_mut<A: Send, B: Send>(
    a: &mut [A],
    chunk_a: usize,
    b: &mut [B],
    chunk_b: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    assert!(chunk_a > 0 && chunk_b > 0, "chunk sizes must be positive");
    let n = a.len().div_ceil(chunk_a);
    assert!(
        b.len().div_ceil(chunk_b) == n,
        "both slices need the same number of pieces"
    );
    let (len_a, len_b) = (a.len(), b.len());
    let (base_a, base_b) = (SendPtr(a.as_mut_ptr()), SendPtr(b.as_mut_ptr()));
    // SAFETY: as in `for_each_chunk_mut`, for each slice.
    run_indexed(n, &|i| unsafe {
        f(
            i,
            piece(&base_a, len_a, chunk_a, i),
            piece(&base_b, len_b, chunk_b, i),
        )
    });
}

/// Piece `i` (elements `i·chunk ..`, at most `chunk`) of the `len` elements at `base`.
///
/// # Safety
/// `i·chunk < len`, and no other live reference may overlap the piece.
#[allow(clippy::mut_from_ref)]
unsafe fn piece<'a, T>(base: &SendPtr<T>, len: usize, chunk: usize, i: usize) -> &'a mut [T] {
    let start = i * chunk;
    std::slice::from_raw_parts_mut(base.get().add(start), chunk.min(len - start))
}

/// `[f(0), …, f(n - 1)]`, computed in parallel.
pub fn map_indices<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let base = SendPtr(out.as_mut_ptr());
    run_indexed(n, &|i| {
        let value = f(i);
        // SAFETY: slot i is written by index i only, while `out` is borrowed by nobody else.
        unsafe { *base.get().add(i) = Some(value) };
    });
    out.into_iter()
        .map(|v| v.expect("every index ran"))
        .collect()
}

/// A raw pointer shared by the indices of one region, each touching only its own elements.
struct SendPtr<T>(*mut T);
impl<T> SendPtr<T> {
    // A method (not field access) so closures capture the whole Sync wrapper.
    fn get(&self) -> *mut T {
        self.0
    }
}
// SAFETY: see the uses: disjoint elements per index, exclusive borrow of the whole for the region.
unsafe impl<T: Send> Sync for SendPtr<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ThreadPool;

    #[test]
    fn chunks_and_maps_match_the_serial_loops() {
        let pool = ThreadPool::new(2).unwrap();
        for len in [0usize, 1, 5, 64, 1001] {
            for chunk in [1usize, 3, 64] {
                let mut data = vec![0usize; len];
                pool.install(|| {
                    for_each_chunk_mut(&mut data, chunk, |i, piece| {
                        for (j, v) in piece.iter_mut().enumerate() {
                            *v = i * chunk + j;
                        }
                    })
                });
                assert_eq!(data, (0..len).collect::<Vec<_>>());
            }
            let squares = pool.install(|| map_indices(len, |i| i * i));
            assert_eq!(squares, (0..len).map(|i| i * i).collect::<Vec<_>>());
            let (mut a, mut b) = (vec![0usize; len], vec![0usize; 2 * len]);
            pool.install(|| {
                for_each_chunk_pair_mut(&mut a, 3, &mut b, 6, |i, x, y| {
                    x.iter_mut().for_each(|v| *v = i);
                    y.iter_mut().for_each(|v| *v = 10 * i);
                })
            });
            assert_eq!(a, (0..len).map(|j| j / 3).collect::<Vec<_>>());
            assert_eq!(b, (0..2 * len).map(|j| 10 * (j / 6)).collect::<Vec<_>>());
        }
    }
}
