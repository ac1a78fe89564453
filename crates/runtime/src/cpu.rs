//! The process's own CPU time, for figures such as "broker CPU per message".

/// User plus system CPU time this process has used, in microseconds (all threads; from
/// `/proc/self/stat`, so at the kernel's clock-tick resolution, usually 10 ms). `None` where
/// there is no procfs.
pub fn process_cpu_micros() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_micros_of(&stat, rustix::param::clock_ticks_per_second())
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in microseconds. The
/// command name (field 2) is in parentheses and may hold spaces: fields are counted after its
/// closing one.
pub fn cpu_micros_of(stat: &str, ticks_per_second: u64) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks = user.checked_add(system)?;
    ticks.checked_mul(1_000_000)?.checked_div(ticks_per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_stat_line_with_spaces_in_the_name_should_sum_user_and_system_time() {
        let line =
            "4242 (apogee (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 1 2 3";
        assert_eq!(cpu_micros_of(line, 100), Some(3_250_000));
        assert_eq!(cpu_micros_of("garbage", 100), None);
        assert!(process_cpu_micros().is_some());
    }
}
