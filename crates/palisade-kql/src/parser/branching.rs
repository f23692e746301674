//! The operators that hold operator lists of their own or define a state machine: `fork`,
//! `facet` and `scan`.

use super::*;

impl Parser<'_> {
    /// `( op | op ... )`.
    fn operator_list(&mut self) -> PResult<Vec<Operator>> {
        self.expect_punct("(")?;
        let mut ops = vec![self.operator()?];
        while self.eat_punct("|") {
            ops.push(self.operator()?);
        }
        self.expect_punct(")")?;
        Ok(ops)
    }

    /// After `fork`: `[name =] (ops) ...`, at least one branch.
    pub(super) fn fork_branches(&mut self) -> PResult<Vec<ForkBranch>> {
        let mut branches = Vec::new();
        loop {
            let name = if self.ident_or_bracket_ahead() && self.named_ahead() {
                let n = self.ident("a result name")?;
                self.expect_punct("=")?;
                Some(n)
            } else if self.at_punct("(") {
                None
            } else if branches.is_empty() {
                return self.err("'(' and the operators of a fork branch");
            } else {
                break;
            };
            let ops = self.operator_list()?;
            branches.push(ForkBranch { name, ops });
        }
        Ok(branches)
    }

    /// After `facet`: `by c1, c2 [with (ops)]`.
    pub(super) fn facet(&mut self) -> PResult<OpKind> {
        self.expect_word("by")?;
        let mut by = vec![self.ident("a column name")?];
        while self.eat_punct(",") {
            by.push(self.ident("a column name")?);
        }
        let with = if self.eat_word("with") {
            Some(self.operator_list()?)
        } else {
            None
        };
        Ok(OpKind::Facet { by, with })
    }

    /// After `scan`: `[with_match_id = Name] [declare (...)] with (step ...; ...)`.
    pub(super) fn scan_spec(&mut self) -> PResult<ScanSpec> {
        let mut match_id = None;
        let mut declare = Vec::new();
        loop {
            if self.at_word("with_match_id") && self.peek_at(1).is_punct("=") {
                self.advance();
                self.advance();
                match_id = Some(self.ident("a column name")?);
            } else if self.at_word("declare") && self.peek_at(1).is_punct("(") {
                self.advance();
                self.advance();
                loop {
                    let name = self.ident("a column name")?;
                    self.expect_punct(":")?;
                    let ty = self.type_name()?;
                    let default = if self.eat_punct("=") {
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    declare.push(ScanDeclared { name, ty, default });
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                self.expect_punct(")")?;
            } else {
                break;
            }
        }
        self.expect_word("with")?;
        self.expect_punct("(")?;
        let mut steps = Vec::new();
        while self.at_word("step") {
            steps.push(self.scan_step()?);
            if !self.eat_punct(";") {
                break;
            }
        }
        if steps.is_empty() {
            return self.err("'step' and a step definition");
        }
        self.expect_punct(")")?;
        Ok(ScanSpec {
            match_id,
            declare,
            steps,
        })
    }

    /// `step Name [output = all|last|none]: Condition [=> Column = Value, ...]`.
    fn scan_step(&mut self) -> PResult<ScanStepSpec> {
        self.expect_word("step")?;
        let name = self.ident("a step name")?;
        let mut output = ScanOutput::All;
        if self.at_word("output") && self.peek_at(1).is_punct("=") {
            self.advance();
            self.advance();
            let v = self.ident("all, last or none")?;
            output = match v.name.as_str() {
                "all" => ScanOutput::All,
                "last" => ScanOutput::Last,
                "none" => ScanOutput::None,
                other => {
                    return Err(ParseError::Syntax {
                        expected: "all, last or none".into(),
                        found: other.to_string(),
                        pos: v.span.start,
                    })
                }
            };
        }
        self.expect_punct(":")?;
        let condition = self.expr()?;
        let mut assignments = Vec::new();
        if self.eat_punct("=>") {
            loop {
                let column = self.ident("a declared column")?;
                self.expect_punct("=")?;
                assignments.push((column, self.expr()?));
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        Ok(ScanStepSpec {
            name,
            output,
            condition,
            assignments,
        })
    }
}
