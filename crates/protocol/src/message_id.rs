//! Message identifiers (REMOTING.md §5): the server's offsetMsgId (store host + physical
//! offset) and the client's UNIQ_KEY. Both are upper-case hex.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// offsetMsgId: hex of store-host IP · port (i32) · physical offset (i64).
pub fn offset_msg_id(store_host: SocketAddr, physical_offset: i64) -> String {
    let mut bytes = ip_bytes(store_host.ip());
    bytes.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    bytes.extend_from_slice(&physical_offset.to_be_bytes());
    hex_upper(&bytes)
}

/// Decodes an offsetMsgId into (store host, physical offset). 32 characters is IPv4,
/// 56 is IPv6; anything else is refused.
pub fn decode_offset_msg_id(id: &str) -> Option<(SocketAddr, i64)> {
    let bytes = unhex(id)?;
    let (ip, rest): (IpAddr, &[u8]) = match bytes.len() {
        16 => (
            IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&bytes[..4]).ok()?)),
            &bytes[4..],
        ),
        28 => (
            IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..16]).ok()?)),
            &bytes[16..],
        ),
        _ => return None,
    };
    let port = i32::from_be_bytes(rest[..4].try_into().ok()?);
    let offset = i64::from_be_bytes(rest[4..12].try_into().ok()?);
    Some((SocketAddr::new(ip, u16::try_from(port).ok()?), offset))
}

/// Generates UNIQ_KEYs: a fixed per-process prefix (IP, PID, a per-process random standing in
/// for Java's class-loader hash) then the ms since the start of the month and a counter.
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: Vec<u8>,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// `random` stands in for Java's class-loader hash: any per-process value.
    pub fn new(ip: IpAddr, pid: u32, random: i32) -> Self {
        let mut prefix = ip_bytes(ip);
        prefix.extend_from_slice(&(pid as u16).to_be_bytes());
        prefix.extend_from_slice(&random.to_be_bytes());
        Self {
            prefix,
            counter: AtomicU16::new(0),
        }
    }

    /// A new id; `ms_since_month_start` comes from the caller's clock.
    pub fn next(&self, ms_since_month_start: i64) -> String {
        let mut bytes = self.prefix.clone();
        bytes.extend_from_slice(&(ms_since_month_start as i32).to_be_bytes());
        bytes.extend_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        hex_upper(&bytes)
    }
}

/// Milliseconds since the start of the UTC month containing `now_ms`.
pub fn ms_since_month_start(now_ms: i64) -> i64 {
    let days = now_ms.div_euclid(86_400_000);
    // Day of month from the civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day_of_month = doy - (153 * mp + 2) / 5 + 1;
    (day_of_month - 1) * 86_400_000 + now_ms.rem_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_ipv4_store_host_should_encode_32_hex_chars_and_decode_back() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let id = offset_msg_id(host, 4242);
        assert_eq!(id, "7F00000100002A9F0000000000001092");
        assert_eq!(decode_offset_msg_id(&id), Some((host, 4242)));
        let v6: SocketAddr = "[fe80::1]:10911".parse().unwrap();
        let id6 = offset_msg_id(v6, 1);
        assert_eq!(id6.len(), 56);
        assert_eq!(decode_offset_msg_id(&id6), Some((v6, 1)));
        assert_eq!(decode_offset_msg_id("XYZ"), None);
        assert_eq!(decode_offset_msg_id("7F00000100002A9F00000000000010"), None);
    }

    #[test]
    fn given_generator_should_make_distinct_upper_hex_ids_with_a_fixed_prefix() {
        let generator = UniqIdGenerator::new("10.0.0.7".parse().unwrap(), 0x1_2345, -1);
        let a = generator.next(1_000);
        let b = generator.next(1_000);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(&a[..20], &b[..20], "ip + pid + random prefix");
        assert!(a.starts_with("0A0000072345FFFFFFFF000003E8"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }

    #[test]
    fn given_times_should_count_ms_from_the_month_start() {
        assert_eq!(ms_since_month_start(0), 0);
        // 2023-11-14T22:13:20Z is 13 days 22:13:20 into November.
        assert_eq!(
            ms_since_month_start(1_700_000_000_000),
            13 * 86_400_000 + 80_000_000
        );
    }
}
