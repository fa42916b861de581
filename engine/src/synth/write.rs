//! Streaming writer: the header first, then each tensor generated and quantized one block of rows
//! at a time (rows in parallel with rayon), so memory stays at a few block buffers whatever the
//! model size.

use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use super::error::SynthError;
use super::random::RowRng;
use super::spec::SynthSpec;
use crate::gguf::GgufWriter;
use crate::quant::kernels;

/// f32 elements generated per block of rows (about 16 MiB of floats before quantization).
const BLOCK_ELEMENTS: u64 = 1 << 22;

#[derive(Debug, Clone)]
pub struct SynthReport {
    pub file_bytes: u64,
    pub header_bytes: u64,
    pub n_tensors: usize,
    pub seconds: f64,
}

/// Writes `spec` to `path`. Deterministic: the same spec (seed included) gives the same bytes.
pub fn write_synth(spec: &SynthSpec, path: &Path) -> Result<SynthReport, SynthError> {
    spec.validate()?;
    let start = Instant::now();
    let mut writer = GgufWriter::new();
    for (k, v) in &spec.metadata {
        writer.set(k, v.to_value());
    }
    let mut types = Vec::with_capacity(spec.tensors.len());
    for t in &spec.tensors {
        let ty = t.resolve_type()?;
        writer.add_tensor(&t.name, &t.dims, ty);
        types.push(ty);
    }
    let header_bytes = writer.header_bytes().len() as u64;
    let io_err = |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    };
    writer
        .write_file(path, |i, info, out| {
            let t = &spec.tensors[i];
            let ty = types[i];
            // Validated above: the type has a quantizer and rows are whole blocks.
            let quantize = kernels(ty).and_then(|k| k.quantize).ok_or_else(|| {
                std::io::Error::other(format!("{}: no quantizer for {}", t.name, ty.name()))
            })?;
            let row_len = info.dims[0];
            let row_bytes = ty.bytes_for(row_len).unwrap_or(0) as usize;
            let n_rows = info.dims[1..].iter().product::<u64>();
            let rows_per_block = (BLOCK_ELEMENTS / row_len).max(1);
            let mut buf = Vec::new();
            let mut row0 = 0u64;
            while row0 < n_rows {
                let rows = rows_per_block.min(n_rows - row0);
                buf.resize(rows as usize * row_bytes, 0u8);
                buf.par_chunks_mut(row_bytes).enumerate().for_each_init(
                    || vec![0f32; row_len as usize],
                    |floats, (r, dst)| {
                        let mut rng = RowRng::new(spec.seed, i as u64, row0 + r as u64);
                        t.init.fill_row(&mut rng, floats);
                        quantize(floats, dst);
                    },
                );
                out.write_all(&buf)?;
                row0 += rows;
            }
            Ok(())
        })
        .map_err(io_err)?;
    let file_bytes = std::fs::metadata(path).map_err(io_err)?.len();
    Ok(SynthReport {
        file_bytes,
        header_bytes,
        n_tensors: spec.tensors.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
