//! Pairs the points of two runs by what defines them (engine, model identity, configuration,
//! workload — `Record::resume_key`), and checks that both ran on the same hardware.

use std::collections::BTreeMap;

use crate::bench::record::{Record, Status};

#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error(
        "{count} point(s) were measured on different hosts (base {base_cpu} [{base_fp}], candidate {cand_cpu} [{cand_fp}]); \
         timings from different machines are not comparable — pass --allow-host-mismatch to compare anyway"
    )]
    HostMismatch {
        count: usize,
        base_cpu: String,
        base_fp: String,
        cand_cpu: String,
        cand_fp: String,
    },
}

pub struct Pairing {
    /// (base, candidate), in the base run's order.
    pub pairs: Vec<(Record, Record)>,
    /// Successful points present in only one run.
    pub only_base: Vec<Record>,
    pub only_candidate: Vec<Record>,
    /// Points failed in either run.
    pub failed: Vec<Record>,
}

/// The last successful record per key (a resumed or repeated run may hold several).
fn by_key(records: &[Record]) -> (Vec<String>, BTreeMap<String, Record>) {
    let mut order = Vec::new();
    let mut map = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.status == Status::Ok && r.measurement.is_some())
    {
        let k = r.resume_key();
        if map.insert(k.clone(), r.clone()).is_none() {
            order.push(k);
        }
    }
    (order, map)
}

pub fn pair(
    base: &[Record],
    candidate: &[Record],
    allow_host_mismatch: bool,
) -> Result<Pairing, PairingError> {
    let (order, base_map) = by_key(base);
    let (cand_order, mut cand_map) = by_key(candidate);
    let mut pairs = Vec::new();
    let mut only_base = Vec::new();
    for k in &order {
        let b = base_map[k].clone();
        match cand_map.remove(k) {
            Some(c) => pairs.push((b, c)),
            None => only_base.push(b),
        }
    }
    let only_candidate = cand_order
        .iter()
        .filter_map(|k| cand_map.remove(k))
        .collect();
    let failed = base
        .iter()
        .chain(candidate)
        .filter(|r| r.status == Status::Failed)
        .cloned()
        .collect();
    if !allow_host_mismatch {
        let mismatched: Vec<&(Record, Record)> = pairs
            .iter()
            .filter(|(b, c)| b.host.fingerprint != c.host.fingerprint)
            .collect();
        if let Some((b, c)) = mismatched.first() {
            return Err(PairingError::HostMismatch {
                count: mismatched.len(),
                base_cpu: b.host.cpu_model.clone(),
                base_fp: short(&b.host.fingerprint),
                cand_cpu: c.host.cpu_model.clone(),
                cand_fp: short(&c.host.fingerprint),
            });
        }
    }
    Ok(Pairing {
        pairs,
        only_base,
        only_candidate,
        failed,
    })
}

fn short(fp: &str) -> String {
    fp.trim_start_matches("sha256:").chars().take(12).collect()
}
