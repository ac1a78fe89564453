use super::*;
use crate::commit_log::tests::message;
use crate::consume_queues::QueueRecovery;
use crate::io::FileIo;
use crate::quarantine::Quarantine;
use apogee_runtime::ManualClock;

struct Fixture {
    _dir: tempfile::TempDir,
    log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueStore>,
    reput: Arc<Reput>,
    heard: Arc<AtomicU64>,
}

/// A CommitLog of 1 MiB files under `<root>/commitlog`.
fn commit_log(root: &std::path::Path, quarantine: &Quarantine) -> Arc<CommitLog> {
    Arc::new(
        CommitLog::open(
            &root.join("commitlog"),
            1024 * 1024,
            4 * 1024 * 1024,
            Arc::new(ManualClock::new(1_000)),
            (&FileIo::default(), quarantine),
        )
        .unwrap(),
    )
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let quarantine = Quarantine::new(dir.path(), FileIo::default());
    let log = commit_log(dir.path(), &quarantine);
    let queues = Arc::new(
        ConsumeQueueStore::open_fresh(
            &dir.path().join("cq"),
            1000,
            (&FileIo::default(), &quarantine),
        )
        .unwrap(),
    );
    let cq = Arc::new(ConsumeQueueDispatcher::new(Arc::clone(&queues)));
    let reput = Arc::new(Reput::new(
        Arc::clone(&log),
        vec![cq as Arc<dyn Dispatcher>],
        0,
        TagsCodeRule::default(),
    ));
    let heard = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&heard);
    reput.add_listener(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    }));
    Fixture {
        _dir: dir,
        log,
        queues,
        reput,
        heard,
    }
}

#[test]
fn given_no_pass_running_appended_should_dispatch_on_the_callers_thread() {
    let f = fixture();
    // Each queue's first record creates its file: the dispatch thread's job.
    for id in [0, 1] {
        f.log.append(&[message("T", id, b"first")]).unwrap();
    }
    assert_eq!(f.reput.run_once().unwrap(), 2);
    f.log.append(&[message("T", 0, b"one")]).unwrap();
    f.log.append(&[message("T", 1, b"two")]).unwrap();
    f.reput.appended();
    assert_eq!(
        f.reput.offset(),
        f.log.max_offset(),
        "dispatched without a thread"
    );
    assert_eq!(f.queues.get("T", 0).unwrap().max_offset(), 2);
    assert_eq!(f.queues.get("T", 1).unwrap().max_offset(), 2);
    assert_eq!(f.heard.load(Ordering::Relaxed), 4, "listeners told");
    assert!(!f.reput.bell.take(), "the thread is not rung");
}

#[test]
fn given_a_queue_without_its_file_appended_should_leave_the_record_to_the_thread() {
    let f = fixture();
    f.reput.bell.take();
    f.log.append(&[message("T", 0, b"one")]).unwrap();
    f.reput.appended();
    assert_eq!(
        f.reput.offset(),
        0,
        "no file is created on an appending thread"
    );
    assert!(f.reput.bell.take(), "the thread is rung to create it");
    assert_eq!(
        f.reput.run_once().unwrap(),
        1,
        "the thread's pass creates it"
    );
    f.log.append(&[message("T", 0, b"two")]).unwrap();
    f.reput.appended();
    assert_eq!(
        f.reput.offset(),
        f.log.max_offset(),
        "then appends dispatch inline"
    );
    assert!(!f.reput.bell.take());
}

#[test]
fn given_a_pass_running_appended_should_leave_the_record_to_the_thread_and_ring_it() {
    let f = fixture();
    f.reput.bell.take();
    f.reput.paused(|| {
        f.log.append(&[message("T", 0, b"one")]).unwrap();
        f.reput.appended();
    });
    assert_eq!(
        f.reput.offset(),
        0,
        "the pass lock was taken: nothing dispatched"
    );
    assert!(f.reput.bell.take(), "the thread was rung instead");
    assert_eq!(f.reput.run_once().unwrap(), 1);
}

#[test]
fn given_a_dispatch_limit_appended_should_stop_there_until_the_limit_rises() {
    let f = fixture();
    f.reput.set_limit(0);
    f.log.append(&[message("T", 0, b"one")]).unwrap();
    f.reput.bell.take();
    f.reput.appended();
    assert_eq!(f.reput.offset(), 0, "held at the limit");
    f.reput.set_limit(i64::MAX);
    assert!(f.reput.bell.take(), "a raised limit rings the thread");
    assert_eq!(f.reput.run_once().unwrap(), 1);
}

#[test]
fn given_writers_racing_the_thread_every_record_should_be_dispatched_once_in_order() {
    let f = fixture();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = Arc::clone(&f.reput).spawn(Arc::clone(&stop)).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|id| {
            let (log, reput) = (Arc::clone(&f.log), Arc::clone(&f.reput));
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    log.append(&[message("T", id, b"x")]).unwrap();
                    reput.appended();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.reput.offset() < f.log.max_offset() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Release);
    f.reput.wake();
    thread.join().unwrap();
    assert_eq!(
        f.reput.offset(),
        f.log.max_offset(),
        "all dispatched within 30 s"
    );
    assert_eq!(f.heard.load(Ordering::Relaxed), 8_000, "each record once");
    for id in 0..4 {
        let queue = f.queues.get("T", id).unwrap();
        assert_eq!(queue.max_offset(), 2_000);
        let mut last = -1;
        for offset in 0..2_000 {
            let unit = queue.get(offset).unwrap();
            assert!(unit.commit_log_offset > last, "units in CommitLog order");
            last = unit.commit_log_offset;
        }
    }
}

fn unflushed(queues: &ConsumeQueueStore) -> usize {
    queues
        .handles()
        .iter()
        .filter_map(|q| q.files().last())
        .filter(|f| f.wrote() > f.flushed())
        .count()
}

#[test]
fn given_many_queues_written_a_little_should_flush_lazily_and_say_so_but_all_when_few() {
    let dir = tempfile::tempdir().unwrap();
    let q = Quarantine::new(dir.path(), FileIo::default());
    let queues = Arc::new(
        ConsumeQueueStore::open_fresh(&dir.path().join("cq"), 1000, (&FileIo::default(), &q))
            .unwrap(),
    );
    let dispatcher = ConsumeQueueDispatcher::new(Arc::clone(&queues));
    let unit = CqUnit {
        commit_log_offset: 0,
        size: 100,
        tags_code: 0,
    };
    let many = EAGER_DIRTY_FILES + 10;
    for id in 0..i32::try_from(many).unwrap() {
        queues.get_or_create("T", id).unwrap().put(0, unit).unwrap();
    }
    assert!(
        !dispatcher.flush_some().unwrap(),
        "past the eager limit: not complete"
    );
    assert_eq!(
        unflushed(&queues),
        many,
        "a unit each is below the lazy threshold"
    );
    dispatcher.flush().unwrap();
    assert_eq!(unflushed(&queues), 0);
    for id in 0..3 {
        queues.get_or_create("T", id).unwrap().put(1, unit).unwrap();
    }
    assert!(
        dispatcher.flush_some().unwrap(),
        "few dirty files: all flushed"
    );
    assert_eq!(unflushed(&queues), 0);
}

#[test]
fn given_a_queue_that_cannot_be_opened_its_records_should_wait_for_it_not_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let quarantine = Quarantine::new(dir.path(), FileIo::default());
    let files = (&FileIo::default(), &quarantine);
    let log = commit_log(dir.path(), &quarantine);
    // T/0 is listed at start but is a file, not a queue directory: it cannot be opened.
    let broken = dir.path().join("cq").join("T").join("0");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(&broken, b"not a queue").unwrap();
    let clean = QueueRecovery {
        crashed: false,
        commit_log_end: i64::MAX,
    };
    let queues =
        Arc::new(ConsumeQueueStore::open(&dir.path().join("cq"), 1000, files, clean).unwrap());
    let cq = Arc::new(ConsumeQueueDispatcher::new(Arc::clone(&queues)));
    let reput = Reput::new(
        Arc::clone(&log),
        vec![Arc::clone(&cq) as Arc<dyn Dispatcher>],
        0,
        TagsCodeRule::default(),
    );
    assert!(
        queues.get("T", 0).is_none(),
        "a reader met the failure first"
    );
    log.append(&[message("T", 0, b"one")]).unwrap();
    log.append(&[message("T", 0, b"two")]).unwrap();
    reput.run_once().unwrap();
    assert_eq!(cq.deferred_count.load(Ordering::Acquire), 2, "both wait");

    std::fs::remove_file(&broken).unwrap();
    queues.set_open_retry(Duration::ZERO);
    reput.run_once().unwrap();
    assert_eq!(cq.deferred_count.load(Ordering::Acquire), 0);
    assert_eq!(
        queues.get("T", 0).unwrap().max_offset(),
        2,
        "both landed once the queue opened"
    );
}
