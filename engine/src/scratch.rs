//! Reused working buffers for the forward pass. Each thread keeps the buffers its last steps
//! returned, so once a decode step has run, the next one of the same shape allocates nothing.
//!
//! A [`Scratch`] derefs to a `Vec<T>`; dropping it gives the vector back to the current thread's
//! pool. Buffers above [`MAX_POOLED_BYTES`] are freed instead: those come from prompt batches,
//! whose allocation is a small cost next to their work, and keeping them would pin the peak.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// A pooled buffer larger than this is freed when dropped.
pub const MAX_POOLED_BYTES: usize = 8 << 20;
/// At most this many idle buffers per element type per thread.
const MAX_POOLED: usize = 32;

/// An element type with a per-thread pool.
pub trait Pooled: Copy + Default + 'static {
    fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> Option<R>;
}

macro_rules! pooled {
    ($t:ty, $pool:ident) => {
        thread_local! {
            static $pool: RefCell<Vec<Vec<$t>>> = const { RefCell::new(Vec::new()) };
        }
        impl Pooled for $t {
            fn with_pool<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> Option<R> {
                // `try_with`: a buffer dropped while its thread exits is simply freed.
                $pool
                    .try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p)))
                    .ok()
                    .flatten()
            }
        }
    };
}

pooled!(f32, F32_POOL);
pooled!(u8, U8_POOL);
pooled!(usize, USIZE_POOL);

/// A vector taken from the thread's pool, given back when dropped.
pub struct Scratch<T: Pooled> {
    v: Vec<T>,
}

impl<T: Pooled> Scratch<T> {
    /// `n` default values (zeros), in the smallest idle buffer that holds them (else the largest,
    /// grown).
    pub fn zeroed(n: usize) -> Scratch<T> {
        let mut v = take::<T>(n);
        v.resize(n, T::default());
        Scratch { v }
    }

    /// An empty vector in the smallest idle buffer, for code that sizes it itself (it grows the
    /// first time, then comes back big enough).
    pub fn empty() -> Scratch<T> {
        Scratch { v: take::<T>(0) }
    }
}

fn take<T: Pooled>(n: usize) -> Vec<T> {
    T::with_pool(|pool| {
        let fits = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= n)
            .min_by_key(|&i| pool[i].capacity());
        let pick = fits.or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].capacity()));
        pick.map(|i| pool.swap_remove(i))
    })
    .flatten()
    .map(|mut v| {
        v.clear();
        v
    })
    .unwrap_or_default()
}

impl<T: Pooled> Drop for Scratch<T> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes == 0 || bytes > MAX_POOLED_BYTES {
            return;
        }
        T::with_pool(|pool| {
            if pool.len() < MAX_POOLED {
                pool.push(v);
            }
        });
    }
}

impl<T: Pooled> Deref for Scratch<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.v
    }
}

impl<T: Pooled> DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.v
    }
}

impl<'a, T: Pooled> IntoIterator for &'a Scratch<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.iter()
    }
}

impl<'a, T: Pooled> IntoIterator for &'a mut Scratch<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.v.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_zeroed_and_are_reused() {
        let first_ptr = {
            let mut a = Scratch::<f32>::zeroed(1000);
            a.iter_mut().for_each(|v| *v = 7.0);
            a.as_ptr()
        };
        let b = Scratch::<f32>::zeroed(900);
        assert_eq!(b.len(), 900);
        assert!(b.iter().all(|&v| v == 0.0));
        assert_eq!(b.as_ptr(), first_ptr, "the idle buffer is reused");
    }

    #[test]
    fn the_smallest_fitting_buffer_is_taken() {
        let (small, large) = (Scratch::<u8>::zeroed(64), Scratch::<u8>::zeroed(4096));
        let (ps, pl) = (small.as_ptr(), large.as_ptr());
        drop((small, large));
        let a = Scratch::<u8>::zeroed(32);
        let b = Scratch::<u8>::zeroed(2000);
        assert_eq!((a.as_ptr(), b.as_ptr()), (ps, pl));
    }

    #[test]
    fn huge_buffers_are_not_kept() {
        let n = MAX_POOLED_BYTES / 4 + 1;
        drop(Scratch::<f32>::zeroed(n));
        let idle = f32::with_pool(|p| p.iter().map(|v| v.capacity()).max().unwrap_or(0));
        assert!(idle.unwrap_or(0) < n);
    }
}
