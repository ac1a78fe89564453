//! Evaluation of a compiled filter against one message, with RocketMQ's three-valued logic.
//!
//! A boolean node yields `Ok(Some(true))`, `Ok(Some(false))`, `Ok(None)` (SQL unknown, Java
//! `null`), or `Err(Abort)` when Java would have thrown; an abort ends the whole evaluation
//! and the message does not match (`ExpressionMessageFilter.isMatchedByCommitLog`). Nothing
//! here allocates: values borrow from the tree or from the property lookup.

use std::iter;

use super::compare::{Abort, Value, java_compare, java_double};
use super::expr::{CmpOp, Lit, Node};

type Tri = Result<Option<bool>, Abort>;

/// Reads message properties; `None` when the message has no such property.
pub(crate) type Lookup<'l, 'v> = &'l dyn Fn(&str) -> Option<&'v str>;

/// Whether `root` evaluates to TRUE.
pub(crate) fn matches<'v>(root: &Node, lookup: Lookup<'_, 'v>) -> bool {
    eval_bool(root, lookup) == Ok(Some(true))
}

/// The value of any node; boolean nodes become `Bool` or `Null`.
fn eval_value<'a, 'v: 'a>(node: &'a Node, lookup: Lookup<'_, 'v>) -> Result<Value<'a>, Abort> {
    let value = match node {
        Node::Lit(lit) => match lit {
            Lit::Null => Value::Null,
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Int(i) => Value::Int(*i),
            Lit::Long(l) => Value::Long(*l),
            Lit::Double(d) => Value::Double(*d),
            Lit::Str(s) => Value::Str(s),
        },
        Node::Prop(name) => lookup(name).map_or(Value::Null, Value::Str),
        // `UnaryExpression.createNegate`: numbers only, anything else is null.
        Node::Neg(inner) => match eval_value(inner, lookup)? {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Long(l) => Value::Long(l.wrapping_neg()),
            Value::Double(d) => Value::Double(-d),
            _ => Value::Null,
        },
        _ => eval_bool(node, lookup)?.map_or(Value::Null, Value::Bool),
    };
    Ok(value)
}

/// The three-valued result of a boolean node.
fn eval_bool<'v>(node: &Node, lookup: Lookup<'_, 'v>) -> Tri {
    match node {
        Node::Lit(Lit::Bool(b)) => Ok(Some(*b)),
        Node::Lit(Lit::Null) => Ok(None),
        // `createBooleanCast`: null stays null, a non-Boolean (every string) is FALSE.
        Node::BoolCast(inner) => Ok(match eval_value(inner, lookup)? {
            Value::Null => None,
            Value::Bool(b) => Some(b),
            _ => Some(false),
        }),
        Node::Not(inner) => Ok(eval_bool(inner, lookup)?.map(|b| !b)),
        Node::And(items) => all(items.iter().map(|item| eval_bool(item, lookup))),
        Node::Or(items) => any(items.iter().map(|item| eval_bool(item, lookup))),
        Node::Eq {
            left,
            right,
            negated,
        } => Ok(
            equal(eval_value(left, lookup)?, eval_value(right, lookup)?)?.map(|eq| eq != *negated),
        ),
        Node::IsNull { operand, negated } => {
            let is_null = eval_value(operand, lookup)? == Value::Null;
            Ok(Some(is_null != *negated))
        }
        Node::Cmp { op, left, right } => ordered(*op, left, right, lookup),
        Node::Between {
            value,
            low,
            high,
            negated,
        } => {
            let (low_op, high_op) = if *negated {
                (CmpOp::Lt, CmpOp::Gt)
            } else {
                (CmpOp::Ge, CmpOp::Le)
            };
            let checks = iter::once_with(|| ordered(low_op, value, low, lookup))
                .chain(iter::once_with(|| ordered(high_op, value, high, lookup)));
            if *negated { any(checks) } else { all(checks) }
        }
        // `createInExpression`: null (absent) stays null.
        Node::In {
            prop,
            list,
            negated,
        } => Ok(lookup(prop).map(|value| list.iter().any(|item| item == value) != *negated)),
        // `ContainsExpression` & co: an empty needle, a null or a non-string is FALSE, for
        // the NOT forms too.
        Node::Text {
            op,
            value,
            needle,
            negated,
        } => {
            if needle.is_empty() {
                return Ok(Some(false));
            }
            Ok(Some(match eval_value(value, lookup)? {
                Value::Str(s) => op.test(s, needle) != *negated,
                _ => false,
            }))
        }
        // Not boolean: the parser never puts these where a boolean is read; Java would
        // fail its `(Boolean)` cast.
        Node::Lit(_) | Node::Prop(_) | Node::Neg(_) => Err(Abort),
    }
}

/// `LogicExpression.createAND` over a run: the first FALSE wins (later items are not
/// evaluated), else any unknown makes the result unknown.
fn all(items: impl Iterator<Item = Tri>) -> Tri {
    let mut unknown = false;
    for item in items {
        match item? {
            Some(false) => return Ok(Some(false)),
            Some(true) => {}
            None => unknown = true,
        }
    }
    Ok((!unknown).then_some(true))
}

/// `LogicExpression.createOR` over a run: the first TRUE wins, else unknown if any was.
fn any(items: impl Iterator<Item = Tri>) -> Tri {
    let mut unknown = false;
    for item in items {
        match item? {
            Some(true) => return Ok(Some(true)),
            Some(false) => {}
            None => unknown = true,
        }
    }
    Ok((!unknown).then_some(false))
}

/// `doCreateEqual`: both null is TRUE, a null left is unknown, a null right is FALSE.
fn equal(left: Value<'_>, right: Value<'_>) -> Tri {
    match (left, right) {
        (Value::Null, Value::Null) => Ok(Some(true)),
        (Value::Null, _) => Ok(None),
        (_, Value::Null) => Ok(Some(false)),
        _ => Ok(Some(java_compare(left, right)?.is_eq())),
    }
}

/// `ComparisonExpression.evaluate` for `>`, `>=`, `<`, `<=`: null on either side is unknown;
/// two strings must both parse as doubles (else abort); other kinds go through
/// [`java_compare`].
fn ordered<'v>(op: CmpOp, left: &Node, right: &Node, lookup: Lookup<'_, 'v>) -> Tri {
    let lv = eval_value(left, lookup)?;
    if lv == Value::Null {
        return Ok(None);
    }
    let rv = eval_value(right, lookup)?;
    if rv == Value::Null {
        return Ok(None);
    }
    let order = match (lv, rv) {
        (Value::Str(l), Value::Str(r)) => java_compare(
            Value::Double(java_double(l)?),
            Value::Double(java_double(r)?),
        )?,
        _ => java_compare(lv, rv)?,
    };
    Ok(Some(match op {
        CmpOp::Gt => order.is_gt(),
        CmpOp::Ge => order.is_ge(),
        CmpOp::Lt => order.is_lt(),
        CmpOp::Le => order.is_le(),
    }))
}
