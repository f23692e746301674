//! The bound, typed tree: every name resolved, every expression typed, every operator's output
//! schema known. `let`s, user functions and scalar constants are inlined, so each
//! [`BoundTable`] is self-contained and ready for a planner.

use crate::ast::{BinOp, ListOp};
use crate::catalog::Schema;
use crate::error::Span;
use crate::functions::{AggregateFunction, ScalarFunction};
use crate::value::{KqlType, Literal};

/// A bound query: one result table per query statement.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundQuery {
    /// Result tables in statement order (usually one).
    pub results: Vec<BoundTable>,
    /// The first result's `render` visualization, if its pipeline ends in one.
    pub visualization: Option<crate::render::Visualization>,
}

/// A tabular node with its output schema.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundTable {
    /// The operation.
    pub node: TableNode,
    /// Output columns.
    pub schema: Schema,
}

/// Join flavours (KQL's `kind=`, aliases normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `innerunique` (the default): left side deduplicated on the keys, then inner join.
    InnerUnique,
    /// `inner`.
    Inner,
    /// `leftouter`.
    LeftOuter,
    /// `rightouter`.
    RightOuter,
    /// `fullouter`.
    FullOuter,
    /// `leftsemi` / `semi`.
    LeftSemi,
    /// `rightsemi`.
    RightSemi,
    /// `leftanti` / `anti` / `leftantisemi`.
    LeftAnti,
    /// `rightanti` / `rightantisemi`.
    RightAnti,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundSortKey {
    /// Value sorted on.
    pub expr: BoundExpr,
    /// Ascending.
    pub asc: bool,
    /// Nulls first.
    pub nulls_first: bool,
}

/// One `top-nested` level.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundTopNestedLevel {
    /// Number of values kept (all if absent).
    pub n: Option<BoundExpr>,
    /// Grouping value.
    pub key: BoundExpr,
    /// `with others = value`.
    pub others: Option<BoundExpr>,
    /// Ranking aggregate (contains [`ExprNode::Aggregate`]).
    pub agg: BoundExpr,
    /// Ascending ranking.
    pub asc: bool,
}

/// One `parse` pattern piece; captures name an output column index.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundParsePart {
    /// Literal text to match.
    Text(String),
    /// `*`.
    Any,
    /// A capture into output column `column` of type `ty`.
    Capture {
        /// Output column index.
        column: usize,
        /// Target type.
        ty: KqlType,
    },
}

/// `parse kind=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseKind {
    /// `simple` (the default): literal delimiters, strict types.
    Simple,
    /// `regex`: regular-expression delimiters, strict types.
    Regex,
    /// `relaxed`: literal delimiters; a value that does not convert is null for its column only.
    Relaxed,
}

/// Tabular operations. Column references inside a node's expressions index its *input* schema
/// (for joins: `on` pairs index the left and right schemas).
#[derive(Debug, Clone, PartialEq)]
pub enum TableNode {
    /// Read a catalog table.
    Scan {
        /// Table name.
        table: String,
    },
    /// Inline rows (`datatable`).
    Values {
        /// Row-major values, one `Vec` per row.
        rows: Vec<Vec<BoundExpr>>,
    },
    /// `range x from a to b step c`.
    Range {
        /// Start.
        from: BoundExpr,
        /// Inclusive end.
        to: BoundExpr,
        /// Step.
        step: BoundExpr,
    },
    /// `print` (one row).
    Print {
        /// One value per column.
        exprs: Vec<BoundExpr>,
    },
    /// `union`: outputs are aligned by column name to the union schema.
    Union {
        /// Inputs.
        inputs: Vec<BoundTable>,
        /// For each input, the source label (table name) written to the `withsource` column.
        labels: Vec<String>,
        /// Output column index of the `withsource=` column, if any.
        source_column: Option<usize>,
    },
    /// `where`.
    Filter {
        /// Input.
        input: Box<BoundTable>,
        /// Boolean predicate.
        predicate: BoundExpr,
    },
    /// `project`, `extend`, `project-away/keep/rename/reorder`: one expression per output column.
    Project {
        /// Input.
        input: Box<BoundTable>,
        /// Output expressions, aligned with the schema.
        exprs: Vec<BoundExpr>,
    },
    /// `summarize`: outputs are the keys, then the aggregate expressions.
    Aggregate {
        /// Input.
        input: Box<BoundTable>,
        /// Group keys.
        keys: Vec<BoundExpr>,
        /// Expressions containing [`ExprNode::Aggregate`] nodes.
        aggs: Vec<BoundExpr>,
    },
    /// `sort by` / `order by`.
    Sort {
        /// Input.
        input: Box<BoundTable>,
        /// Keys, most significant first.
        keys: Vec<BoundSortKey>,
    },
    /// `take` / `limit` (and the limit half of `top`).
    Limit {
        /// Input.
        input: Box<BoundTable>,
        /// Row count.
        n: BoundExpr,
    },
    /// `distinct` over all input columns.
    Distinct {
        /// Input.
        input: Box<BoundTable>,
    },
    /// `count`.
    Count {
        /// Input.
        input: Box<BoundTable>,
    },
    /// `join` / `lookup`. Output = left columns then right columns (semi/anti: one side only;
    /// lookup: right key columns dropped), names de-duplicated KQL-style (`DeviceId1`).
    Join {
        /// Left input.
        left: Box<BoundTable>,
        /// Right input.
        right: Box<BoundTable>,
        /// Join kind.
        kind: JoinKind,
        /// Equality pairs (left column index, right column index).
        on: Vec<(usize, usize)>,
        /// For each output column: `(false, i)` = left column i, `(true, i)` = right column i.
        outputs: Vec<(bool, usize)>,
    },
    /// `mv-expand`.
    MvExpand {
        /// Input.
        input: Box<BoundTable>,
        /// Expanded arrays: (output column index, source expression, element type).
        items: Vec<(usize, BoundExpr, KqlType)>,
        /// For each output column not in `items`: the input column it copies (`None` for new
        /// columns such as `with_itemindex`).
        passthrough: Vec<Option<usize>>,
        /// Output column index of `with_itemindex=`.
        item_index: Option<usize>,
        /// `limit N`.
        limit: Option<BoundExpr>,
    },
    /// `parse`: input columns (captures overwrite same-named ones) plus new captures.
    Parse {
        /// Input.
        input: Box<BoundTable>,
        /// Text parsed.
        source: BoundExpr,
        /// `simple`, `regex` or `relaxed`.
        kind: ParseKind,
        /// Regex flags, if given.
        flags: Option<String>,
        /// Pattern.
        pattern: Vec<BoundParsePart>,
        /// `parse-where`: rows that do not match (or whose typed captures do not convert)
        /// are dropped.
        filter: bool,
    },
    /// `serialize` (row order becomes significant).
    Serialize {
        /// Input.
        input: Box<BoundTable>,
    },
    /// `sample N`.
    Sample {
        /// Input.
        input: Box<BoundTable>,
        /// Row count.
        n: BoundExpr,
    },
    /// `getschema`.
    GetSchema {
        /// Input whose schema is reported.
        input: Box<BoundTable>,
    },
    /// `make-series`: output columns are the keys, one dynamic array per aggregate, then the
    /// axis as a dynamic array.
    MakeSeries {
        /// Input.
        input: Box<BoundTable>,
        /// Group keys.
        keys: Vec<BoundExpr>,
        /// Aggregates (containing [`ExprNode::Aggregate`]) with their fill value.
        aggs: Vec<(BoundExpr, Option<BoundExpr>)>,
        /// Axis values (`on`).
        axis: BoundExpr,
        /// Axis start.
        from: Option<BoundExpr>,
        /// Axis end.
        to: Option<BoundExpr>,
        /// Axis step.
        step: BoundExpr,
        /// `kind=nonempty`: an empty input still yields one row of default values.
        nonempty: bool,
    },
    /// `top-nested`: output columns are, per level, the value then its aggregate.
    TopNested {
        /// Input.
        input: Box<BoundTable>,
        /// Levels, outermost first.
        levels: Vec<BoundTopNestedLevel>,
    },
    /// `partition by key ( ... )`: `body` runs once per distinct key value; inside it,
    /// [`TableNode::PartitionSource`] stands for the rows of the current partition.
    Partition {
        /// Input.
        input: Box<BoundTable>,
        /// Partition key column index.
        key: usize,
        /// Per-partition query.
        body: Box<BoundTable>,
    },
    /// The rows of the current partition (only inside [`TableNode::Partition`]'s body).
    PartitionSource,
    /// `scan`: the steps' state machine over the input in its order (see [`BoundScan`]).
    ScanSteps {
        /// Input.
        input: Box<BoundTable>,
        /// The steps and declared columns.
        scan: Box<BoundScan>,
    },
    /// `invoke FileProfile(x, y)`: enrich rows with file-profile columns.
    Invoke {
        /// Input.
        input: Box<BoundTable>,
        /// Function name.
        function: String,
        /// For `FileProfile`, always `[file id column, Long record limit]` (the binder checks
        /// the arguments and fills in the defaults `SHA1` and 100).
        args: Vec<BoundExpr>,
    },
}

/// A typed scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundExpr {
    /// The expression.
    pub node: ExprNode,
    /// Its KQL type.
    pub ty: KqlType,
    /// Where it came from.
    pub span: Span,
}

/// Scalar expression nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprNode {
    /// A constant.
    Literal(Literal),
    /// Input column by index (name kept for readability).
    Column {
        /// Index into the input schema.
        index: usize,
        /// Column name.
        name: String,
    },
    /// A scalar built-in (aliases such as `parsejson` resolved to the one id).
    Call {
        /// The function.
        func: ScalarFunction,
        /// Arguments.
        args: Vec<BoundExpr>,
    },
    /// An aggregate (only inside [`TableNode::Aggregate`]). Multi-output aggregates
    /// (`arg_max(t, a, b)`, `take_any(a, b)`, `percentiles(x, 50, 95)`) appear once per output
    /// column with the same `args` and a different `output`.
    Aggregate {
        /// The aggregate.
        func: AggregateFunction,
        /// Arguments.
        args: Vec<BoundExpr>,
        /// Which output of a multi-output aggregate (0 for single-output ones).
        output: usize,
    },
    /// `-x`.
    Neg(Box<BoundExpr>),
    /// Binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<BoundExpr>,
        /// Right operand.
        rhs: Box<BoundExpr>,
    },
    /// `x in (a, b)`; items may be dynamic arrays, whose elements count as list members.
    InList {
        /// Operator.
        op: ListOp,
        /// Tested value.
        expr: Box<BoundExpr>,
        /// List members.
        items: Vec<BoundExpr>,
    },
    /// `x in (T | project y)`: membership in the first column of a subquery.
    InSubquery {
        /// Operator.
        op: ListOp,
        /// Tested value.
        expr: Box<BoundExpr>,
        /// Subquery.
        query: Box<BoundTable>,
    },
    /// `x between (a .. b)`, inclusive. When `x` is a datetime and `high` a timespan, the range
    /// is `low .. low + high` (KQL's `between (t .. 1h)` form).
    Between {
        /// Tested value.
        expr: Box<BoundExpr>,
        /// Lower bound.
        low: Box<BoundExpr>,
        /// Upper bound.
        high: Box<BoundExpr>,
        /// `!between`.
        negated: bool,
    },
    /// `dyn.key` / `dyn['key']`.
    Member {
        /// Dynamic value.
        base: Box<BoundExpr>,
        /// Key.
        key: String,
    },
    /// `dyn[i]`.
    Index {
        /// Dynamic value.
        base: Box<BoundExpr>,
        /// Index.
        index: Box<BoundExpr>,
    },
    /// `toscalar(T)`: first column of the first row.
    ScalarSubquery(Box<BoundTable>),
    /// Result `index` of a multi-result function such as `series_decompose_anomalies`
    /// (`extend (flag, score, baseline) = series_decompose_anomalies(x)`).
    Output {
        /// The call (an [`ExprNode::Call`]).
        call: Box<BoundExpr>,
        /// Which result.
        index: usize,
    },
    /// `typeof(t)` as a function argument (e.g. `extract(re, 1, s, typeof(long))`).
    TypeOf(KqlType),
}

/// A bound `scan`. The output is the input's columns, the declared columns, then the match id
/// (when `with_match_id` names it).
///
/// Step conditions and assignments are bound over the *state schema*: the input's `n`
/// columns, the `d` declared columns (which read as their defaults: the record before its
/// step's assignments), then for each step `k` (0-based) its state record, `n + d` columns
/// named `Step.Column` at `(n + d) * (k + 1)`; a step without a record reads as nulls (its
/// declared columns as their defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundScan {
    /// The partition key column of `partition by K (sort by ... | scan ...)`: the steps run
    /// on each partition's rows separately, match ids counted per partition.
    pub partition: Option<usize>,
    /// The declared columns' defaults (constants, of the declared types), in order.
    pub defaults: Vec<BoundExpr>,
    /// The steps, in order.
    pub steps: Vec<BoundScanStep>,
    /// Whether the output ends with the match id column (`long`).
    pub match_id: bool,
}

/// One bound `scan` step.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundScanStep {
    /// The step's name.
    pub name: String,
    /// `output=`.
    pub output: crate::ast::ScanOutput,
    /// The condition (bool), over the state schema.
    pub condition: BoundExpr,
    /// Assignments: declared column index (0-based among the declared) and value, over the
    /// state schema.
    pub assignments: Vec<(usize, BoundExpr)>,
}
