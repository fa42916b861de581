//! What the AVX2 kernels of the repacked layouts ([`super::x16`]) share: their prompt entry
//! points, which take the columns two at a time (sixteen 256-bit registers hold the accumulators
//! of two, not four) through the format's `cols_with::<ByteDot, C>` body.

#![cfg(target_arch = "x86_64")]

/// Defines `dot16_cols` (AVX2) and `dot16_cols_vnni` (AVX-VNNI) around the format's generic
/// `$cols_with::<B: ByteDot, const C: usize>(n, group, activations, out)`, for one or two columns.
macro_rules! avx2_column_entry_points {
    ($cols_with:ident) => {
        /// `$cols_with` over any number of rows, two at a time.
        #[inline(always)]
        unsafe fn cols_in_pairs<B: ByteDot, const C: usize>(
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

        /// [`dot16`] against `C` activation rows, two at a time.
        ///
        /// # Safety
        /// As [`dot16`].
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn dot16_cols<const C: usize>(
            n: usize,
            group: &[u8],
            activations: [&[u8]; C],
            out: &mut [[f32; ROWS]; C],
        ) {
            cols_in_pairs::<PlainDot, C>(n, group, activations, out)
        }

        /// [`dot16_cols`] with AVX-VNNI.
        ///
        /// # Safety
        /// As [`dot16_vnni`].
        #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
        pub unsafe fn dot16_cols_vnni<const C: usize>(
            n: usize,
            group: &[u8],
            activations: [&[u8]; C],
            out: &mut [[f32; ROWS]; C],
        ) {
            cols_in_pairs::<VnniDot, C>(n, group, activations, out)
        }
    };
}

pub(super) use avx2_column_entry_points;
