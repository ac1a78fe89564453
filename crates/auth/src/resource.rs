//! Resource patterns of policy entries: `Topic:orders` (literal), `Topic:orders*` (prefix),
//! `Topic:*` (every topic) and `*` (everything), as RocketMQ ACL 2.0 spells them.

use std::fmt;

use apogee_model::ResourceKind;

/// What part of the name space an entry covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamePattern {
    Literal(String),
    Prefix(String),
    Any,
}

/// A pattern over resources. `kind == None` is the global `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourcePattern {
    pub kind: Option<ResourceKind>,
    pub name: NamePattern,
}

/// How specific a matching pattern is; the most specific entry decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Specificity {
    Global,
    KindWide,
    Prefix(usize),
    Literal,
}

impl ResourcePattern {
    pub fn literal(kind: ResourceKind, name: impl Into<String>) -> Self {
        Self {
            kind: Some(kind),
            name: NamePattern::Literal(name.into()),
        }
    }

    pub fn any_of(kind: ResourceKind) -> Self {
        Self {
            kind: Some(kind),
            name: NamePattern::Any,
        }
    }

    /// Parses a resource key: `*`, `<Kind>:*`, `<Kind>:<prefix>*` or `<Kind>:<name>`; the kind
    /// is case-insensitive. Only a trailing `*` makes a prefix.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self {
                kind: None,
                name: NamePattern::Any,
            });
        }
        let (kind, name) = text
            .split_once(':')
            .ok_or_else(|| format!("The resource {text} is not <Type>:<name> or *."))?;
        let kind =
            ResourceKind::parse(kind).ok_or_else(|| "The resource type is null.".to_owned())?;
        let name = match name {
            "" => return Err("The resource pattern is null.".into()),
            "*" => NamePattern::Any,
            n if n.len() > 1 && n.ends_with('*') => {
                NamePattern::Prefix(n[..n.len() - 1].to_owned())
            }
            n => NamePattern::Literal(n.to_owned()),
        };
        Ok(Self {
            kind: Some(kind),
            name,
        })
    }

    /// Whether the resource `kind:name` falls under this pattern.
    pub fn matches(&self, kind: ResourceKind, name: &str) -> bool {
        match self.kind {
            None => true,
            Some(k) if k != kind => false,
            Some(_) => match &self.name {
                NamePattern::Any => true,
                NamePattern::Literal(n) => n == name,
                NamePattern::Prefix(p) => name.starts_with(p.as_str()),
            },
        }
    }

    pub fn specificity(&self) -> Specificity {
        match (&self.kind, &self.name) {
            (None, _) => Specificity::Global,
            (Some(_), NamePattern::Any) => Specificity::KindWide,
            (Some(_), NamePattern::Prefix(p)) => Specificity::Prefix(p.len()),
            (Some(_), NamePattern::Literal(_)) => Specificity::Literal,
        }
    }
}

impl fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(kind) = self.kind else {
            return f.write_str("*");
        };
        match &self.name {
            NamePattern::Any => write!(f, "{}:*", kind.as_str()),
            NamePattern::Prefix(p) => write!(f, "{}:{p}*", kind.as_str()),
            NamePattern::Literal(n) => write!(f, "{}:{n}", kind.as_str()),
        }
    }
}

impl serde::Serialize for ResourcePattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ResourcePattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceKind::{Group, Topic};

    #[test]
    fn given_keys_should_parse_match_and_print_back() {
        for key in [
            "*",
            "Topic:*",
            "Topic:orders*",
            "Group:cg",
            "Cluster:DefaultCluster",
        ] {
            assert_eq!(ResourcePattern::parse(key).unwrap().to_string(), key);
        }
        let prefix = ResourcePattern::parse("topic:ord*").unwrap();
        assert!(prefix.matches(Topic, "orders"));
        assert!(!prefix.matches(Topic, "payments"));
        assert!(!prefix.matches(Group, "orders"));
        let mid_star = ResourcePattern::parse("Topic:a*b").unwrap();
        assert!(mid_star.matches(Topic, "a*b") && !mid_star.matches(Topic, "axb"));
        assert!(ResourcePattern::parse("*").unwrap().matches(Group, "x"));
        assert!(ResourcePattern::parse("Queue:x").is_err());
        assert!(ResourcePattern::parse("orders").is_err());
    }

    #[test]
    fn given_patterns_should_rank_literal_over_longer_prefix_over_shorter_over_kind_over_global() {
        let rank = |k: &str| ResourcePattern::parse(k).unwrap().specificity();
        assert!(rank("Topic:orders") > rank("Topic:order*"));
        assert!(rank("Topic:order*") > rank("Topic:o*"));
        assert!(rank("Topic:o*") > rank("Topic:*"));
        assert!(rank("Topic:*") > rank("*"));
    }
}
