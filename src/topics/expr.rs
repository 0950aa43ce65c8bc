//! The boolean expressions that define a topic over concept scores.
//!
//! Grammar (keywords are case-insensitive):
//!
//! ```text
//! expr  := and ("OR" and)*
//! and   := unary ("AND" unary)*
//! unary := "NOT" unary | "(" expr ")" | cmp
//! cmp   := sum [(">=" | ">" | "<=" | "<" | "=" | "!=") sum]
//! sum   := value (("+" | "-") value)*
//! value := NUMBER | CONCEPT | "near" "(" CONCEPT "," CONCEPT "," NUMBER ")"
//! ```
//!
//! A concept's value is its score in the document (headline weight if the
//! headline mentions it, plus one per body paragraph that does); `near(a, b, n)`
//! scores the same way the headline and paragraphs in which a term of `a` and a
//! term of `b` stand within `n` words. A bare sum is true when it is at least 1.

use thiserror::Error;

/// How deeply parentheses and NOTs may nest.
const MAX_DEPTH: usize = 32;

/// Why an expression did not parse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExprError {
    #[error("unknown concept `{0}`")]
    UnknownConcept(String),
    #[error("unexpected {found} at character {at}, expected {expected}")]
    Unexpected {
        found: String,
        at: usize,
        expected: &'static str,
    },
    #[error("number `{0}` is out of range")]
    Number(String),
    #[error("nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
}

/// Concept scores of one document, as an expression sees them.
pub trait Scores {
    /// The score of concept `id`.
    fn concept(&self, id: usize) -> i64;
    /// The score of the sections where concepts `a` and `b` occur within `window` words.
    fn near(&self, a: usize, b: usize, window: u32) -> i64;
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Sum, Op, Sum),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

/// Signed values added up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sum(Vec<(i64, Value)>);

/// One operand of a sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Number(i64),
    Concept(usize),
    Near(usize, usize, u32),
}

impl Expr {
    /// Parses `text`, resolving concept names with `resolve`.
    pub fn parse(text: &str, resolve: &dyn Fn(&str) -> Option<usize>) -> Result<Expr, ExprError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            resolve,
            depth: 0,
        };
        let expr = parser.or()?;
        parser.expect_end()?;
        Ok(expr)
    }

    /// Evaluates the expression against a document's scores.
    pub fn eval(&self, scores: &dyn Scores) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.eval(scores)),
            Expr::And(items) => items.iter().all(|e| e.eval(scores)),
            Expr::Not(inner) => !inner.eval(scores),
            Expr::Cmp(left, op, right) => compare(left.eval(scores), *op, right.eval(scores)),
        }
    }

    /// The concepts the expression mentions, in order of first use.
    pub fn concepts(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Or(items) | Expr::And(items) => items.iter().for_each(|e| e.concepts(out)),
            Expr::Not(inner) => inner.concepts(out),
            Expr::Cmp(left, _, right) => {
                left.concepts(out);
                right.concepts(out);
            }
        }
    }
}

impl Sum {
    fn eval(&self, scores: &dyn Scores) -> i64 {
        self.0.iter().fold(0i64, |acc, (sign, value)| {
            let v = match value {
                Value::Number(n) => *n,
                Value::Concept(id) => scores.concept(*id),
                Value::Near(a, b, window) => scores.near(*a, *b, *window),
            };
            acc.saturating_add(sign.saturating_mul(v))
        })
    }

    fn concepts(&self, out: &mut Vec<usize>) {
        for (_, value) in &self.0 {
            let ids: &[usize] = match value {
                Value::Number(_) => &[],
                Value::Concept(id) => std::slice::from_ref(id),
                Value::Near(a, b, _) => &[*a, *b],
            };
            for id in ids {
                if !out.contains(id) {
                    out.push(*id);
                }
            }
        }
    }
}

fn compare(left: i64, op: Op, right: i64) -> bool {
    match op {
        Op::Ge => left >= right,
        Op::Gt => left > right,
        Op::Le => left <= right,
        Op::Lt => left < right,
        Op::Eq => left == right,
        Op::Ne => left != right,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Number(String),
    Sym(&'static str),
}

/// Cuts the text into words, numbers and symbols, each with its character offset.
fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    const SYMBOLS: [&str; 12] = [
        ">=", "<=", "!=", "==", ">", "<", "=", "+", "-", "(", ")", ",",
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            i = run_end(&chars, i, |c| c.is_ascii_digit());
            tokens.push((start, Tok::Number(chars[start..i].iter().collect())));
        } else if c.is_alphabetic() || c == '_' {
            i = run_end(&chars, i, |c| c.is_alphanumeric() || c == '_' || c == '-');
            tokens.push((start, Tok::Word(chars[start..i].iter().collect())));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let sym = SYMBOLS
                .iter()
                .find(|s| rest.starts_with(**s))
                .ok_or_else(|| ExprError::Unexpected {
                    found: format!("`{c}`"),
                    at: start,
                    expected: "a concept, number, operator or parenthesis",
                })?;
            i += sym.len();
            tokens.push((start, Tok::Sym(if *sym == "==" { "=" } else { sym })));
        }
    }
    Ok(tokens)
}

fn run_end(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    from + chars[from..].iter().take_while(|c| keep(**c)).count()
}

struct Parser<'a> {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    resolve: &'a dyn Fn(&str) -> Option<usize>,
    depth: usize,
}

impl Parser<'_> {
    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.and()?];
        while self.eat_keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary()?];
        while self.eat_keyword("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::TooDeep);
        }
        let result = if self.eat_keyword("not") {
            self.unary().map(|e| Expr::Not(Box::new(e)))
        } else if self.eat_sym("(") {
            let inner = self.or()?;
            self.expect_sym(")").map(|_| inner)
        } else {
            self.cmp()
        };
        self.depth -= 1;
        result
    }

    fn cmp(&mut self) -> Result<Expr, ExprError> {
        let left = self.sum()?;
        let ops = [
            (">=", Op::Ge),
            (">", Op::Gt),
            ("<=", Op::Le),
            ("<", Op::Lt),
            ("=", Op::Eq),
            ("!=", Op::Ne),
        ];
        match ops.into_iter().find(|(sym, _)| self.eat_sym(sym)) {
            Some((_, op)) => Ok(Expr::Cmp(left, op, self.sum()?)),
            None => Ok(Expr::Cmp(left, Op::Ge, Sum(vec![(1, Value::Number(1))]))),
        }
    }

    fn sum(&mut self) -> Result<Sum, ExprError> {
        let mut items = vec![(1, self.value()?)];
        loop {
            let sign = if self.eat_sym("+") {
                1
            } else if self.eat_sym("-") {
                -1
            } else {
                return Ok(Sum(items));
            };
            items.push((sign, self.value()?));
        }
    }

    fn value(&mut self) -> Result<Value, ExprError> {
        match self.next() {
            Some((_, Tok::Number(n))) => Ok(Value::Number(number(&n)?)),
            Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("near") => self.near(),
            Some((at, Tok::Word(w))) if is_keyword(&w) => {
                Err(unexpected(&Tok::Word(w), at, "a concept or number"))
            }
            Some((_, Tok::Word(w))) => self.concept(&w).map(Value::Concept),
            Some((at, tok)) => Err(unexpected(&tok, at, "a concept or number")),
            None => Err(self.end_error("a concept or number")),
        }
    }

    fn near(&mut self) -> Result<Value, ExprError> {
        self.expect_sym("(")?;
        let a = self.concept_name()?;
        self.expect_sym(",")?;
        let b = self.concept_name()?;
        self.expect_sym(",")?;
        let window = match self.next() {
            Some((_, Tok::Number(n))) => {
                u32::try_from(number(&n)?).map_err(|_| ExprError::Number(n))?
            }
            Some((at, tok)) => return Err(unexpected(&tok, at, "a word count")),
            None => return Err(self.end_error("a word count")),
        };
        self.expect_sym(")")?;
        Ok(Value::Near(a, b, window))
    }

    fn concept_name(&mut self) -> Result<usize, ExprError> {
        match self.next() {
            Some((_, Tok::Word(w))) if !is_keyword(&w) => self.concept(&w),
            Some((at, tok)) => Err(unexpected(&tok, at, "a concept")),
            None => Err(self.end_error("a concept")),
        }
    }

    fn concept(&self, name: &str) -> Result<usize, ExprError> {
        (self.resolve)(name).ok_or_else(|| ExprError::UnknownConcept(name.to_string()))
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += usize::from(tok.is_some());
        tok
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let hit = matches!(self.tokens.get(self.pos), Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case(keyword));
        self.pos += usize::from(hit);
        hit
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.tokens.get(self.pos), Some((_, Tok::Sym(s))) if *s == sym);
        self.pos += usize::from(hit);
        hit
    }

    fn expect_sym(&mut self, sym: &'static str) -> Result<(), ExprError> {
        if self.eat_sym(sym) {
            return Ok(());
        }
        match self.tokens.get(self.pos) {
            Some((at, tok)) => Err(unexpected(tok, *at, sym)),
            None => Err(self.end_error(sym)),
        }
    }

    fn expect_end(&self) -> Result<(), ExprError> {
        match self.tokens.get(self.pos) {
            Some((at, tok)) => Err(unexpected(tok, *at, "AND, OR or the end")),
            None => Ok(()),
        }
    }

    fn end_error(&self, expected: &'static str) -> ExprError {
        ExprError::Unexpected {
            found: "the end".to_string(),
            at: self.tokens.last().map_or(0, |(at, _)| at + 1),
            expected,
        }
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "near"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

fn number(text: &str) -> Result<i64, ExprError> {
    text.parse()
        .map_err(|_| ExprError::Number(text.to_string()))
}

fn unexpected(tok: &Tok, at: usize, expected: &'static str) -> ExprError {
    let found = match tok {
        Tok::Word(w) | Tok::Number(w) => format!("`{w}`"),
        Tok::Sym(s) => format!("`{s}`"),
    };
    ExprError::Unexpected {
        found,
        at,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["russia", "ukraine", "talks"];

    fn parse(text: &str) -> Result<Expr, ExprError> {
        Expr::parse(text, &|name| NAMES.iter().position(|n| *n == name))
    }

    struct Fixed([i64; 3], i64);

    impl Scores for Fixed {
        fn concept(&self, id: usize) -> i64 {
            self.0.get(id).copied().unwrap_or(0)
        }
        fn near(&self, _: usize, _: usize, _: u32) -> i64 {
            self.1
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("russia AND ukraine OR talks >= 3").unwrap();
        assert!(e.eval(&Fixed([1, 1, 0], 0)));
        assert!(e.eval(&Fixed([0, 0, 3], 0)));
        assert!(!e.eval(&Fixed([1, 0, 2], 0)));
    }

    #[test]
    fn sums_comparisons_and_not() {
        let e = parse("talks - ukraine >= 2 and not (russia = 0)").unwrap();
        assert!(e.eval(&Fixed([1, 1, 3], 0)));
        assert!(!e.eval(&Fixed([0, 1, 3], 0)));
        assert!(!e.eval(&Fixed([1, 2, 3], 0)));
    }

    #[test]
    fn near_takes_two_concepts_and_a_window() {
        let e = parse("near(talks, ukraine, 8) >= 2").unwrap();
        assert!(e.eval(&Fixed([0, 0, 0], 2)));
        assert!(!e.eval(&Fixed([0, 0, 0], 1)));
        let mut used = Vec::new();
        e.concepts(&mut used);
        assert_eq!(used, vec![2, 1]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse("russia AND gaza"),
            Err(ExprError::UnknownConcept("gaza".into()))
        );
        assert!(matches!(
            parse("russia AND"),
            Err(ExprError::Unexpected { .. })
        ));
        assert!(matches!(
            parse("(russia"),
            Err(ExprError::Unexpected { .. })
        ));
        assert!(matches!(
            parse("russia $ 2"),
            Err(ExprError::Unexpected { .. })
        ));
        assert!(matches!(
            parse("talks >= 99999999999999999999"),
            Err(ExprError::Number(_))
        ));
        assert!(matches!(
            parse("near(talks, 3, 2)"),
            Err(ExprError::Unexpected { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}talks{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(parse(&deep), Err(ExprError::TooDeep));
        let nots = format!("{}talks", "not ".repeat(10_000));
        assert_eq!(parse(&nots), Err(ExprError::TooDeep));
    }
}
