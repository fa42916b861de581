#!/usr/bin/env python3
"""Writes tiny random-weight GGUF models (F32) for architectures the shared fixtures lack
(qwen2, qwen3next in both its current attn_qkv/attn_gate layout and the legacy fused ssm_in
layout), in the style of ../shared/fixtures/models: vocab 1024, tokenizer "none", 4 layers,
n_embd 256, normal(0, 0.02) matrices. Quantize them with llama-quantize and take reference
logits with tools/llama_logits.c (see tools/README.md).

Needs gguf-py (llama.cpp's gguf-py on PYTHONPATH) and numpy."""
import sys
import numpy as np
import gguf

E, NH, NKV, HD, V, FF = 256, 4, 2, 64, 1024, 512


def mat(rng, rows, cols, std=0.02):
    # numpy shape (rows, cols) is ggml dims [cols, rows]: `rows` outputs of length `cols`.
    return (rng.standard_normal((rows, cols)) * std).astype(np.float32)


def norm(rng, n):
    return (1.0 + rng.standard_normal(n) * 0.1).astype(np.float32)


def common(w, arch, rng):
    w.add_string("general.name", f"synthetic-{arch}-tiny")
    w.add_uint32(f"{arch}.block_count", 4)
    w.add_uint32(f"{arch}.context_length", 4096)
    w.add_uint32(f"{arch}.embedding_length", E)
    w.add_uint32(f"{arch}.attention.head_count", NH)
    w.add_uint32(f"{arch}.attention.head_count_kv", NKV)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_string("tokenizer.ggml.model", "none")
    w.add_uint32(f"{arch}.vocab_size", V)
    w.add_tensor("token_embd.weight", mat(rng, V, E))
    w.add_tensor("output_norm.weight", norm(rng, E))
    w.add_tensor("output.weight", mat(rng, V, E))


def qwen2(path):
    rng = np.random.default_rng(2)
    w = gguf.GGUFWriter(path, "qwen2")
    common(w, "qwen2", rng)
    w.add_uint32("qwen2.feed_forward_length", FF)
    w.add_float32("qwen2.rope.freq_base", 1000000.0)
    for i in range(4):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(rng, E))
        w.add_tensor(p + "attn_q.weight", mat(rng, NH * HD, E))
        w.add_tensor(p + "attn_q.bias", mat(rng, 1, NH * HD, 0.5)[0])
        w.add_tensor(p + "attn_k.weight", mat(rng, NKV * HD, E))
        w.add_tensor(p + "attn_k.bias", mat(rng, 1, NKV * HD, 0.5)[0])
        w.add_tensor(p + "attn_v.weight", mat(rng, NKV * HD, E))
        w.add_tensor(p + "attn_v.bias", mat(rng, 1, NKV * HD, 0.5)[0])
        w.add_tensor(p + "attn_output.weight", mat(rng, E, NH * HD))
        w.add_tensor(p + "ffn_norm.weight", norm(rng, E))
        w.add_tensor(p + "ffn_gate.weight", mat(rng, FF, E))
        w.add_tensor(p + "ffn_up.weight", mat(rng, FF, E))
        w.add_tensor(p + "ffn_down.weight", mat(rng, E, FF))
    finish(w)


# Qwen3-Next: 3 Gated DeltaNet layers then one gated attention layer, like qwen35moe-tiny.
NX, NXU, FFX, FFS = 4, 2, 256, 256
D_CONV, D_STATE, N_GROUP, DT_RANK = 4, 32, 4, 8
D_INNER = D_STATE * DT_RANK
KEY_DIM, VALUE_DIM = D_STATE * N_GROUP, D_INNER


def qwen3next(path, legacy):
    rng = np.random.default_rng(3)
    w = gguf.GGUFWriter(path, "qwen3next")
    common(w, "qwen3next", rng)
    a = "qwen3next"
    w.add_uint32(f"{a}.attention.key_length", HD)
    w.add_uint32(f"{a}.attention.value_length", HD)
    w.add_float32(f"{a}.rope.freq_base", 10000000.0)
    w.add_uint32(f"{a}.rope.dimension_count", 32)
    w.add_uint32(f"{a}.expert_count", NX)
    w.add_uint32(f"{a}.expert_used_count", NXU)
    w.add_uint32(f"{a}.expert_feed_forward_length", FFX)
    w.add_uint32(f"{a}.feed_forward_length", FF)
    w.add_uint32(f"{a}.expert_shared_feed_forward_length", FFS)
    w.add_uint32(f"{a}.ssm.conv_kernel", D_CONV)
    w.add_uint32(f"{a}.ssm.state_size", D_STATE)
    w.add_uint32(f"{a}.ssm.group_count", N_GROUP)
    w.add_uint32(f"{a}.ssm.time_step_rank", DT_RANK)
    w.add_uint32(f"{a}.ssm.inner_size", D_INNER)
    w.add_uint32(f"{a}.full_attention_interval", 4)
    for i in range(4):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm(rng, E))
        w.add_tensor(p + "post_attention_norm.weight", norm(rng, E))
        if i == 3:
            w.add_tensor(p + "attn_q.weight", mat(rng, NH * HD * 2, E))
            w.add_tensor(p + "attn_k.weight", mat(rng, NKV * HD, E))
            w.add_tensor(p + "attn_v.weight", mat(rng, NKV * HD, E))
            w.add_tensor(p + "attn_output.weight", mat(rng, E, NH * HD))
            w.add_tensor(p + "attn_q_norm.weight", norm(rng, HD))
            w.add_tensor(p + "attn_k_norm.weight", norm(rng, HD))
        else:
            qkv = mat(rng, 2 * KEY_DIM + VALUE_DIM, E)
            z = mat(rng, VALUE_DIM, E)
            if legacy:
                w.add_tensor(p + "ssm_in.weight", legacy_qkvz(qkv, z))
            else:
                w.add_tensor(p + "attn_qkv.weight", qkv)
                w.add_tensor(p + "attn_gate.weight", z)
            w.add_tensor(p + "ssm_conv1d.weight", mat(rng, 2 * KEY_DIM + VALUE_DIM, D_CONV, 0.3))
            w.add_tensor(p + "ssm_dt.bias", (rng.standard_normal(DT_RANK) * 0.5).astype(np.float32))
            w.add_tensor(p + "ssm_a", (-np.exp(rng.standard_normal(DT_RANK) * 0.5)).astype(np.float32))
            w.add_tensor(p + "ssm_ba.weight", mat(rng, 2 * DT_RANK, E, 0.1))
            w.add_tensor(p + "ssm_norm.weight", norm(rng, D_STATE))
            w.add_tensor(p + "ssm_out.weight", mat(rng, E, VALUE_DIM))
        w.add_tensor(p + "ffn_gate_inp.weight", mat(rng, NX, E, 0.2))
        w.add_tensor(p + "ffn_gate_exps.weight", np.stack([mat(rng, FFX, E) for _ in range(NX)]))
        w.add_tensor(p + "ffn_up_exps.weight", np.stack([mat(rng, FFX, E) for _ in range(NX)]))
        w.add_tensor(p + "ffn_down_exps.weight", np.stack([mat(rng, E, FFX) for _ in range(NX)]))
        w.add_tensor(p + "ffn_gate_inp_shexp.weight", mat(rng, 1, E, 0.2)[0])
        w.add_tensor(p + "ffn_gate_shexp.weight", mat(rng, FFS, E))
        w.add_tensor(p + "ffn_up_shexp.weight", mat(rng, FFS, E))
        w.add_tensor(p + "ffn_down_shexp.weight", mat(rng, E, FFS))
    finish(w)


def legacy_qkvz(qkv, z):
    """The fused projection of older Qwen3-Next GGUFs: per key head g, rows
    [q_g (d_state), k_g (d_state), v of its r value heads, z of its r value heads]."""
    r = DT_RANK // N_GROUP
    q, k, v = qkv[:KEY_DIM], qkv[KEY_DIM:2 * KEY_DIM], qkv[2 * KEY_DIM:]
    blocks = []
    for g in range(N_GROUP):
        s = slice(g * D_STATE, (g + 1) * D_STATE)
        vs = slice(g * r * D_STATE, (g + 1) * r * D_STATE)
        blocks += [q[s], k[s], v[vs], z[vs]]
    return np.concatenate(blocks)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    qwen2(f"{out}/qwen2-tiny-F32.gguf")
    qwen3next(f"{out}/qwen3next-tiny-F32.gguf", legacy=False)
    qwen3next(f"{out}/qwen3next-legacy-tiny-F32.gguf", legacy=True)
