//! Java properties text (`k=v` lines), used by GET/UPDATE_NAMESRV_CONFIG and broker config.

use std::collections::BTreeMap;

/// Renders `key=value\n` lines in key order.
pub fn render(entries: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in entries {
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        out.push('\n');
    }
    out
}

/// Parses properties text: `#`/`!` comments, blank lines, `=` or `:` separators, trimmed keys.
/// Returns the offending line when one has no key.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (key, value) = match line.find(['=', ':']) {
            Some(at) => (line[..at].trim(), line[at + 1..].trim()),
            None => (line, ""),
        };
        if key.is_empty() {
            return Err(line.to_owned());
        }
        out.insert(key.to_owned(), value.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_properties_text_when_parsed_and_rendered_should_round_trip() {
        let parsed = parse("# c\nlistenPort = 9876\n\norderMessageEnable:true\nempty\n").unwrap();
        assert_eq!(parsed["listenPort"], "9876");
        assert_eq!(parsed["orderMessageEnable"], "true");
        assert_eq!(parsed["empty"], "");
        assert_eq!(parse(&render(&parsed)).unwrap(), parsed);
        assert!(parse("=x").is_err());
    }
}
