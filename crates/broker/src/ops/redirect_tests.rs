use super::*;

const NOW: i64 = 1_700_000_000_000;

fn policy() -> Policy {
    Policy {
        delay_levels: 18,
        timer_enabled: true,
        timer_max_delay_ms: 40 * 86_400_000,
        now_ms: NOW,
    }
}

fn dest(topic: &str) -> Destination {
    Destination {
        topic: topic.into(),
        queue_id: 3,
        sys_flag: 0,
    }
}

fn props(pairs: &[(&str, &str)]) -> Properties {
    let mut p = Properties::default();
    for (k, v) in pairs {
        p.insert(k, v);
    }
    p
}

#[test]
fn given_a_delay_level_should_park_on_the_level_queue_and_drop_timer_properties() {
    let mut p = props(&[("DELAY", "2"), ("TIMER_DELAY_SEC", "9")]);
    let mut d = dest("T");
    let r = for_send(&mut p, &mut d, &policy(), SendFacts::default()).unwrap();
    assert_eq!(r, Redirect::Delay { level: 2 });
    assert_eq!((d.topic.as_str(), d.queue_id), (SCHEDULE_TOPIC, 1));
    assert_eq!(p.get("REAL_TOPIC"), Some("T"));
    assert_eq!(p.get("REAL_QID"), Some("3"));
    assert!(!p.contains("TIMER_DELAY_SEC"));
    let mut p = props(&[("DELAY", "99")]);
    schedule(&mut p, &mut dest("T"), &policy()).unwrap();
    let mut d = dest("T");
    assert_eq!(
        schedule(&mut props(&[("DELAY", "99")]), &mut d, &policy()).unwrap(),
        Redirect::Delay { level: 18 },
        "levels clamp to the last"
    );
}

#[test]
fn given_each_timer_property_should_park_on_the_timer_topic_with_its_fire_time() {
    let cases = [
        ("TIMER_DELAY_SEC", "5".to_owned(), NOW + 5_000),
        ("TIMER_DELAY_MS", "1500".to_owned(), NOW + 1_500),
        ("TIMER_DELIVER_MS", (NOW + 65_000).to_string(), NOW + 65_000),
        ("__STARTDELIVERTIME", (NOW + 7).to_string(), NOW + 7),
    ];
    for (key, value, expected) in cases {
        let mut p = props(&[(key, &value)]);
        let mut d = dest("T");
        let r = for_send(&mut p, &mut d, &policy(), SendFacts::default()).unwrap();
        assert_eq!(
            r,
            Redirect::Timer {
                deliver_ms: expected
            },
            "{key}"
        );
        assert_eq!((d.topic.as_str(), d.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(p.get("TIMER_OUT_MS"), Some(expected.to_string().as_str()));
        assert_eq!(p.get("REAL_TOPIC"), Some("T"));
        assert_eq!(
            p.get(key),
            Some(value.as_str()),
            "the request property stays"
        );
    }
}

#[test]
fn given_a_bad_timer_should_refuse_with_javas_codes() {
    let too_far = (NOW + 41 * 86_400_000).to_string();
    let err = for_send(
        &mut props(&[("TIMER_DELIVER_MS", &too_far)]),
        &mut dest("T"),
        &policy(),
        SendFacts::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.response_code(),
        apogee_protocol::ResponseCode::MESSAGE_ILLEGAL
    );
    assert!(err.to_string().contains("max delay 3456000000ms"), "{err}");
    let err = schedule(
        &mut props(&[("TIMER_DELAY_SEC", "x")]),
        &mut dest("T"),
        &policy(),
    )
    .unwrap_err();
    assert_eq!(
        err.response_code(),
        apogee_protocol::ResponseCode::MESSAGE_ILLEGAL
    );
    let off = Policy {
        timer_enabled: false,
        ..policy()
    };
    let err = schedule(
        &mut props(&[("TIMER_DELAY_SEC", "1")]),
        &mut dest("T"),
        &off,
    )
    .unwrap_err();
    assert_eq!(
        err.response_code(),
        apogee_protocol::ResponseCode::SYSTEM_ERROR
    );
    let past = (NOW - 1).to_string();
    let mut d = dest("T");
    assert_eq!(
        schedule(
            &mut props(&[("TIMER_DELIVER_MS", &past)]),
            &mut d,
            &policy()
        )
        .unwrap(),
        Redirect::None,
        "a time already passed is delivered at once"
    );
    assert_eq!(d.topic, "T");
    let err = schedule(
        &mut props(&[("TIMER_DELIVER_MS", &past), ("TIMER_DEL_UNIQKEY", "T+X")]),
        &mut dest("T"),
        &policy(),
    )
    .unwrap_err();
    assert_eq!(
        err.response_code(),
        apogee_protocol::ResponseCode::MESSAGE_ILLEGAL
    );
}

#[test]
fn given_retries_and_transactions_should_take_the_first_step_that_applies() {
    let facts = SendFacts {
        reconsume_times: 17,
        retry_max: Some(16),
    };
    let mut d = dest("%RETRY%g");
    let mut p = props(&[("DELAY", "3")]);
    let r = for_send(&mut p, &mut d, &policy(), facts).unwrap();
    assert_eq!(r, Redirect::DeadLetter);
    assert_eq!(p.get("DELAY"), Some("-1"), "no delay on the way to the DLQ");
    assert_eq!((d.topic.as_str(), d.queue_id), ("%DLQ%g", 0));

    let mut p = props(&[("TRAN_MSG", "true"), ("TIMER_DELAY_SEC", "5")]);
    let mut d = Destination {
        sys_flag: sys_flag::TRANSACTION_PREPARED,
        ..dest("T")
    };
    assert_eq!(
        for_send(&mut p, &mut d, &policy(), SendFacts::default()).unwrap(),
        Redirect::Half
    );
    assert_eq!(
        (d.topic.as_str(), d.queue_id, d.sys_flag),
        (HALF_TOPIC, 0, 0)
    );
    assert!(p.contains("TIMER_DELAY_SEC"), "the timer applies at commit");

    let facts = SendFacts {
        reconsume_times: 1,
        retry_max: None,
    };
    let mut p = props(&[("TRAN_MSG", "true"), ("DELAY", "1")]);
    let mut d = dest("T");
    let r = for_send(&mut p, &mut d, &policy(), facts).unwrap();
    assert_eq!(
        r,
        Redirect::Delay { level: 1 },
        "a retried delay message skips the half"
    );
}

#[test]
fn given_tran_msg_should_read_it_as_javas_parse_boolean() {
    assert!(is_transactional(&props(&[("TRAN_MSG", "True")])));
    assert!(!is_transactional(&props(&[("TRAN_MSG", "false")])));
    assert!(!is_transactional(&Properties::default()));
}
