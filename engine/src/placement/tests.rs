use super::*;
use crate::fixtures;
use crate::gguf::GgufModel;

/// All layers on the GPU (llama.cpp's default; the engine's default is CPU only).
fn opts() -> PlacementOptions {
    PlacementOptions {
        gpu_layers: GpuLayers::All,
        ..Default::default()
    }
}

fn names(list: &[&str]) -> Vec<(String, u64)> {
    list.iter().map(|n| (n.to_string(), 100)).collect()
}

const TOY: &[&str] = &[
    "token_embd.weight",
    "rope_freqs.weight",
    "blk.0.attn_q.weight",
    "blk.0.ffn_up_exps.weight",
    "blk.1.attn_q.weight",
    "blk.1.ffn_gate_exps.weight",
    "blk.1.ffn_down_chexps.weight",
    "blk.10.ffn_up_exps.weight",
    "blk.11.ffn_gate_up_exps.weight",
    "output_norm.weight",
    "output.weight",
];

fn dev(p: &Placement, name: &str) -> Device {
    p.device_of(name).expect(name)
}

#[test]
fn engine_default_is_cpu_only() {
    let p = Placement::resolve_names(&names(TOY), 12, &PlacementOptions::default(), 1).unwrap();
    assert!(!p.uses_gpu());
    assert!(!PlacementOptions::default().wants_gpu());
}

#[test]
fn layer_names() {
    assert_eq!(layer_of("blk.12.attn_q.weight"), LayerOf::Block(12));
    assert_eq!(layer_of("output.weight"), LayerOf::Output);
    assert_eq!(layer_of("output_norm.weight"), LayerOf::Output);
    assert_eq!(layer_of("token_embd.weight"), LayerOf::Input);
    assert_eq!(layer_of("blk.x.attn_q.weight"), LayerOf::Input);
}

#[test]
fn default_puts_all_but_the_input_on_the_gpu() {
    let p = Placement::resolve_names(&names(TOY), 12, &opts(), 1).unwrap();
    assert_eq!(dev(&p, "token_embd.weight"), Device::Cpu);
    assert_eq!(dev(&p, "rope_freqs.weight"), Device::Cpu);
    assert_eq!(dev(&p, "blk.0.attn_q.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "output.weight"), Device::Cuda(0));
    assert!(p.layers.iter().all(|d| *d == Device::Cuda(0)));
}

#[test]
fn no_gpu_means_all_cpu_even_with_overrides() {
    let mut o = opts();
    o.overrides = TensorOverride::parse_list("attn=CUDA0").unwrap();
    let p = Placement::resolve_names(&names(TOY), 12, &o, 0).unwrap();
    assert!(!p.uses_gpu());
    assert!(p.layers.iter().all(|d| *d == Device::Cpu));
}

#[test]
fn ngl_counts_from_the_output_end() {
    // 12 blocks + output = 13 "layers"; -ngl 1 offloads only the output layer.
    let mut o = opts();
    o.gpu_layers = GpuLayers::Count(1);
    let p = Placement::resolve_names(&names(TOY), 12, &o, 1).unwrap();
    assert_eq!(dev(&p, "output.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "blk.11.ffn_gate_up_exps.weight"), Device::Cpu);
    // -ngl 3: output + blocks 10, 11.
    o.gpu_layers = GpuLayers::Count(3);
    let p = Placement::resolve_names(&names(TOY), 12, &o, 1).unwrap();
    assert_eq!(dev(&p, "blk.10.ffn_up_exps.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "blk.1.attn_q.weight"), Device::Cpu);
    assert_eq!(p.layers[9], Device::Cpu);
    assert_eq!(p.layers[10], Device::Cuda(0));
    // -ngl 0: nothing.
    o.gpu_layers = GpuLayers::Count(0);
    assert!(!Placement::resolve_names(&names(TOY), 12, &o, 1)
        .unwrap()
        .uses_gpu());
    assert_eq!(GpuLayers::parse("auto").unwrap(), GpuLayers::All);
    assert_eq!(GpuLayers::parse("-1").unwrap(), GpuLayers::All);
    assert_eq!(GpuLayers::parse("99").unwrap(), GpuLayers::Count(99));
    assert!(GpuLayers::parse("lots").is_err());
}

#[test]
fn n_cpu_moe_keeps_experts_of_the_first_layers() {
    let mut o = opts();
    o.n_cpu_moe = 2;
    let p = Placement::resolve_names(&names(TOY), 12, &o, 1).unwrap();
    assert_eq!(dev(&p, "blk.0.ffn_up_exps.weight"), Device::Cpu);
    assert_eq!(dev(&p, "blk.1.ffn_gate_exps.weight"), Device::Cpu);
    assert_eq!(dev(&p, "blk.1.ffn_down_chexps.weight"), Device::Cpu);
    // blk.1's rule must not catch blk.10 / blk.11.
    assert_eq!(dev(&p, "blk.10.ffn_up_exps.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "blk.11.ffn_gate_up_exps.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "blk.1.attn_q.weight"), Device::Cuda(0));
    // KV/state stay with the layer, which is on the GPU.
    assert_eq!(p.layers[0], Device::Cuda(0));
}

#[test]
fn cpu_moe_keeps_every_expert() {
    let mut o = opts();
    o.cpu_moe = true;
    let p = Placement::resolve_names(&names(TOY), 12, &o, 1).unwrap();
    for t in &p.tensors {
        let expert = t.name.contains("exps");
        let input = t.name.starts_with("token_embd") || t.name.starts_with("rope");
        assert_eq!(t.device.is_gpu(), !expert && !input, "{}", t.name);
    }
}

#[test]
fn overrides_first_match_wins_unanchored() {
    let mut o = opts();
    o.overrides = TensorOverride::parse_list(r"blk\.1\.=CPU,attn_q=CUDA0,exps=CPU").unwrap();
    o.gpu_layers = GpuLayers::Count(0);
    let p = Placement::resolve_names(&names(TOY), 12, &o, 1).unwrap();
    // blk.1.attn_q matches the first rule (CPU) before "attn_q=CUDA0".
    assert_eq!(dev(&p, "blk.1.attn_q.weight"), Device::Cpu);
    // blk.0.attn_q: second rule moves it to the GPU although -ngl 0.
    assert_eq!(dev(&p, "blk.0.attn_q.weight"), Device::Cuda(0));
    assert_eq!(dev(&p, "blk.10.ffn_up_exps.weight"), Device::Cpu);
    // Bad input is an error naming the problem.
    assert!(TensorOverride::parse_list("exps").is_err());
    assert!(TensorOverride::parse_list("exps=TPU0").is_err());
    assert!(TensorOverride::parse_list("(=CPU").is_err());
    o.overrides = TensorOverride::parse_list("exps=CUDA3").unwrap();
    assert!(Placement::resolve_names(&names(TOY), 12, &o, 1).is_err());
}

#[test]
fn tiny_fixture_bytes_per_device() {
    let Some(path) = fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf") else {
        eprintln!("skipped: qwen35moe-tiny-Q4_K_M.gguf not found");
        return;
    };
    let g = GgufModel::open(&path).unwrap();
    let total: u64 = g.tensors.iter().map(|t| t.info.size).sum();
    let mut o = opts();
    o.n_cpu_moe = 1;
    let p = Placement::resolve(&g, 4, &o, 1).unwrap();
    let per = p.bytes_per_device();
    assert_eq!(per.values().sum::<u64>(), total);
    // Independently: CPU = token_embd + blk.0's three expert tensors.
    let cpu: u64 = g
        .tensors
        .iter()
        .filter(|t| {
            let n = &t.info.name;
            n == "token_embd.weight" || (n.starts_with("blk.0.ffn_") && n.ends_with("_exps.weight"))
        })
        .map(|t| t.info.size)
        .sum();
    assert_eq!(per[&Device::Cpu], cpu);
    assert_eq!(per[&Device::Cuda(0)], total - cpu);
}

#[test]
fn slice_35b_header() {
    let path = std::path::Path::new("/work/synth-out/qwen35moe-35b-a3b-4L-Q4_K_M.gguf");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let g = GgufModel::open(path).unwrap();
    let mut o = opts();
    o.n_cpu_moe = 2;
    let p = Placement::resolve(&g, 4, &o, 1).unwrap();
    // Q4_K: 144 bytes per 256 weights. token_embd 2048x32768, each expert tensor 2048x512x256
    // (blk.0 and blk.1 keep ffn_down_exps in Q4_K in this mix).
    let q4k = |n: u64| n / 256 * 144;
    let embd = q4k(2048 * 32768);
    let experts = 6 * q4k(2048 * 512 * 256);
    assert_eq!(p.bytes_per_device()[&Device::Cpu], embd + experts);
    assert_eq!(p.bytes_per_device()[&Device::Cpu], 943_718_400);

    // --fit with 1.5 GiB free and no margin: all of it (≈2.1 GB) does not fit; experts of the
    // first layers move to RAM until it does.
    let names: Vec<(String, u64)> = g
        .tensors
        .iter()
        .map(|t| (t.info.name.clone(), t.info.size))
        .collect();
    let input = FitInput {
        tensors: &names,
        n_layer: 4,
        cache_bytes_per_layer: vec![0; 4],
        free_vram: 3 << 29,
        compute_reserve: 0,
    };
    let mut f = opts();
    f.fit = Some(Fit { target_mib: 0 });
    let chosen = fit_options(&f, &input).unwrap();
    assert_eq!(chosen.gpu_layers, GpuLayers::All);
    assert!(chosen.n_cpu_moe >= 1, "{chosen:?}");
    let placed = Placement::resolve(&g, 4, &chosen, 1).unwrap();
    assert!(placed.bytes_per_device()[&Device::Cuda(0)] <= 3 << 29);
    // One layer fewer in RAM would not fit: the rule picks the smallest N.
    let mut fewer = chosen.clone();
    fewer.n_cpu_moe -= 1;
    let over = Placement::resolve(&g, 4, &fewer, 1).unwrap();
    assert!(over.bytes_per_device()[&Device::Cuda(0)] > 3 << 29);
}

#[test]
fn fit_falls_back_to_fewer_layers_for_dense_models() {
    let t = names(&[
        "token_embd.weight",
        "blk.0.ffn_up.weight",
        "blk.1.ffn_up.weight",
        "output.weight",
    ]);
    let input = FitInput {
        tensors: &t,
        n_layer: 2,
        cache_bytes_per_layer: vec![50, 50],
        free_vram: 300,
        compute_reserve: 0,
    };
    let mut f = opts();
    f.fit = Some(Fit { target_mib: 0 });
    // All on GPU: 100 (blk0) + 100 (blk1) + 100 (output) + 100 cache = 400 > 300.
    // -ngl 2 (blk1 + output): 200 + 50 = 250 <= 300.
    let chosen = fit_options(&f, &input).unwrap();
    assert_eq!(chosen.gpu_layers, GpuLayers::Count(2));
}
