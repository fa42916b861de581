//! Gated DeltaNet state per recurrent layer, f32 as in llama.cpp: the last `d_conv - 1` projected
//! inputs of the causal conv, and the `[Hv][dk][dv]` delta-rule matrix.

#[derive(Clone)]
pub struct LayerState {
    /// `[d_conv - 1][conv_dim]`, oldest first.
    pub conv: Vec<f32>,
    /// `[Hv][dk][dv]`: `S[h][i][j]`, i over keys, j over values.
    pub ssm: Vec<f32>,
}

#[derive(Clone, Default)]
pub struct RecurrentState {
    pub layers: Vec<Option<LayerState>>,
}

impl RecurrentState {
    pub fn new(recurrent: &[bool], conv_len: usize, ssm_len: usize) -> RecurrentState {
        let layers = recurrent
            .iter()
            .map(|&r| {
                r.then(|| LayerState {
                    conv: vec![0.0; conv_len],
                    ssm: vec![0.0; ssm_len],
                })
            })
            .collect();
        RecurrentState { layers }
    }

    pub fn clear(&mut self) {
        for l in self.layers.iter_mut().flatten() {
            l.conv.fill(0.0);
            l.ssm.fill(0.0);
        }
    }
}
