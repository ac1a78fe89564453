use super::*;

fn limits() -> TransactionLimits {
    TransactionLimits {
        check_interval: Duration::from_secs(30),
        timeout_ms: 6_000,
        check_max: 3,
        file_reserved_ms: 72 * 3_600_000,
    }
}

const BORN: i64 = 1_700_000_000_000;

fn half(queue_offset: i64) -> HalfFacts<'static> {
    HalfFacts {
        queue_offset,
        born_timestamp: BORN,
        check_times: None,
        immunity_seconds: None,
        prepared_queue_offset: None,
    }
}

fn none() -> HashSet<i64> {
    HashSet::new()
}

#[test]
fn given_op_record_for_the_offset_should_be_resolved_whatever_its_age() {
    let resolved = HashSet::from([5]);
    assert_eq!(
        decide(&half(5), &resolved, &limits(), BORN + 1),
        Decision::Resolved
    );
    assert_eq!(
        decide(&half(5), &resolved, &limits(), BORN + 3_600_000),
        Decision::Resolved
    );
}

#[test]
fn given_unresolved_half_should_wait_until_older_than_the_timeout_then_be_checked_once_more_each_pass()
 {
    let l = limits();
    assert_eq!(decide(&half(0), &none(), &l, BORN), Decision::Wait);
    assert_eq!(decide(&half(0), &none(), &l, BORN + 6_000), Decision::Wait);
    assert_eq!(
        decide(&half(0), &none(), &l, BORN + 6_001),
        Decision::Check { check_times: 1 }
    );
    let checked_twice = HalfFacts {
        check_times: Some("2"),
        ..half(0)
    };
    assert_eq!(
        decide(&checked_twice, &none(), &l, BORN + 60_000),
        Decision::Check { check_times: 3 }
    );
    let garbled = HalfFacts {
        check_times: Some("x"),
        ..half(0)
    };
    assert_eq!(
        decide(&garbled, &none(), &l, BORN + 60_000),
        Decision::Check { check_times: 1 }
    );
}

#[test]
fn given_check_max_reached_or_retention_passed_should_discard() {
    let l = limits();
    let exhausted = HalfFacts {
        check_times: Some("3"),
        ..half(0)
    };
    assert_eq!(decide(&exhausted, &none(), &l, BORN), Decision::Discard);
    assert_eq!(
        decide(&half(0), &none(), &l, BORN + l.file_reserved_ms + 1),
        Decision::Discard
    );
}

#[test]
fn given_born_in_the_future_should_check_at_once() {
    assert_eq!(
        decide(&half(0), &none(), &limits(), BORN - 5),
        Decision::Check { check_times: 1 }
    );
}

#[test]
fn given_check_immunity_should_renew_until_it_passes_then_check() {
    let l = limits();
    let immune = HalfFacts {
        immunity_seconds: Some("10"),
        ..half(4)
    };
    assert_eq!(
        decide(&immune, &none(), &l, BORN + 9_000),
        Decision::Renew {
            prepared_queue_offset: 4
        }
    );
    let renewed = HalfFacts {
        prepared_queue_offset: Some("4"),
        ..HalfFacts {
            queue_offset: 9,
            ..immune
        }
    };
    assert_eq!(
        decide(&renewed, &none(), &l, BORN + 9_500),
        Decision::Renew {
            prepared_queue_offset: 4
        },
        "a copy keeps the original offset"
    );
    assert_eq!(
        decide(&renewed, &HashSet::from([4]), &l, BORN + 9_500),
        Decision::Resolved,
        "the producer resolved the original"
    );
    assert_eq!(
        decide(&renewed, &none(), &l, BORN + 10_001),
        Decision::Check { check_times: 1 }
    );
    let forever = HalfFacts {
        immunity_seconds: Some("91"),
        ..half(4)
    };
    assert_eq!(
        decide(&forever, &none(), &l, BORN + 1),
        Decision::Skip,
        "3 checks x 30 s = 90 s window"
    );
}

fn op(op_offset: i64, half_offsets: &[i64]) -> OpRecord {
    OpRecord {
        op_offset,
        half_offsets: half_offsets.to_vec(),
    }
}

#[test]
fn given_op_records_should_advance_past_those_naming_only_passed_half_offsets() {
    let ops = [op(10, &[0]), op(11, &[1, 2]), op(12, &[7]), op(13, &[3])];
    assert_eq!(next_op_offset(&ops, 14, 3), 12, "stops at the op naming 7");
    assert_eq!(next_op_offset(&ops, 14, 8), 14, "every op passed");
    assert_eq!(next_op_offset(&ops, 14, 0), 10);
    assert_eq!(next_op_offset(&[], 10, 5), 10);
    assert_eq!(
        next_op_offset(&[op(4, &[])], 5, 0),
        5,
        "an op with no readable offset is done"
    );
}
