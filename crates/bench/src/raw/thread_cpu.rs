//! CPU time of this process's threads of one name, from `/proc/self/task/*/stat` (user +
//! system, in clock ticks of 10 ms: Linux's `USER_HZ` is 100 on every architecture it
//! exports to user space). Precise enough for runs of a second or more.

/// Microseconds per `USER_HZ` tick.
const MICROS_PER_TICK: u64 = 10_000;

/// The summed user + system CPU time, in µs, of the threads named `name` (the kernel keeps
/// the first 15 bytes of a name); `None` without `/proc`.
pub fn threads_cpu_micros(name: &str) -> Option<u64> {
    let wanted = &name.as_bytes()[..name.len().min(15)];
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        if let Some((comm, used)) = parse_stat(&stat)
            && comm.as_bytes() == wanted
        {
            ticks += used;
        }
    }
    Some(ticks * MICROS_PER_TICK)
}

/// A thread's name and its user + system ticks from its `stat` line.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    // After the name: state (field 3) … utime (field 14), stime (field 15).
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_stat_line_with_spaces_and_parens_in_the_name_should_read_name_and_ticks() {
        let line = "4242 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 17 5 0 0 20 0 1 0 100 0 0";
        assert_eq!(parse_stat(line), Some(("a (b) c", 22)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1"), None, "too short");
    }

    #[test]
    fn given_a_busy_named_thread_should_count_its_cpu_time() {
        let handle = std::thread::Builder::new()
            .name("apogee-cpu-test".into())
            .spawn(|| {
                let started = std::time::Instant::now();
                let mut x = 0u64;
                while started.elapsed() < std::time::Duration::from_millis(200) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                threads_cpu_micros("apogee-cpu-test")
            })
            .unwrap();
        let used = handle.join().unwrap();
        if cfg!(target_os = "linux") {
            assert!(used.unwrap() > 0, "200 ms of spinning shows");
        }
    }
}
