//! Deterministic simulation: many devices run the real client engine against the real server
//! logic (push apply, pull) and a real SQLite database, in one process, through a faulty
//! transport — lost, duplicated, delayed (reordered) and cut batches, replies lost after
//! commit, devices offline for a while or crashing and restarting from their storage. One seed
//! drives everything; a failure prints the seed, and `PRONTO_SIM_SEED=<n>` replays it.
//!
//! - default: `PRONTO_SIM_SEEDS` seeds (200) of small worlds (5–20 devices, hundreds of ops);
//! - `PRONTO_SIM_FULL=1`: full-size worlds (50–60 devices over 3 stores, thousands of ops),
//!   `PRONTO_SIM_SEEDS` of them (set it to 10000 for the long run).

mod check;
mod transport;
mod world;

use std::time::Instant;

use world::{Sim, Size};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn every_seed_converges_with_every_sale_exactly_once() {
    let full = std::env::var("PRONTO_SIM_FULL").is_ok_and(|v| v == "1");
    let size = if full { Size::Full } else { Size::Small };
    let seeds: Vec<u64> = match env_u64("PRONTO_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("PRONTO_SIM_SEEDS").unwrap_or(200)).collect(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let mut totals = world::Totals::default();
    for seed in &seeds {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async {
                let mut sim = Sim::new(*seed, size).await;
                sim.run().await;
                sim.drain().await;
                check::all(&mut sim).await;
                let mut totals = sim.totals();
                totals.conflicts = sim.conflicts().await;
                totals
            })
        }));
        match outcome {
            Ok(t) => totals.add(&t),
            Err(panic) => {
                eprintln!(
                    "\nsimulation failed for seed {seed}: replay with PRONTO_SIM_SEED={seed}\n"
                );
                std::panic::resume_unwind(panic);
            }
        }
    }
    println!(
        "simulation: {} seeds ({size:?}) in {:.1} s — {totals}",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
}
