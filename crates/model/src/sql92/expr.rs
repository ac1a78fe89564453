//! The compiled form of a filter: a tree of [`Node`]s.
//!
//! The tree keeps the shape RocketMQ's `SelectorParser` builds (left-nested chains of `=`,
//! `IS NULL` and `CONTAINS`), except that a run of `OR`s or `AND`s at one level becomes one
//! n-ary node: `LogicExpression` evaluates left to right with short-circuit, so
//! `(a OR b) OR c` and `OR[a, b, c]` agree on every input, nulls and aborts included.

/// A literal value, converted once at compile time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    /// A decimal literal that fits Java's `int` (`ConstantExpression.createFromDecimal`).
    Int(i32),
    /// A decimal literal beyond `int` but within `long`.
    Long(i64),
    /// A floating literal (`ConstantExpression.createFloat`): finite and not zero.
    Double(f64),
    Str(String),
}

impl Lit {
    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Lit::Int(_) | Lit::Long(_) | Lit::Double(_))
    }
}

/// `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// `CONTAINS`, `STARTSWITH`, `ENDSWITH` (RocketMQ 5.1.3 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl TextOp {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            TextOp::Contains => "CONTAINS",
            TextOp::StartsWith => "STARTSWITH",
            TextOp::EndsWith => "ENDSWITH",
        }
    }

    pub(crate) fn test(self, haystack: &str, needle: &str) -> bool {
        match self {
            TextOp::Contains => haystack.contains(needle),
            TextOp::StartsWith => haystack.starts_with(needle),
            TextOp::EndsWith => haystack.ends_with(needle),
        }
    }
}

/// One node of a compiled filter. The Java class each variant stands for is named in its
/// doc; `negated` variants are the `NOT …` / `<>` forms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// `ConstantExpression` / `BooleanConstantExpression`.
    Lit(Lit),
    /// `PropertyExpression`: a message property, read as a string.
    Prop(String),
    /// `UnaryExpression.createBooleanCast`: a property where a boolean is required.
    BoolCast(Box<Node>),
    /// `UnaryExpression.createNegate` (unary `-`; unary `+` leaves its operand as is).
    Neg(Box<Node>),
    /// `UnaryExpression.createNOT`.
    Not(Box<Node>),
    /// `LogicExpression.createAND`, flattened.
    And(Vec<Node>),
    /// `LogicExpression.createOR`, flattened.
    Or(Vec<Node>),
    /// `ComparisonExpression.createEqual` / `createNotEqual`.
    Eq {
        left: Box<Node>,
        right: Box<Node>,
        negated: bool,
    },
    /// `ComparisonExpression.createIsNull` / `createIsNotNull`.
    IsNull { operand: Box<Node>, negated: bool },
    /// `ComparisonExpression.createGreaterThan` and friends.
    Cmp {
        op: CmpOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    /// `createBetween` (`>= low AND <= high`) / `createNotBetween` (`< low OR > high`).
    Between {
        value: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    /// `UnaryExpression.createInExpression`: a property against string literals.
    In {
        prop: String,
        list: Vec<String>,
        negated: bool,
    },
    /// `ComparisonExpression.ContainsExpression` and its siblings.
    Text {
        op: TextOp,
        value: Box<Node>,
        needle: String,
        negated: bool,
    },
}

impl Node {
    /// Whether Java would build a `BooleanExpression` for this node (what
    /// `asBooleanExpression` and the `>`/`<` operand check look at).
    pub(crate) fn is_boolean(&self) -> bool {
        match self {
            Node::Lit(lit) => matches!(lit, Lit::Null | Lit::Bool(_)),
            Node::Prop(_) | Node::Neg(_) => false,
            _ => true,
        }
    }

    /// Appends the names of the properties this node reads, first appearance first.
    pub(crate) fn collect_properties<'a>(&'a self, out: &mut Vec<&'a str>) {
        let add = |name: &'a str, out: &mut Vec<&'a str>| {
            if !out.contains(&name) {
                out.push(name);
            }
        };
        match self {
            Node::Lit(_) => {}
            Node::Prop(name) | Node::In { prop: name, .. } => add(name, out),
            Node::BoolCast(inner) | Node::Neg(inner) | Node::Not(inner) => {
                inner.collect_properties(out)
            }
            Node::IsNull { operand, .. } => operand.collect_properties(out),
            Node::Text { value, .. } => value.collect_properties(out),
            Node::And(items) | Node::Or(items) => {
                items.iter().for_each(|item| item.collect_properties(out))
            }
            Node::Eq { left, right, .. } | Node::Cmp { left, right, .. } => {
                left.collect_properties(out);
                right.collect_properties(out);
            }
            Node::Between {
                value, low, high, ..
            } => {
                value.collect_properties(out);
                low.collect_properties(out);
                high.collect_properties(out);
            }
        }
    }
}
