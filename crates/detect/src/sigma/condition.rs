//! Sigma conditions: `and`, `or`, `not`, parentheses, `1 of` / `all of`
//! a pattern or `them`, parsed to an [`Expr`] over selection indices.
//!
//! Precedence, loosest first: `or`, `and`, `not`, `x of`, parentheses.

/// A compiled condition over the selections of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Selection(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// Evaluates the expression with `selection(i)` telling whether selection `i` matched.
    pub fn eval(&self, selection: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Selection(i) => selection(*i),
            Expr::And(parts) => parts.iter().all(|p| p.eval(selection)),
            Expr::Or(parts) => parts.iter().any(|p| p.eval(selection)),
            Expr::Not(inner) => !inner.eval(selection),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '|' => {
                return Err(
                    "aggregation expressions (`| count() ...`) are not supported; use a correlation rule"
                        .into(),
                )
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    Ok(tokens)
}

/// Parses `text` against the rule's selection names (in definition order).
pub fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("empty condition".into());
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        names,
    };
    let expr = parser.or()?;
    if parser.at < parser.tokens.len() {
        return Err(format!(
            "unexpected `{}` in condition `{text}`",
            parser.describe(parser.at)
        ));
    }
    Ok(expr)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    names: &'a [String],
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

impl Parser<'_> {
    fn describe(&self, at: usize) -> String {
        match self.tokens.get(at) {
            Some(Token::Open) => "(".into(),
            Some(Token::Close) => ")".into(),
            Some(Token::Word(w)) => w.clone(),
            None => "end of condition".into(),
        }
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if is_keyword(w, keyword))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.not()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let at = self.at;
        match self.tokens.get(at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(format!("expected `)`, found `{}`", self.describe(self.at)));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let quantifier = word.eq_ignore_ascii_case("all")
                    || word.eq_ignore_ascii_case("any")
                    || word.parse::<usize>().is_ok();
                if quantifier
                    && matches!(self.tokens.get(at + 1), Some(Token::Word(w)) if is_keyword(w, "of"))
                {
                    self.at += 2;
                    let Some(Token::Word(pattern)) = self.tokens.get(self.at).cloned() else {
                        return Err(format!("expected a selection pattern after `{word} of`"));
                    };
                    self.at += 1;
                    return self.quantified(&word, &pattern);
                }
                if ["and", "or", "not", "of"]
                    .iter()
                    .any(|k| is_keyword(&word, k))
                {
                    return Err(format!("unexpected `{word}` in condition"));
                }
                self.at += 1;
                self.names
                    .iter()
                    .position(|n| *n == word)
                    .map(Expr::Selection)
                    .ok_or_else(|| {
                        format!("condition names `{word}`, which is not a selection of the rule")
                    })
            }
            _ => Err(format!("unexpected `{}` in condition", self.describe(at))),
        }
    }

    fn quantified(&self, quantifier: &str, pattern: &str) -> Result<Expr, String> {
        let matching: Vec<Expr> = if is_keyword(pattern, "them") {
            self.names
                .iter()
                .enumerate()
                .filter(|(_, name)| !name.starts_with('_'))
                .map(|(i, _)| Expr::Selection(i))
                .collect()
        } else {
            self.names
                .iter()
                .enumerate()
                .filter(|(_, name)| wildcard_match(pattern, name))
                .map(|(i, _)| Expr::Selection(i))
                .collect()
        };
        if matching.is_empty() {
            return Err(format!("`{quantifier} of {pattern}` matches no selection"));
        }
        if quantifier.eq_ignore_ascii_case("all") {
            return Ok(Expr::And(matching));
        }
        match quantifier.parse::<usize>() {
            Ok(1) | Err(_) => Ok(Expr::Or(matching)),
            Ok(n) => Err(format!(
                "`{n} of` is not supported (only `1 of` and `all of`)"
            )),
        }
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "selection",
            "selection_b",
            "filter_1",
            "filter_2",
            "_hidden",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn precedence_and_groups() {
        use Expr::*;
        let n = names();
        assert_eq!(
            parse("selection or selection_b and not filter_1", &n),
            Ok(Or(vec![
                Selection(0),
                And(vec![Selection(1), Not(Box::new(Selection(2)))])
            ]))
        );
        assert_eq!(
            parse("(selection or selection_b) and not 1 of filter_*", &n),
            Ok(And(vec![
                Or(vec![Selection(0), Selection(1)]),
                Not(Box::new(Or(vec![Selection(2), Selection(3)])))
            ]))
        );
        assert_eq!(
            parse("all of them", &n),
            Ok(And((0..4).map(Selection).collect()))
        );
        assert_eq!(parse("1 of sel*b", &n), Ok(Or(vec![Selection(1)])));
    }

    #[test]
    fn errors_name_the_problem() {
        let n = names();
        assert!(parse("selection and missing", &n)
            .unwrap_err()
            .contains("missing"));
        assert!(parse("selection | count() > 5", &n)
            .unwrap_err()
            .contains("correlation"));
        assert!(parse("(selection", &n)
            .unwrap_err()
            .contains("expected `)`"));
        assert!(parse("1 of nothing*", &n)
            .unwrap_err()
            .contains("matches no selection"));
        assert!(parse("selection selection_b", &n).is_err());
        assert!(parse("", &n).is_err());
    }

    #[test]
    fn wildcard_patterns() {
        assert!(wildcard_match("sel*", "selection"));
        assert!(wildcard_match("*tion", "selection"));
        assert!(wildcard_match("s*ct*n", "selection"));
        assert!(!wildcard_match("filter*", "selection"));
        assert!(wildcard_match("selection", "selection"));
    }
}
