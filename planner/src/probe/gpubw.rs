//! GPU device-to-device and host-to-device copy bandwidth, measured through the engine's CUDA
//! backend (`fitbench_engine::cuda::bandwidth`) on CUDA device 0; "not measured" otherwise.

use super::round1;
use crate::hw::HardwareProfile;

/// Fills `measured_bandwidth_gbs` / `pcie.measured_h2d_gbs` of the first CUDA GPU, or adds a note
/// saying why they were not measured.
pub fn apply(profile: &mut HardwareProfile, measure: bool) {
    let Some(gpu) = profile.gpus.iter_mut().find(|g| g.backend == "cuda") else {
        return;
    };
    if !measure {
        profile
            .notes
            .push("GPU bandwidths: not measured (bandwidth measurement switched off).".into());
        return;
    }
    match fitbench_engine::cuda::bandwidth() {
        Ok(bw) => {
            gpu.measured_bandwidth_gbs = Some(round1(bw.device_to_device_gbs));
            gpu.sources.insert(
                "measured_bandwidth_gbs".into(),
                "measured: device-to-device copy of 256 MiB through the engine's CUDA backend, best of 5 (read + write bytes)".into(),
            );
            if let Some(l) = gpu.pcie.as_mut() {
                l.measured_h2d_gbs = Some(round1(bw.host_to_device_gbs));
            }
            gpu.sources.insert(
                "measured_h2d_gbs".into(),
                "measured: host-to-device copy of 256 MiB from pageable memory, best of 5".into(),
            );
        }
        Err(e) => profile.notes.push(format!(
            "GPU device-to-device and host-to-device bandwidths: not measured ({e})."
        )),
    }
}
