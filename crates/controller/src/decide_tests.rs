use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

/// Liveness as a table: (broker id) → heartbeat, one broker set.
#[derive(Default)]
struct Live(BTreeMap<BrokerId, Heartbeat>);

impl Liveness for Live {
    fn heartbeat(&self, _: &str, id: BrokerId) -> Option<Heartbeat> {
        self.0.get(&id).copied()
    }
}

fn beat(epoch: i32, max_offset: i64) -> Heartbeat {
    Heartbeat {
        epoch,
        max_offset,
        election_priority: 0,
    }
}

/// A set `a` with brokers 1..=n registered.
fn registered(n: BrokerId) -> ControllerState {
    let mut state = ControllerState::default();
    for id in 1..=n {
        let code = format!("10.0.0.{id}:10911;uuid-{id}");
        if let Some(e) = apply_broker_id(&state, "c", "a", id, &code).unwrap() {
            state.apply(&e);
        }
    }
    state
}

/// Brokers 1..=n registered, 1 elected first.
fn with_master_1(n: BrokerId) -> ControllerState {
    let mut state = registered(n);
    let e = elect_master(&state, "a", Trigger::Broker(1), &Live::default(), false).unwrap();
    state.apply(&e.event);
    state
}

#[test]
fn given_a_new_set_only_id_1_is_taken_and_retries_are_idempotent() {
    let state = ControllerState::default();
    let err = apply_broker_id(&state, "c", "a", 2, "x:1;u").unwrap_err();
    assert_eq!(err.code, ResponseCode::CONTROLLER_BROKER_ID_INVALID);
    let state = registered(2);
    assert_eq!(next_broker_id(&state, "a"), 3);
    assert_eq!(
        apply_broker_id(&state, "c", "a", 2, "10.0.0.2:10911;uuid-2").unwrap(),
        None
    );
    let taken = apply_broker_id(&state, "c", "a", 2, "10.9.9.9:1;other").unwrap_err();
    assert_eq!(taken.code, ResponseCode::CONTROLLER_BROKER_ID_INVALID);
    assert_eq!(
        state.broker_set("a").unwrap().replicas[&1].address,
        "10.0.0.1:10911"
    );
}

#[test]
fn given_the_first_election_the_asking_broker_wins_then_the_best_of_the_sync_state_set() {
    let mut state = registered(3);
    let live = Live::default();
    let first = elect_master(&state, "a", Trigger::Broker(2), &live, false).unwrap();
    assert_eq!((first.new_master, first.master_epoch), (2, 1));
    state.apply(&first.event);
    let set = state.broker_set("a").unwrap();
    assert_eq!(set.sync_state_set, BTreeSet::from([2]));
    // 2 alive and master: asking again keeps it (2011).
    let live = Live(BTreeMap::from([
        (1, beat(1, 500)),
        (2, beat(1, 400)),
        (3, beat(1, 900)),
    ]));
    let (again, _) = elect_master(&state, "a", Trigger::Broker(1), &live, false).unwrap_err();
    assert_eq!(again.code, ResponseCode::CONTROLLER_MASTER_STILL_EXIST);
    // The SyncStateSet grows to {1, 2, 3}; 2 dies: 3 has the most data and wins.
    let alter =
        alter_sync_state_set(&state, "a", (2, 1), (&BTreeSet::from([1, 2, 3]), 1), &live).unwrap();
    state.apply(&alter);
    let live = Live(BTreeMap::from([(1, beat(1, 500)), (3, beat(1, 900))]));
    let next = elect_master(&state, "a", Trigger::Controller, &live, false).unwrap();
    assert_eq!(
        (
            next.new_master,
            next.master_epoch,
            next.sync_state_set_epoch
        ),
        (3, 2, 3)
    );
}

#[test]
fn given_nobody_in_sync_alive_a_clean_election_fails_and_an_unclean_one_takes_any_replica() {
    let mut state = with_master_1(2);
    let only_2 = Live(BTreeMap::from([(2, beat(1, 10))]));
    let (refused, event) =
        elect_master(&state, "a", Trigger::Broker(2), &only_2, false).unwrap_err();
    assert_eq!(refused.code, ResponseCode::CONTROLLER_ELECT_MASTER_FAILED);
    assert_eq!(event, None);
    let (refused, event) =
        elect_master(&state, "a", Trigger::Controller, &only_2, false).unwrap_err();
    assert_eq!(refused.code, ResponseCode::CONTROLLER_MASTER_NOT_AVAILABLE);
    state.apply(&event.unwrap());
    assert_eq!(state.broker_set("a").unwrap().master, None);
    let unclean = elect_master(&state, "a", Trigger::Controller, &only_2, true).unwrap();
    assert_eq!(unclean.new_master, 2);
}

#[test]
fn given_an_admin_designation_only_that_live_broker_is_chosen() {
    let mut state = with_master_1(3);
    let all = Live(BTreeMap::from([
        (1, beat(1, 0)),
        (2, beat(1, 0)),
        (3, beat(1, 0)),
    ]));
    let grow =
        alter_sync_state_set(&state, "a", (1, 1), (&BTreeSet::from([1, 2, 3]), 1), &all).unwrap();
    state.apply(&grow);
    let chosen = elect_master(&state, "a", Trigger::Admin(3), &all, false).unwrap();
    assert_eq!(chosen.new_master, 3);
    let dead = Live(BTreeMap::from([(1, beat(1, 0))]));
    let (refused, _) = elect_master(&state, "a", Trigger::Admin(3), &dead, false).unwrap_err();
    assert_eq!(refused.code, ResponseCode::CONTROLLER_ELECT_MASTER_FAILED);
}

#[test]
fn given_stale_or_foreign_alters_they_are_refused_in_rocketmqs_order() {
    let state = with_master_1(2);
    let live = Live(BTreeMap::from([(1, beat(1, 0)), (2, beat(1, 0))]));
    let both = BTreeSet::from([1, 2]);
    let stranger = BTreeSet::from([1, 9]);
    let without_master = BTreeSet::from([2]);
    let one_alive = Live(BTreeMap::from([(1, beat(1, 0))]));
    let cases: [AlterCase; 7] = [
        (
            "z",
            (1, 1),
            (&both, 1),
            &live,
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
        ),
        (
            "a",
            (2, 1),
            (&both, 1),
            &live,
            ResponseCode::CONTROLLER_INVALID_MASTER,
        ),
        (
            "a",
            (1, 0),
            (&both, 1),
            &live,
            ResponseCode::CONTROLLER_FENCED_MASTER_EPOCH,
        ),
        (
            "a",
            (1, 1),
            (&both, 0),
            &live,
            ResponseCode::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
        ),
        (
            "a",
            (1, 1),
            (&stranger, 1),
            &live,
            ResponseCode::CONTROLLER_INVALID_REPLICAS,
        ),
        (
            "a",
            (1, 1),
            (&both, 1),
            &one_alive,
            ResponseCode::CONTROLLER_BROKER_NOT_ALIVE,
        ),
        (
            "a",
            (1, 1),
            (&without_master, 1),
            &live,
            ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
        ),
    ];
    for (name, master, set, alive, code) in cases {
        let refused = alter_sync_state_set(&state, name, master, set, alive).unwrap_err();
        assert_eq!(refused.code, code, "{name} {master:?} {set:?}: {refused}");
    }
}

#[test]
fn given_clean_requests_only_dead_brokers_go_and_a_removed_master_is_no_master() {
    let mut state = with_master_1(2);
    let live = Live(BTreeMap::from([(2, beat(1, 0))]));
    let code = |r: Result<Event, Refusal>| r.unwrap_err().code;
    let invalid = ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA;
    assert_eq!(
        code(clean_broker_data(&state, "a", None, false, &live)),
        invalid
    );
    assert_eq!(
        code(clean_broker_data(&state, "a", Some("2"), false, &live)),
        invalid
    );
    assert_eq!(
        code(clean_broker_data(&state, "a", Some("x;1"), false, &live)),
        invalid
    );
    let clean = clean_broker_data(&state, "a", Some("1"), false, &live).unwrap();
    state.apply(&clean);
    let set = state.broker_set("a").unwrap();
    assert_eq!((set.master, set.master_epoch), (None, 2));
    assert!(!set.sync_state_set.contains(&1));
}

/// An ALTER_SYNC_STATE_SET case: set name, (master, its epoch), (new set, its epoch), who
/// is alive, the expected refusal.
type AlterCase<'a> = (
    &'a str,
    (BrokerId, i32),
    (&'a BTreeSet<BrokerId>, i32),
    &'a Live,
    ResponseCode,
);

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    Apply(BrokerId),
    Elect(u8, bool, Vec<(BrokerId, i32, i64)>),
    Alter(Vec<BrokerId>, i32, i32, Vec<BrokerId>),
    Clean(Vec<BrokerId>),
}

fn op() -> impl Strategy<Value = Op> {
    let ids = 1i64..=4;
    let beats = proptest::collection::vec((1i64..=4, 0i32..4, 0i64..1000), 0..4);
    prop_oneof![
        ids.clone().prop_map(Op::Apply),
        (0u8..3, any::<bool>(), beats.clone()).prop_map(|(t, u, b)| Op::Elect(t, u, b)),
        (
            proptest::collection::vec(1i64..=4, 0..4),
            0i32..4,
            0i32..6,
            proptest::collection::vec(1i64..=4, 0..4)
        )
            .prop_map(|(s, me, se, alive)| Op::Alter(s, me, se, alive)),
        proptest::collection::vec(1i64..=4, 1..3).prop_map(Op::Clean),
    ]
}

fn run(state: &mut ControllerState, op: &Op, masters: &mut BTreeMap<i32, BrokerId>) {
    let event = match op {
        Op::Apply(id) => apply_broker_id(state, "c", "a", *id, &format!("h{id}:1;u{id}"))
            .ok()
            .flatten(),
        Op::Elect(t, unclean, beats) => {
            let live = Live(beats.iter().map(|(id, e, o)| (*id, beat(*e, *o))).collect());
            let trigger = match t {
                0 => Trigger::Controller,
                1 => Trigger::Broker(beats.first().map_or(1, |b| b.0)),
                _ => Trigger::Admin(beats.last().map_or(1, |b| b.0)),
            };
            match elect_master(state, "a", trigger, &live, *unclean) {
                Ok(e) => Some(e.event),
                Err((_, event)) => event,
            }
        }
        Op::Alter(set, master_epoch, sss_epoch, alive) => {
            let live = Live(alive.iter().map(|id| (*id, beat(0, 0))).collect());
            let master = state.broker_set("a").and_then(|s| s.master).unwrap_or(1);
            let set: BTreeSet<BrokerId> = set.iter().copied().collect();
            alter_sync_state_set(
                state,
                "a",
                (master, *master_epoch),
                (&set, *sss_epoch),
                &live,
            )
            .ok()
        }
        Op::Clean(ids) => {
            let text = ids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(";");
            clean_broker_data(state, "a", Some(&text), false, &Live::default()).ok()
        }
    };
    if let Some(event) = event {
        state.apply(&event);
    }
    if let Some(set) = state.broker_set("a")
        && let Some(master) = set.master
    {
        let before = masters.insert(set.master_epoch, master);
        assert!(
            before.is_none_or(|b| b == master),
            "two masters in epoch {}",
            set.master_epoch
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Whatever happens: at most one master per epoch; the master is a replica and in its
    /// SyncStateSet; the SyncStateSet holds only replicas; epochs never go back.
    #[test]
    fn any_history_keeps_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let mut state = ControllerState::default();
        let mut masters = BTreeMap::new();
        let (mut last_master_epoch, mut last_sss_epoch) = (0, 0);
        for op in &ops {
            run(&mut state, op, &mut masters);
            if let Some(set) = state.broker_set("a") {
                prop_assert!(set.sync_state_set.iter().all(|id| set.replicas.contains_key(id)));
                if let Some(m) = set.master {
                    prop_assert!(set.replicas.contains_key(&m));
                    prop_assert!(set.sync_state_set.contains(&m));
                }
                prop_assert!(set.master_epoch >= last_master_epoch);
                prop_assert!(set.sync_state_set_epoch >= last_sss_epoch);
                last_master_epoch = set.master_epoch;
                last_sss_epoch = set.sync_state_set_epoch;
            } else {
                last_master_epoch = 0;
                last_sss_epoch = 0;
                masters.clear();
            }
        }
    }
}
