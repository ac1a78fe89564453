//! Deterministic simulation of controller-mode failover: three brokers of one set, three
//! controller nodes, and seeded faults (broker crashes and restarts, controller node crashes,
//! brokers cut off from the controllers or from each other, lost, late and stale heartbeats,
//! lost requests), then healing. After every step: at most one master per epoch; the SyncStateSet within the
//! replicas; every acknowledged message on every SyncStateSet member (so any broker the
//! controller may elect has it). After healing: one master, the one the controller names, and
//! writes acknowledged again.
//!
//! `APOGEE_SIM_SEEDS` runs that many seeds (default 1,000); `APOGEE_SIM_SEED` replays one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use sim::model::{Role, SET, World};

/// splitmix64: the whole run follows from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TICKS: u64 = 400;
const HEAL_AT: u64 = 250;

fn faults(w: &mut World, rng: &mut Rng) {
    let i = rng.pick(w.brokers.len());
    let b = &mut w.brokers[i];
    if b.up && rng.chance(3) {
        b.crash();
    } else if !b.up && rng.chance(15) {
        b.up = true;
    }
    if rng.chance(3) {
        b.cut_from_controllers = !b.cut_from_controllers;
    }
    if rng.chance(3) {
        b.cut_from_brokers = !b.cut_from_brokers;
    }
    let n = rng.pick(w.nodes.len());
    if w.nodes[n].up && rng.chance(3) {
        w.nodes[n].up = false;
        w.nodes[n].live.clear();
    } else if !w.nodes[n].up && rng.chance(15) {
        w.nodes[n].up = true;
    }
}

fn heal(w: &mut World) {
    for b in &mut w.brokers {
        b.up = true;
        b.cut_from_controllers = false;
        b.cut_from_brokers = false;
    }
    for n in &mut w.nodes {
        n.up = true;
    }
}

fn step(w: &mut World, rng: &mut Rng, faulty: bool) {
    w.elect_controller_leader();
    let loss = if faulty { 10 } else { 0 };
    let late = if faulty { 10 } else { 0 };
    // Two streams drawn from the run's generator, so losses and delays are independent.
    let (mut drop, mut delay) = (Rng(rng.next()), Rng(rng.next()));
    w.heartbeats(&mut || drop.chance(loss), &mut || {
        if delay.chance(late) {
            1 + delay.next() % 4
        } else {
            0
        }
    });
    w.scan();
    for i in 0..w.brokers.len() {
        let b = &w.brokers[i];
        if b.up && !b.cut_from_controllers && !rng.chance(loss) {
            w.poll(i);
        }
    }
    if rng.chance(70) {
        w.write();
    }
    w.replicate();
    w.acknowledge();
    w.keep_sync_state_set();
    w.check();
}

fn run(seed: u64, careless_growth: bool) -> Result<(), String> {
    let mut w = World::new(3, 3);
    w.careless_growth = careless_growth;
    let mut rng = Rng(seed);
    let mut acked_at_heal = 0;
    for tick in 0..TICKS {
        w.tick = tick;
        if tick < HEAL_AT {
            faults(&mut w, &mut rng);
        } else if tick == HEAL_AT {
            heal(&mut w);
            acked_at_heal = w.acked.len();
        }
        step(&mut w, &mut rng, tick < HEAL_AT);
        if let Some(v) = w.violations.first() {
            return Err(v.clone());
        }
    }
    let set = w.state.broker_set(SET).ok_or("no broker set registered")?;
    let masters: Vec<i64> = w
        .brokers
        .iter()
        .filter(|b| b.role == Role::Master)
        .map(|b| b.id)
        .collect();
    if masters.len() != 1 || set.master != Some(masters[0]) {
        return Err(format!(
            "after healing: masters {masters:?}, the controller names {:?}",
            set.master
        ));
    }
    if w.acked.len() <= acked_at_heal {
        return Err("after healing no write was acknowledged".into());
    }
    Ok(())
}

#[test]
fn given_seeded_faults_the_invariants_hold_and_the_set_recovers_after_healing() {
    let seeds: u64 = std::env::var("APOGEE_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let only: Option<u64> = std::env::var("APOGEE_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let seeds: Vec<u64> = match only {
        Some(seed) => vec![seed],
        None => (0..seeds).map(|i| 0x5EED_0000 + i).collect(),
    };
    let mut failed = Vec::new();
    for seed in &seeds {
        if let Err(why) = run(*seed, false) {
            failed.push(format!("seed {seed}: {why}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} runs failed (replay with APOGEE_SIM_SEED=<seed>):\n{}",
        failed.len(),
        seeds.len(),
        failed[..failed.len().min(10)].join("\n")
    );
}

#[test]
fn given_a_master_that_grows_its_sync_state_set_carelessly_the_checker_finds_lost_messages() {
    let failures = (0..200)
        .filter(|i| {
            run(0xBAD_0000 + i, true).is_err_and(|why| why.contains("missing from SyncStateSet"))
        })
        .count();
    assert!(failures > 0, "the invariant check never fired");
}
