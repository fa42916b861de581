//! Cost of starting a parallel region after serial work, for the engine's pool and for rayon.
//!
//! `cargo bench -p fitbench-engine --bench pool`. Each iteration runs `gap` µs of serial spinning
//! on the calling thread, then a region of two 20 µs items on two threads: the ideal time is
//! gap + 20 µs, and the excess is what waking the other thread costs. A decode step has about
//! thirty such regions, most after a few to a few tens of µs of norms, routing and quantizing.

use criterion::{criterion_group, criterion_main, Criterion};
use fitbench_engine::cpu::{parallel, ThreadPool};
use rayon::prelude::*;
use std::time::{Duration, Instant};

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

const ITEM: Duration = Duration::from_micros(20);

fn bench(c: &mut Criterion) {
    let ours = ThreadPool::new(2).expect("thread pool");
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon pool");
    for gap_us in [5u64, 20, 50] {
        let gap = Duration::from_micros(gap_us);
        let mut g = c.benchmark_group(format!(
            "region after {gap_us} us serial (ideal {} us)",
            gap_us + 20
        ));
        g.sample_size(20).measurement_time(Duration::from_secs(2));
        g.bench_function("fitbench pool", |b| {
            ours.install(|| {
                b.iter(|| {
                    spin(gap);
                    parallel::for_each_index(2, |_| spin(ITEM));
                })
            })
        });
        g.bench_function("rayon", |b| {
            rayon_pool.install(|| {
                b.iter(|| {
                    spin(gap);
                    (0..2).into_par_iter().for_each(|_| spin(ITEM));
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
