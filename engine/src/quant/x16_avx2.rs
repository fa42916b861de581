//! What the AVX2 kernels of the repacked layouts ([`super::x16`]) share: their prompt entry
//! points, which take the columns two at a time (sixteen 256-bit registers hold the accumulators
//! of two, not four) through the format's `cols_with::<ByteDot, C>` body.

// The formats' files import `ByteDot`, `PlainDot` and `VnniDot` for their own code; the macros name
// them by path so that a format with only the AVX-VNNI kernel does not import `PlainDot` unused.

#![cfg(target_arch = "x86_64")]

/// Defines `dot16_cols` (AVX2) and `dot16_cols_vnni` (AVX-VNNI) around the format's generic
/// `$cols_with::<B: ByteDot, const C: usize>(n, group, activations, out)`, for one or two columns.
macro_rules! avx2_column_entry_points {
    ($cols_with:ident) => {
        $crate::quant::x16_avx2::avx2_column_entry_points!(
            $cols_with,
            cols_in_pairs,
            dot16_cols,
            dot16_cols_vnni
        );
    };
    // The same under other names, for a second body in one file (an expanded form).
    ($cols_with:ident, $cols_in_pairs:ident, $dot16_cols:ident, $dot16_cols_vnni:ident) => {
        $crate::quant::x16_avx2::avx_vnni_column_entry_point!(
            $cols_with,
            $cols_in_pairs,
            $dot16_cols_vnni
        );

        /// [`dot16`] against `C` activation rows, two at a time.
        ///
        /// # Safety
        /// As [`dot16`].
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn $dot16_cols<const C: usize>(
            n: usize,
            group: &[u8],
            activations: [&[u8]; C],
            out: &mut [[f32; ROWS]; C],
        ) {
            $cols_in_pairs::<$crate::quant::avx2_util::PlainDot, C>(n, group, activations, out)
        }
    };
}

/// Defines `dot16_cols_vnni` (AVX-VNNI) around `$cols_with`, and the `cols_in_pairs` it uses:
/// for formats whose AVX2 kernel needs `vpdpbusd` (see [`avx2_column_entry_points`]).
macro_rules! avx_vnni_column_entry_point {
    ($cols_with:ident) => {
        $crate::quant::x16_avx2::avx_vnni_column_entry_point!(
            $cols_with,
            cols_in_pairs,
            dot16_cols_vnni
        );
    };
    // The same under other names, for a second body in one file (an expanded form).
    ($cols_with:ident, $cols_in_pairs:ident, $dot16_cols_vnni:ident) => {
        /// `$cols_with` over any number of rows, two at a time.
        #[inline(always)]
        unsafe fn $cols_in_pairs<B: $crate::quant::avx2_util::ByteDot, const C: usize>(
            n: usize,
            group: &[u8],
            activations: [&[u8]; C],
            out: &mut [[f32; ROWS]; C],
        ) {
            let mut c = 0;
            while c + 2 <= C {
                let mut pair = [[0f32; ROWS]; 2];
                $cols_with::<B, 2>(n, group, [activations[c], activations[c + 1]], &mut pair);
                out[c..c + 2].copy_from_slice(&pair);
                c += 2;
            }
            if c < C {
                let mut one = [[0f32; ROWS]; 1];
                $cols_with::<B, 1>(n, group, [activations[c]], &mut one);
                out[c] = one[0];
            }
        }

        /// [`dot16_vnni`] against `C` activation rows, two at a time.
        ///
        /// # Safety
        /// As [`dot16_vnni`].
        #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
        pub unsafe fn $dot16_cols_vnni<const C: usize>(
            n: usize,
            group: &[u8],
            activations: [&[u8]; C],
            out: &mut [[f32; ROWS]; C],
        ) {
            $cols_in_pairs::<$crate::quant::avx2_util::VnniDot, C>(n, group, activations, out)
        }
    };
}

/// The test of a format whose file defines `dot16`, `dot16_vnni`, `dot16_cols` and
/// `dot16_cols_vnni`: both levels, each where this CPU has it, against the format's scalar row
/// kernel, bit for bit ([`check_kernels`]). `$layout` names the [`super::x16::Layout`] variant.
macro_rules! avx2_kernel_tests {
    ($layout:ident) => {
        #[cfg(test)]
        mod avx2_kernel_tests {
            use super::super::avx2_util;
            use super::super::x16::{Layout, COLS};
            use super::super::x16_avx2::check_kernels;
            use super::*;

            #[test]
            fn avx2_group_dot_is_the_row_kernel_bit_for_bit() {
                if !avx2_util::available() {
                    println!("skipped: no AVX2 on this CPU");
                    return;
                }
                let layout = Layout::$layout;
                // SAFETY: AVX2, FMA and F16C were detected above.
                unsafe { check_kernels(layout, dot16, dot16_cols::<COLS>, dot16_cols::<3>) };
                if !avx2_util::has_avx_vnni() {
                    println!("skipped: no AVX-VNNI on this CPU (the AVX2 kernel ran alone)");
                    return;
                }
                // SAFETY: AVX-VNNI was detected above as well.
                unsafe {
                    check_kernels(
                        layout,
                        dot16_vnni,
                        dot16_cols_vnni::<COLS>,
                        dot16_cols_vnni::<3>,
                    )
                };
            }
        }
    };
}

pub(super) use {avx2_column_entry_points, avx2_kernel_tests, avx_vnni_column_entry_point};

/// A group dot entry point (`dot16`, `dot16_vnni`) as a function pointer.
#[cfg(test)]
pub(super) type Dot16Kernel = unsafe fn(usize, &[u8], &[u8], &mut [f32; super::x16::ROWS]);

/// A column entry point (`dot16_cols::<C>`, `dot16_cols_vnni::<C>`) as a function pointer.
#[cfg(test)]
pub(super) type ColsKernel<const C: usize> =
    unsafe fn(usize, &[u8], [&[u8]; C], &mut [[f32; super::x16::ROWS]; C]);

/// A format's AVX2-level kernels (decode, and the prompt product with four and with three
/// columns: pairs and a single one) against its scalar row kernel, bit for bit.
///
/// # Safety
/// The CPU must have the features the kernels were compiled for.
#[cfg(test)]
pub(super) unsafe fn check_kernels(
    layout: super::x16::Layout,
    dot16: Dot16Kernel,
    cols4: ColsKernel<{ super::x16::COLS }>,
    cols3: ColsKernel<3>,
) {
    use super::x16::tests::{check_columns_with, check_random_rows};
    // SAFETY (every closure): the caller's.
    check_random_rows(layout, 768, 48, |n, g, a, o| unsafe { dot16(n, g, a, o) });
    check_columns_with(layout, 512, |n, g, a, o| unsafe { cols4(n, g, a, o) });
    check_columns_with(layout, 256, |n, g, a, o| unsafe { cols3(n, g, a, o) });
}
