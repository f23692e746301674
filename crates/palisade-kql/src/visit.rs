//! Walking the bound tree: the one place that knows which nodes hold which children.
//! Everything that looks through expressions (the binder's size budget, aggregate checks,
//! substitution, the engine's rewrites) goes through these methods, so a new node kind is
//! taught to every walk here. Walks over scalar children are iterative, as `extend` chains
//! and long `and`/`or` lists can nest deeply.

use crate::bound::{BoundExpr, BoundTable, ExprNode, TableNode};

impl BoundExpr {
    /// The direct scalar children (a subquery's expressions are not children: see
    /// [`BoundExpr::subquery`]).
    pub fn children(&self) -> Vec<&BoundExpr> {
        match &self.node {
            ExprNode::Call { args, .. } | ExprNode::Aggregate { args, .. } => args.iter().collect(),
            ExprNode::Neg(x) => vec![&**x],
            ExprNode::Binary { lhs, rhs, .. } => vec![&**lhs, &**rhs],
            ExprNode::InList { expr, items, .. } => {
                let mut v = vec![&**expr];
                v.extend(items.iter());
                v
            }
            ExprNode::InSubquery { expr, .. } => vec![&**expr],
            ExprNode::Between {
                expr, low, high, ..
            } => vec![&**expr, &**low, &**high],
            ExprNode::Member { base, .. } => vec![&**base],
            ExprNode::Index { base, index } => vec![&**base, &**index],
            ExprNode::Output { call, .. } => vec![&**call],
            ExprNode::Literal(_)
            | ExprNode::Column { .. }
            | ExprNode::ScalarSubquery(_)
            | ExprNode::TypeOf(_) => Vec::new(),
        }
    }

    /// The direct scalar children, mutably.
    pub fn children_mut(&mut self) -> Vec<&mut BoundExpr> {
        match &mut self.node {
            ExprNode::Call { args, .. } | ExprNode::Aggregate { args, .. } => {
                args.iter_mut().collect()
            }
            ExprNode::Neg(x) => vec![&mut **x],
            ExprNode::Binary { lhs, rhs, .. } => vec![&mut **lhs, &mut **rhs],
            ExprNode::InList { expr, items, .. } => {
                let mut v = vec![&mut **expr];
                v.extend(items.iter_mut());
                v
            }
            ExprNode::InSubquery { expr, .. } => vec![&mut **expr],
            ExprNode::Between {
                expr, low, high, ..
            } => vec![&mut **expr, &mut **low, &mut **high],
            ExprNode::Member { base, .. } => vec![&mut **base],
            ExprNode::Index { base, index } => vec![&mut **base, &mut **index],
            ExprNode::Output { call, .. } => vec![&mut **call],
            ExprNode::Literal(_)
            | ExprNode::Column { .. }
            | ExprNode::ScalarSubquery(_)
            | ExprNode::TypeOf(_) => Vec::new(),
        }
    }

    /// The subquery this node embeds (`toscalar(T)`, `x in (T)`), if any.
    pub fn subquery(&self) -> Option<&BoundTable> {
        match &self.node {
            ExprNode::InSubquery { query, .. } => Some(query),
            ExprNode::ScalarSubquery(t) => Some(t),
            _ => None,
        }
    }

    /// True when this expression or a descendant (not looking into subqueries) satisfies
    /// `pred`.
    pub fn any(&self, mut pred: impl FnMut(&BoundExpr) -> bool) -> bool {
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            if pred(x) {
                return true;
            }
            stack.extend(x.children());
        }
        false
    }

    /// The first node, in pre-order, for which `f` gives a value.
    pub fn find_map<T>(&self, mut f: impl FnMut(&BoundExpr) -> Option<T>) -> Option<T> {
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            if let Some(v) = f(x) {
                return Some(v);
            }
            let mut kids = x.children();
            kids.reverse();
            stack.extend(kids);
        }
        None
    }

    /// The nodes satisfying `pred` that are not inside another such node, in pre-order.
    pub fn outermost(&self, mut pred: impl FnMut(&BoundExpr) -> bool) -> Vec<&BoundExpr> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            if pred(x) {
                out.push(x);
                continue;
            }
            let mut kids = x.children();
            kids.reverse();
            stack.extend(kids);
        }
        out
    }

    /// True when the expression contains an aggregate call.
    pub fn contains_aggregate(&self) -> bool {
        self.any(|x| matches!(x.node, ExprNode::Aggregate { .. }))
    }

    /// Rewrites the tree top-down: `f` sees each node before its children and says whether
    /// to go on into them ([`Walk::Descend`]) or not ([`Walk::Skip`], e.g. after replacing
    /// the node).
    pub fn rewrite(&mut self, mut f: impl FnMut(&mut BoundExpr) -> Walk) {
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            if f(x) == Walk::Descend {
                stack.extend(x.children_mut());
            }
        }
    }

    /// A copy whose direct children are replaced by what `f` makes of them; the first error
    /// wins.
    pub fn try_map_children<E>(
        &self,
        mut f: impl FnMut(&BoundExpr) -> Result<BoundExpr, E>,
    ) -> Result<BoundExpr, E> {
        let mut out = self.clone();
        for c in out.children_mut() {
            *c = f(c)?;
        }
        Ok(out)
    }

    /// Number of expression and table nodes, subqueries included.
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(x) = stack.pop() {
            n += 1;
            if let Some(t) = x.subquery() {
                n += t.size();
            }
            stack.extend(x.children());
        }
        n
    }
}

/// What [`BoundExpr::rewrite`] does after visiting a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Visit the node's children.
    Descend,
    /// Leave the node's children alone.
    Skip,
}

impl BoundTable {
    /// The tables this node reads (its inputs, a join's two sides, a partition's body).
    pub fn inputs(&self) -> Vec<&BoundTable> {
        match &self.node {
            TableNode::Scan { .. }
            | TableNode::PartitionSource
            | TableNode::Values { .. }
            | TableNode::Range { .. }
            | TableNode::Print { .. } => Vec::new(),
            TableNode::Union { inputs, .. } => inputs.iter().collect(),
            TableNode::Join { left, right, .. } => vec![&**left, &**right],
            TableNode::Partition { input, body, .. } => vec![&**input, &**body],
            TableNode::Filter { input, .. }
            | TableNode::Project { input, .. }
            | TableNode::Aggregate { input, .. }
            | TableNode::Sort { input, .. }
            | TableNode::Limit { input, .. }
            | TableNode::Sample { input, .. }
            | TableNode::Distinct { input }
            | TableNode::Count { input }
            | TableNode::Serialize { input }
            | TableNode::GetSchema { input }
            | TableNode::MvExpand { input, .. }
            | TableNode::Parse { input, .. }
            | TableNode::MakeSeries { input, .. }
            | TableNode::TopNested { input, .. }
            | TableNode::ScanSteps { input, .. }
            | TableNode::Invoke { input, .. } => vec![&**input],
        }
    }

    /// The scalar expressions this node itself holds (not its inputs').
    pub fn exprs(&self) -> Vec<&BoundExpr> {
        let mut v: Vec<&BoundExpr> = Vec::new();
        match &self.node {
            TableNode::Scan { .. }
            | TableNode::PartitionSource
            | TableNode::Union { .. }
            | TableNode::Join { .. }
            | TableNode::Partition { .. }
            | TableNode::Distinct { .. }
            | TableNode::Count { .. }
            | TableNode::Serialize { .. }
            | TableNode::GetSchema { .. } => {}
            TableNode::Values { rows } => v.extend(rows.iter().flatten()),
            TableNode::Range { from, to, step } => v.extend([from, to, step]),
            TableNode::Print { exprs } | TableNode::Project { exprs, .. } => v.extend(exprs),
            TableNode::Filter { predicate, .. } => v.push(predicate),
            TableNode::Aggregate { keys, aggs, .. } => v.extend(keys.iter().chain(aggs)),
            TableNode::Sort { keys, .. } => v.extend(keys.iter().map(|k| &k.expr)),
            TableNode::Limit { n, .. } | TableNode::Sample { n, .. } => v.push(n),
            TableNode::MvExpand { items, limit, .. } => {
                v.extend(items.iter().map(|(_, e, _)| e));
                v.extend(limit);
            }
            TableNode::Parse { source, .. } => v.push(source),
            TableNode::MakeSeries {
                keys,
                aggs,
                axis,
                from,
                to,
                step,
                ..
            } => {
                v.extend(keys);
                for (a, d) in aggs {
                    v.push(a);
                    v.extend(d);
                }
                v.push(axis);
                v.extend(from);
                v.extend(to);
                v.push(step);
            }
            TableNode::TopNested { levels, .. } => {
                for l in levels {
                    v.extend(&l.n);
                    v.push(&l.key);
                    v.extend(&l.others);
                    v.push(&l.agg);
                }
            }
            TableNode::Invoke { args, .. } => v.extend(args),
            TableNode::ScanSteps { scan, .. } => {
                v.extend(&scan.defaults);
                for s in &scan.steps {
                    v.push(&s.condition);
                    v.extend(s.assignments.iter().map(|(_, e)| e));
                }
            }
        }
        v
    }

    /// Number of table and expression nodes in the tree.
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(t) = stack.pop() {
            n += 1 + t.exprs().iter().map(|e| e.size()).sum::<usize>();
            stack.extend(t.inputs());
        }
        n
    }
}
