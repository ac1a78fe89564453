//! Recursive descent over RocketMQ's `SelectorParser.jj` grammar:
//!
//! ```text
//! selector   := or                                  (must be boolean)
//! or         := and ( OR and )*
//! and        := equality ( AND equality )*
//! equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//! comparison := unary ( ('>'|'>='|'<'|'<=') unary
//!                     | [NOT] (CONTAINS|STARTSWITH|ENDSWITH) string
//!                     | [NOT] BETWEEN unary AND unary
//!                     | [NOT] IN '(' string (',' string)* ')' )*
//! unary      := '+' unary | '-' unary | NOT unary | primary
//! primary    := literal | identifier | '(' or ')'
//! ```
//!
//! So NOT binds tighter than every comparison (`NOT a = 'x'` is `(NOT a) = 'x'`), `=`/`<>`
//! bind looser than `>`/BETWEEN/IN, and, like Java (which has no end-of-input rule), the
//! parser stops after the first complete expression and ignores the tokens after it.
//! Recursion is bounded by [`MAX_NESTING`] and the tree height by [`MAX_TREE_HEIGHT`].

use super::checks::{
    as_boolean, check_between, check_equal, check_ordered, decimal_literal, float_literal,
    in_target,
};
use super::expr::{CmpOp, Lit, Node, TextOp};
use super::lexer::{Kind, Lexer, Token, char_number, describe};
use super::{MAX_IN_ITEMS, MAX_NESTING, MAX_TREE_HEIGHT, SqlError};

/// A parsed sub-expression and the height of its tree.
type Sub = (Node, usize);

pub(crate) fn parse(text: &str) -> Result<Node, SqlError> {
    let mut parser = Parser {
        text,
        lexer: Lexer::new(text),
        ahead: Vec::with_capacity(2),
        nesting: 0,
    };
    if parser.peek()?.kind == Kind::Eof {
        return Err(SqlError::new("the filter is empty".to_owned()));
    }
    let (node, _) = parser.or()?;
    as_boolean(node).map_err(|why| SqlError::new(format!("{why} (the whole filter)")))
}

struct Parser<'t> {
    text: &'t str,
    lexer: Lexer<'t>,
    /// Tokens lexed but not consumed yet (at most two).
    ahead: Vec<Token<'t>>,
    /// Open parentheses and prefix operators around the current position.
    nesting: usize,
}

impl<'t> Parser<'t> {
    fn fill(&mut self, count: usize) -> Result<(), SqlError> {
        while self.ahead.len() < count {
            let token = self.lexer.next_token()?;
            self.ahead.push(token);
        }
        Ok(())
    }

    fn peek(&mut self) -> Result<&Token<'t>, SqlError> {
        self.fill(1)?;
        Ok(&self.ahead[0])
    }

    fn peek2(&mut self) -> Result<&Token<'t>, SqlError> {
        self.fill(2)?;
        Ok(&self.ahead[1])
    }

    fn bump(&mut self) -> Result<Token<'t>, SqlError> {
        self.fill(1)?;
        Ok(self.ahead.remove(0))
    }

    fn error_at(&self, token: &Token<'_>, why: &str) -> SqlError {
        SqlError::new(format!(
            "{why} (at {}, character {})",
            describe(self.text, token),
            char_number(self.text, token.start)
        ))
    }

    fn unexpected(&self, token: &Token<'_>, expected: &str) -> SqlError {
        SqlError::new(format!(
            "unexpected {} at character {}; expected {expected}",
            describe(self.text, token),
            char_number(self.text, token.start)
        ))
    }

    fn expect(&mut self, kind: Kind<'static>, expected: &str) -> Result<Token<'t>, SqlError> {
        let token = self.bump()?;
        if token.kind == kind {
            Ok(token)
        } else {
            Err(self.unexpected(&token, expected))
        }
    }

    fn string(&mut self, after: &str) -> Result<String, SqlError> {
        let token = self.bump()?;
        match token.kind {
            Kind::Str(value) => Ok(value.into_owned()),
            _ => Err(self.unexpected(&token, &format!("a string literal after {after}"))),
        }
    }

    /// Fails when a node of this height would be too tall.
    fn check_height(&self, height: usize, at: &Token<'_>) -> Result<usize, SqlError> {
        if height > MAX_TREE_HEIGHT {
            let why = format!("the expression nests deeper than {MAX_TREE_HEIGHT} levels");
            return Err(self.error_at(at, &why));
        }
        Ok(height)
    }

    /// Enters one level of parentheses or prefix operators.
    fn enter(&mut self, at: &Token<'_>) -> Result<(), SqlError> {
        if self.nesting >= MAX_NESTING {
            let why = format!("parentheses, NOT and signs nest deeper than {MAX_NESTING} levels");
            return Err(self.error_at(at, &why));
        }
        self.nesting += 1;
        Ok(())
    }

    /// [`as_boolean`] with the height of its result (a cast adds a level).
    fn boolean(&self, (node, height): Sub, at: &Token<'_>) -> Result<Sub, SqlError> {
        let cast = matches!(node, Node::Prop(_));
        let node = as_boolean(node).map_err(|why| self.error_at(at, &why))?;
        Ok((node, height + usize::from(cast)))
    }

    fn or(&mut self) -> Result<Sub, SqlError> {
        self.logic(Kind::Or)
    }

    /// A run of ORs (`kind` = OR) over ANDs, or of ANDs (`kind` = AND) over equalities.
    fn logic(&mut self, kind: Kind<'static>) -> Result<Sub, SqlError> {
        let operand = |parser: &mut Self| {
            if kind == Kind::Or {
                parser.logic(Kind::And)
            } else {
                parser.equality()
            }
        };
        let first = operand(self)?;
        if self.peek()?.kind != kind {
            return Ok(first);
        }
        let first_op = self.peek()?.clone();
        let (first, mut height) = self.boolean(first, &first_op)?;
        let mut items = vec![first];
        while self.peek()?.kind == kind {
            let op = self.bump()?;
            let right = operand(self)?;
            let (right, right_height) = self.boolean(right, &op)?;
            items.push(right);
            height = height.max(right_height);
        }
        let height = self.check_height(height + 1, &first_op)?;
        Ok((
            if kind == Kind::Or {
                Node::Or(items)
            } else {
                Node::And(items)
            },
            height,
        ))
    }

    fn equality(&mut self) -> Result<Sub, SqlError> {
        let (mut left, mut height) = self.comparison()?;
        loop {
            let op = self.peek()?.clone();
            let node = match op.kind {
                Kind::Eq | Kind::Ne => {
                    self.bump()?;
                    let (right, right_height) = self.comparison()?;
                    check_equal(&left, &right).map_err(|why| self.error_at(&op, &why))?;
                    height = height.max(right_height);
                    Node::Eq {
                        left: Box::new(left),
                        right: Box::new(right),
                        negated: op.kind == Kind::Ne,
                    }
                }
                Kind::Is => {
                    self.bump()?;
                    let negated = self.peek()?.kind == Kind::Not;
                    if negated {
                        self.bump()?;
                    }
                    self.expect(Kind::Null, "NULL after IS or IS NOT")?;
                    Node::IsNull {
                        operand: Box::new(left),
                        negated,
                    }
                }
                _ => return Ok((left, height)),
            };
            height = self.check_height(height + 1, &op)?;
            left = node;
        }
    }

    fn comparison(&mut self) -> Result<Sub, SqlError> {
        let (mut left, mut height) = self.unary()?;
        loop {
            let op = self.peek()?.clone();
            let negated = op.kind == Kind::Not;
            let kind = if negated {
                self.peek2()?.kind.clone()
            } else {
                op.kind.clone()
            };
            let (node, right_height) = match kind {
                Kind::Gt | Kind::Ge | Kind::Lt | Kind::Le if !negated => {
                    self.bump()?;
                    self.ordered(left, &op)?
                }
                Kind::Contains | Kind::StartsWith | Kind::EndsWith => {
                    self.bump_n(1 + usize::from(negated))?;
                    (self.text_match(left, &kind, negated)?, 0)
                }
                Kind::Between => {
                    self.bump_n(1 + usize::from(negated))?;
                    self.between(left, negated, &op)?
                }
                Kind::In => {
                    self.bump_n(1 + usize::from(negated))?;
                    (self.in_list(left, negated, &op)?, 0)
                }
                _ if negated => {
                    let after = self.peek2()?.clone();
                    let expected = "CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN after NOT";
                    return Err(self.unexpected(&after, expected));
                }
                _ => return Ok((left, height)),
            };
            height = self.check_height(height.max(right_height) + 1, &op)?;
            left = node;
        }
    }

    fn bump_n(&mut self, count: usize) -> Result<(), SqlError> {
        for _ in 0..count {
            self.bump()?;
        }
        Ok(())
    }

    fn ordered(&mut self, left: Node, op: &Token<'t>) -> Result<Sub, SqlError> {
        let (right, right_height) = self.unary()?;
        for side in [&left, &right] {
            check_ordered(side).map_err(|why| self.error_at(op, &why))?;
        }
        let op = match op.kind {
            Kind::Gt => CmpOp::Gt,
            Kind::Ge => CmpOp::Ge,
            Kind::Lt => CmpOp::Lt,
            _ => CmpOp::Le,
        };
        let node = Node::Cmp {
            op,
            left: Box::new(left),
            right: Box::new(right),
        };
        Ok((node, right_height))
    }

    fn text_match(
        &mut self,
        value: Node,
        kind: &Kind<'_>,
        negated: bool,
    ) -> Result<Node, SqlError> {
        let op = match kind {
            Kind::Contains => TextOp::Contains,
            Kind::StartsWith => TextOp::StartsWith,
            _ => TextOp::EndsWith,
        };
        let needle = self.string(op.keyword())?;
        Ok(Node::Text {
            op,
            value: Box::new(value),
            needle,
            negated,
        })
    }

    fn between(&mut self, value: Node, negated: bool, op: &Token<'t>) -> Result<Sub, SqlError> {
        let (low, low_height) = self.unary()?;
        self.expect(Kind::And, "AND between the bounds of BETWEEN")?;
        let (high, high_height) = self.unary()?;
        let checked = if negated {
            [&value, &low, &high]
                .into_iter()
                .try_for_each(check_ordered)
        } else {
            check_between(&value, &low, &high)
        };
        checked.map_err(|why| self.error_at(op, &why))?;
        let node = Node::Between {
            value: Box::new(value),
            low: Box::new(low),
            high: Box::new(high),
            negated,
        };
        Ok((node, low_height.max(high_height)))
    }

    fn in_list(&mut self, target: Node, negated: bool, op: &Token<'t>) -> Result<Node, SqlError> {
        let prop = in_target(target).map_err(|why| self.error_at(op, &why))?;
        self.expect(Kind::LParen, "'(' after IN")?;
        let mut list = vec![self.string("IN (")?];
        loop {
            let token = self.bump()?;
            match token.kind {
                Kind::Comma if list.len() >= MAX_IN_ITEMS => {
                    let why = format!("an IN list may hold at most {MAX_IN_ITEMS} strings");
                    return Err(self.error_at(&token, &why));
                }
                Kind::Comma => list.push(self.string("',' in an IN list")?),
                Kind::RParen => break,
                _ => return Err(self.unexpected(&token, "',' or ')' in an IN list")),
            }
        }
        Ok(Node::In {
            prop,
            list,
            negated,
        })
    }

    fn unary(&mut self) -> Result<Sub, SqlError> {
        let token = self.peek()?.clone();
        if !matches!(token.kind, Kind::Plus | Kind::Minus | Kind::Not) {
            return self.primary();
        }
        self.bump()?;
        self.enter(&token)?;
        let inner = self.unary();
        self.nesting -= 1;
        let (inner, height) = match token.kind {
            Kind::Plus => return inner,
            Kind::Minus => inner?,
            _ => self.boolean(inner?, &token)?,
        };
        let node = if token.kind == Kind::Minus {
            Node::Neg(Box::new(inner))
        } else {
            Node::Not(Box::new(inner))
        };
        Ok((node, self.check_height(height + 1, &token)?))
    }

    fn primary(&mut self) -> Result<Sub, SqlError> {
        let token = self.bump()?;
        let lit = match token.kind {
            Kind::Str(value) => Lit::Str(value.into_owned()),
            Kind::Decimal(text) => {
                decimal_literal(text).map_err(|why| self.error_at(&token, &why))?
            }
            Kind::Float(text) => float_literal(text).map_err(|why| self.error_at(&token, &why))?,
            Kind::True => Lit::Bool(true),
            Kind::False => Lit::Bool(false),
            Kind::Null => Lit::Null,
            Kind::Id(name) => return Ok((Node::Prop(name.to_owned()), 1)),
            Kind::LParen => {
                self.enter(&token)?;
                let inner = self.or();
                self.nesting -= 1;
                let inner = inner?;
                self.expect(Kind::RParen, "')'")?;
                return Ok(inner);
            }
            _ => {
                let expected = "a value, a property name, NOT, a sign or '('";
                return Err(self.unexpected(&token, expected));
            }
        };
        Ok((Node::Lit(lit), 1))
    }
}
