use super::*;

fn states(max: usize) -> (PopStates, ConsumerOffsets, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let offsets = ConsumerOffsets::load(dir.path()).expect("offsets");
    (PopStates::new(offsets.clone(), max), offsets, dir)
}

fn popped(range: std::ops::Range<i64>) -> Vec<Popped> {
    range
        .map(|o| Popped {
            queue_offset: o,
            commit_log_offset: o * 100,
        })
        .collect()
}

fn key() -> QueueKey {
    QueueKey::new("g", "t", 0)
}

#[test]
fn a_new_queue_starts_at_the_committed_offset_else_the_initial_one() {
    let (pop, offsets, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 7).expect("claim");
    assert_eq!(claim.start, 7);
    drop(claim);
    offsets.commit("g", "t", 1, 40);
    let claim = pop
        .claim(&QueueKey::new("g", "t", 1), false, || None, || 0)
        .expect("claim");
    assert_eq!(claim.start, 40);
}

#[test]
fn one_reader_per_queue_and_a_dropped_claim_frees_it() {
    let (pop, _, _dir) = states(100);
    let first = pop.claim(&key(), false, || None, || 0).expect("claim");
    assert!(pop.claim(&key(), false, || None, || 0).is_none());
    drop(first);
    assert!(pop.claim(&key(), false, || None, || 0).is_some());
}

#[test]
fn the_committed_offset_stays_at_the_oldest_message_not_acked() {
    let (pop, offsets, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..3), 3, (1_000, 10_000), false);
    assert_eq!(offsets.query("g", "t", 0), Some(0));
    pop.ack(&key(), 1, 1_000).expect("ack 1");
    assert_eq!(offsets.query("g", "t", 0), Some(0));
    pop.ack(&key(), 0, 1_000).expect("ack 0");
    assert_eq!(offsets.query("g", "t", 0), Some(2));
    pop.ack(&key(), 2, 1_000).expect("ack 2");
    assert_eq!(offsets.query("g", "t", 0), Some(3));
    assert_eq!(pop.figures().inflight, 0);
    assert_eq!(pop.figures().acked, 3);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    assert_eq!(claim.start, 3);
}

#[test]
fn a_handle_with_another_pop_time_or_acked_twice_is_refused() {
    let (pop, _, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (1_000, 10_000), false);
    assert_eq!(pop.ack(&key(), 0, 999), Err(HandleError::NotInFlight));
    pop.ack(&key(), 0, 1_000).expect("ack");
    assert_eq!(pop.ack(&key(), 0, 1_000), Err(HandleError::NotInFlight));
    assert_eq!(
        pop.ack(&QueueKey::new("other", "t", 0), 0, 1_000),
        Err(HandleError::NotInFlight)
    );
}

#[test]
fn nothing_is_due_before_its_deadline_and_revived_messages_refuse_acks() {
    let (pop, offsets, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..2), 2, (1_000, 10_000), false);
    assert_eq!(pop.next_deadline(), Some(11_000));
    assert!(pop.take_due(10_999, 10).is_empty());
    let due = pop.take_due(11_000, 10);
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].commit_log_offset, 0);
    assert_eq!(pop.ack(&key(), 0, 1_000), Err(HandleError::NotInFlight));
    pop.revived(&due[0]);
    assert_eq!(offsets.query("g", "t", 0), Some(1));
    pop.revive_failed(&due[1], 12_000);
    assert!(pop.take_due(11_999, 10).is_empty());
    let again = pop.take_due(12_000, 10);
    assert_eq!(again, vec![due[1].clone()]);
    pop.revived(&again[0]);
    assert_eq!(offsets.query("g", "t", 0), Some(2));
    assert_eq!(pop.figures().revived, 2);
}

#[test]
fn a_changed_invisible_time_moves_the_deadline_and_the_handle() {
    let (pop, _, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (1_000, 10_000), false);
    let new_pop_time = pop
        .change_invisible(&key(), 0, 1_000, (5_000, 20_000))
        .expect("change");
    assert_eq!(new_pop_time, 5_000);
    assert!(pop.take_due(24_999, 10).is_empty());
    assert_eq!(pop.ack(&key(), 0, 1_000), Err(HandleError::NotInFlight));
    pop.ack(&key(), 0, 5_000).expect("ack with the new handle");
}

#[test]
fn an_orderly_queue_waits_for_its_messages_and_reads_them_again_when_they_expire() {
    let (pop, _, _dir) = states(100);
    let claim = pop.claim(&key(), true, || None, || 0).expect("claim");
    let attempts = pop.finish(claim, &popped(0..2), 2, (1_000, 10_000), true);
    assert_eq!(attempts, vec![0, 0]);
    assert!(pop.claim(&key(), true, || None, || 0).is_none(), "blocked");
    let due = pop.take_due(11_000, 10);
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|d| d.orderly), "orderly: nothing to copy");
    let claim = pop.claim(&key(), true, || None, || 0).expect("claim again");
    assert_eq!(claim.start, 0);
    let attempts = pop.finish(claim, &popped(0..2), 2, (11_000, 10_000), true);
    assert_eq!(attempts, vec![1, 1]);
    pop.ack(&key(), 0, 11_000).expect("ack");
    assert!(
        pop.claim(&key(), true, || None, || 0).is_none(),
        "still one in flight"
    );
    pop.ack(&key(), 1, 11_000).expect("ack");
    assert_eq!(
        pop.claim(&key(), true, || None, || 0).expect("free").start,
        2
    );
}

#[test]
fn in_flight_messages_are_bounded_and_a_reset_forgets_them() {
    let (pop, offsets, _dir) = states(2);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..2), 2, (1_000, 10_000), false);
    assert!(
        pop.claim(&QueueKey::new("g", "t", 1), false, || None, || 0)
            .is_none()
    );
    drop(pop.claim(&key(), false, || Some(0), || 0));
    assert_eq!(pop.figures().inflight, 0);
    let claim = pop.claim(&key(), false, || Some(5), || 0).expect("claim");
    assert_eq!(claim.start, 5);
    pop.finish(claim, &[], 5, (1_000, 10_000), false);
    assert_eq!(offsets.query("g", "t", 0), Some(5));
}

#[test]
fn a_checkpoint_brings_back_cursors_and_messages_in_flight_but_not_acked_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let offsets = ConsumerOffsets::load(dir.path()).expect("offsets");
    let pop = PopStates::load(offsets.clone(), 100, dir.path()).expect("load");
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..3), 3, (1_000, 10_000), false);
    pop.ack(&key(), 0, 1_000).expect("ack");
    let orderly = QueueKey::new("g", "fifo", 0);
    let claim = pop.claim(&orderly, true, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (1_000, 10_000), true);
    let due = pop.take_due(11_000, 10);
    let unordered = due.iter().filter(|d| !d.orderly).count();
    assert_eq!(unordered, 2, "the two unordered ones are due");
    pop.persist().expect("written");
    offsets.persist().expect("offsets written");

    let offsets = ConsumerOffsets::load(dir.path()).expect("offsets again");
    let again = PopStates::load(offsets, 100, dir.path()).expect("load again");
    assert_eq!(
        again.inflight_of(&key()),
        2,
        "offsets 1 and 2 still in flight"
    );
    assert_eq!(again.cursor(&key()), Some(3));
    assert_eq!(again.cursor(&orderly), Some(0), "read again from the first");
    let claim = again
        .claim(&orderly, true, || None, || 0)
        .expect("orderly queue free");
    let attempts = again.finish(claim, &popped(0..1), 1, (12_000, 10_000), true);
    assert_eq!(attempts, vec![1], "its delivery count survived");
    again
        .ack(&key(), 1, 1_000)
        .expect("the old handle still acks");
}

#[test]
fn the_read_moves_the_cursor_back_when_the_queue_restarted_lower() {
    let (pop, offsets, _dir) = states(100);
    offsets.commit("g", "t", 0, 10_000);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    assert_eq!(claim.start, 10_000);
    pop.finish(claim, &[], 0, (1_000, 10_000), false);
    assert_eq!(pop.cursor(&key()), Some(0));
    assert_eq!(offsets.query("g", "t", 0), Some(0));
}

#[test]
fn a_reset_waits_while_another_pop_reads_the_queue() {
    let (pop, _, _dir) = states(100);
    let reading = pop.claim(&key(), false, || None, || 0).expect("claim");
    let asked = std::cell::Cell::new(false);
    let blocked = pop.claim(
        &key(),
        false,
        || {
            asked.set(true);
            Some(0)
        },
        || 0,
    );
    assert!(blocked.is_none());
    assert!(!asked.get(), "the pending reset is left for the next claim");
    drop(reading);
}

#[test]
fn a_revive_never_removes_the_message_popped_again_at_that_offset() {
    let (pop, _, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (1_000, 1_000), false);
    let due = pop.take_due(2_000, 10);
    assert_eq!(due.len(), 1);
    // A reset forgets it and a new pop reads the same offset.
    let claim = pop.claim(&key(), false, || Some(0), || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (3_000, 10_000), false);
    pop.revived(&due[0]);
    pop.revive_failed(&due[0], 99_000);
    assert_eq!(
        pop.inflight_of(&key()),
        1,
        "the new pop's message stays in flight"
    );
    pop.ack(&key(), 0, 3_000).expect("its handle acks it");
}

#[test]
fn a_message_popped_again_keeps_only_its_new_deadline() {
    let (pop, _, _dir) = states(100);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    // A read that leaves the cursor on the message (the queue restarted lower, say).
    pop.finish(claim, &popped(0..1), 0, (1_000, 10_000), false);
    let claim = pop.claim(&key(), false, || None, || 0).expect("claim");
    pop.finish(claim, &popped(0..1), 1, (2_000, 50_000), false);
    assert_eq!(pop.figures().inflight, 1, "counted once");
    assert!(
        pop.take_due(20_000, 10).is_empty(),
        "the old deadline is gone"
    );
    assert_eq!(pop.next_deadline(), Some(52_000));
}
