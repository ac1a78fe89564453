//! Source-address rules: ACL 2.0 `sourceIps` (exact addresses and CIDR blocks, IPv4 and IPv6)
//! and ACL 1.0 white-address patterns (`192.168.*.*`, `10.10.1-10.*`, `10.0.0.{1,2}`,
//! comma lists, `*`).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// One rule an address can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpRule {
    /// Every address.
    Any,
    Exact(IpAddr),
    Block(IpNet),
    /// An IPv4 pattern with, per octet, an inclusive range (`*` is 0–255).
    Octets([(u8, u8); 4]),
}

impl IpRule {
    /// Parses an ACL 2.0 `sourceIps` item: an address or a CIDR block.
    pub fn parse_source_ip(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::Exact(ip));
        }
        text.parse::<IpNet>()
            .map(Self::Block)
            .map_err(|_| "The source ip is invalid.".to_owned())
    }

    /// Parses an ACL 1.0 white-address pattern into the rules it stands for.
    pub fn parse_white_address(text: &str) -> Result<Vec<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(vec![Self::Any]);
        }
        if let (Some(open), true) = (text.find('{'), text.ends_with('}')) {
            let base = &text[..open];
            return text[open + 1..text.len() - 1]
                .split(',')
                .map(|last| Self::parse_one(&format!("{base}{}", last.trim())))
                .collect();
        }
        text.split(',')
            .map(|one| Self::parse_one(one.trim()))
            .collect()
    }

    fn parse_one(text: &str) -> Result<Self, String> {
        if let Ok(rule) = Self::parse_source_ip(text) {
            return Ok(rule);
        }
        let bad =
            || format!("white address {text} is neither an address, a CIDR block nor a pattern");
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 4 {
            return Err(bad());
        }
        let mut octets = [(0u8, 255u8); 4];
        for (slot, part) in octets.iter_mut().zip(parts) {
            *slot = match part.split_once('-') {
                _ if part == "*" => (0, 255),
                Some((lo, hi)) => (
                    lo.parse().map_err(|_| bad())?,
                    hi.parse().map_err(|_| bad())?,
                ),
                None => {
                    let v = part.parse().map_err(|_| bad())?;
                    (v, v)
                }
            };
            if slot.0 > slot.1 {
                return Err(bad());
            }
        }
        Ok(Self::Octets(octets))
    }

    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            Self::Any => true,
            Self::Exact(want) => canonical(*want) == ip,
            Self::Block(net) => net.contains(&ip),
            Self::Octets(ranges) => match ip {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(ranges)
                    .all(|(o, (lo, hi))| (lo..=hi).contains(&o)),
                IpAddr::V6(_) => false,
            },
        }
    }
}

/// IPv4 addresses that reach a dual-stack socket as `::ffff:a.b.c.d` compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(ip, |v4: Ipv4Addr| IpAddr::V4(v4)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn given_source_ips_should_match_exact_addresses_and_blocks_of_both_families() {
        let block = IpRule::parse_source_ip("10.0.0.0/8").unwrap();
        assert!(block.matches(ip("10.1.2.3")) && !block.matches(ip("11.0.0.1")));
        assert!(block.matches(ip("::ffff:10.9.9.9")));
        let v6 = IpRule::parse_source_ip("fd00::/8").unwrap();
        assert!(v6.matches(ip("fd12::1")) && !v6.matches(ip("fe80::1")));
        assert!(
            IpRule::parse_source_ip("127.0.0.1")
                .unwrap()
                .matches(ip("127.0.0.1"))
        );
        assert!(IpRule::parse_source_ip("10.0.0.300").is_err());
    }

    #[test]
    fn given_acl_1_patterns_should_match_stars_ranges_braces_and_lists() {
        let m = |pattern: &str, addr: &str| {
            IpRule::parse_white_address(pattern)
                .unwrap()
                .iter()
                .any(|r| r.matches(ip(addr)))
        };
        assert!(m("192.168.*.*", "192.168.4.5"));
        assert!(!m("192.168.*.*", "192.169.4.5"));
        assert!(m("10.10.1-10.*", "10.10.7.200"));
        assert!(!m("10.10.1-10.*", "10.10.11.1"));
        assert!(m("10.0.0.{1,2}", "10.0.0.2") && !m("10.0.0.{1,2}", "10.0.0.3"));
        assert!(m("1.1.1.1,2.2.2.2", "2.2.2.2"));
        assert!(m("*", "8.8.8.8"));
        assert!(IpRule::parse_white_address("").unwrap().is_empty());
        assert!(IpRule::parse_white_address("10.x.0.1").is_err());
        assert!(IpRule::parse_white_address("10.9-1.0.1").is_err());
    }
}
