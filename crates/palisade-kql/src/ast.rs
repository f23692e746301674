//! Syntax tree produced by the parser. Every node carries the [`Span`] it was parsed from.

use crate::error::Span;
pub use crate::value::{KqlType, Literal};

/// A whole query: statements separated by `;`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The statements in source order.
    pub statements: Vec<Statement>,
}

/// A name as written, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name (brackets and quotes of `['x']` removed).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `let name = value`.
    Let {
        /// The bound name.
        name: Ident,
        /// What it is bound to.
        value: LetValue,
    },
    /// A tabular (or `print`) expression whose result is returned.
    Query(Expr),
}

/// The right-hand side of a `let`.
#[derive(Debug, Clone, PartialEq)]
pub enum LetValue {
    /// A scalar or tabular expression (the binder decides which).
    Expr(Expr),
    /// A user-defined function `(a:string, b:int = 5) { ... }` or `view () { ... }`.
    Function(FunctionDef),
}

/// A user-defined function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    /// Declared parameters.
    pub params: Vec<Param>,
    /// Body statements: `let`s followed by one result expression.
    pub body: Vec<Statement>,
    /// Declared with `view`.
    pub is_view: bool,
    /// Where the definition starts.
    pub span: Span,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Parameter name.
    pub name: Ident,
    /// Declared type.
    pub ty: ParamType,
    /// Default value, if any.
    pub default: Option<Expr>,
}

/// A parameter's declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    /// A scalar of the given type.
    Scalar(KqlType),
    /// A table, `(*)` or `(col:type, ...)`.
    Tabular(Vec<(Ident, KqlType)>),
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// Binary operators, including KQL's string and set operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=` / `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// A string operator such as `has`, `!contains_cs`, `=~`, `matches regex`.
    Str(StrOp),
}

/// String predicates (`negated` for the `!` forms, `cs` for the case-sensitive forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrOp {
    /// The predicate family.
    pub kind: StrOpKind,
    /// Case-sensitive (`_cs`, or `==`-family which is always case-sensitive).
    pub case_sensitive: bool,
    /// The `!` form.
    pub negated: bool,
}

/// String predicate families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOpKind {
    /// `=~` / `!~` (case-insensitive equality).
    Equals,
    /// `has`
    Has,
    /// `hasprefix`
    HasPrefix,
    /// `hassuffix`
    HasSuffix,
    /// `contains`
    Contains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `matches regex`
    MatchesRegex,
}

/// Set-membership operators taking a list on the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOp {
    /// `in` / `!in` / `in~` / `!in~`.
    In {
        /// `!in`
        negated: bool,
        /// `in~`
        case_insensitive: bool,
    },
    /// `has_any`
    HasAny,
    /// `has_all`
    HasAll,
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// A name: column, let-bound value, table, `$left`/`$right`.
    Name(String),
    /// `name = value` as a call argument (named arguments of user-defined functions).
    NamedArg {
        /// The parameter's name.
        name: Ident,
        /// The argument.
        value: Box<Expr>,
    },
    /// `*` (in `arg_max(x, *)`, `count(*)`, `distinct *`).
    Star,
    /// `base.name` or `base['name']`.
    Member {
        /// The object.
        base: Box<Expr>,
        /// The key.
        name: Ident,
    },
    /// `base[index]`.
    Index {
        /// The array/bag.
        base: Box<Expr>,
        /// The index expression.
        index: Box<Expr>,
    },
    /// `name(args)`.
    Call {
        /// Function name.
        name: Ident,
        /// Arguments (may be pipelines for `toscalar`, `materialize`, ...).
        args: Vec<Expr>,
    },
    /// `-x`.
    Neg(Box<Expr>),
    /// Binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `x in (a, b)`, `x has_any (T | project y)`.
    List {
        /// Operator.
        op: ListOp,
        /// Tested value.
        expr: Box<Expr>,
        /// List items (a single pipeline or table name means a tabular subquery).
        items: Vec<Expr>,
    },
    /// `x between (a .. b)`.
    Between {
        /// Tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `!between`.
        negated: bool,
    },
    /// `source | op | op ...`.
    Pipe {
        /// The source expression (table, let name, union, ...).
        source: Box<Expr>,
        /// The operators in order.
        ops: Vec<Operator>,
    },
    /// `union ...` as a source.
    Union(UnionSpec),
    /// `datatable(col:type, ...) [values]`.
    Datatable {
        /// Column declarations.
        columns: Vec<(Ident, KqlType)>,
        /// Row-major values.
        values: Vec<Expr>,
    },
    /// `range x from a to b step c`.
    Range {
        /// Column name.
        name: Ident,
        /// Start.
        from: Box<Expr>,
        /// End (inclusive).
        to: Box<Expr>,
        /// Step.
        step: Box<Expr>,
    },
    /// `print a, x = b`.
    Print(Vec<NamedExpr>),
    /// `search [in (T, ...)] predicate` as a source.
    Search(Box<SearchSpec>),
    /// `find [withsource=C] [in (T, ...)] where predicate [project ...]`.
    Find(Box<FindSpec>),
}

/// `search` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// `kind=case_sensitive|case_insensitive`.
    pub kind: Option<Ident>,
    /// `in (...)` tables (all catalog tables when absent and used as a source).
    pub tables: Option<Vec<Expr>>,
    /// The predicate; a bare string term means "any column has the term".
    pub predicate: Expr,
}

/// `find` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct FindSpec {
    /// `withsource=` column name (default `source_`).
    pub withsource: Option<Ident>,
    /// `in (...)` tables (all catalog tables when absent).
    pub tables: Option<Vec<Expr>>,
    /// The predicate.
    pub predicate: Expr,
    /// `project c[:type], ... [, pack_all()]`; `None` = `project-smart`.
    pub project: Option<FindProject>,
}

/// `find ... project` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct FindProject {
    /// Columns with optional types.
    pub columns: Vec<(Ident, Option<KqlType>)>,
    /// `pack_all()` given.
    pub pack_all: bool,
}

/// `union` parameters and operands.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionSpec {
    /// `kind=inner|outer`.
    pub kind: Option<Ident>,
    /// `withsource=Name`.
    pub withsource: Option<Ident>,
    /// `isfuzzy=true`.
    pub isfuzzy: bool,
    /// Operands: names (possibly with `*` wildcards) or subqueries.
    pub tables: Vec<Expr>,
}

/// An expression with an optional output name: `x = expr`, `(a, b) = arg_max(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    /// Output names (empty = derive from the expression).
    pub names: Vec<Ident>,
    /// The expression.
    pub expr: Expr,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// What to sort on.
    pub expr: Expr,
    /// Ascending (KQL's default is descending).
    pub asc: bool,
    /// Nulls first (default: first for asc, last for desc).
    pub nulls_first: bool,
}

/// A join/lookup condition.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinCond {
    /// `on Col` (same name on both sides).
    Same(Ident),
    /// `$left.a == $right.b`.
    Eq {
        /// Left-side column.
        left: Ident,
        /// Right-side column.
        right: Ident,
    },
}

/// One `mv-expand` item: `[name =] expr [to typeof(type)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvExpandItem {
    /// Output column name, if given.
    pub name: Option<Ident>,
    /// The array/bag expression.
    pub expr: Expr,
    /// `to typeof(t)`.
    pub to: Option<KqlType>,
}

/// One piece of a `parse` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePart {
    /// A string that must match (`"text"`).
    Text(String),
    /// `*`: skip anything.
    Any,
    /// A capture `Name[:type]`.
    Capture(Ident, Option<KqlType>),
}

/// A `name=value` operator parameter (`kind=inner`, `hint.strategy=shuffle`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpParam {
    /// Parameter name, e.g. `kind` or `hint.strategy`.
    pub name: Ident,
    /// The value as written (identifier, string or number text).
    pub value: Ident,
}

/// A tabular operator with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// The operator.
    pub kind: OpKind,
    /// Where its name starts.
    pub span: Span,
}

/// Tabular operators.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// `where` / `filter`.
    Where(Expr),
    /// `project`.
    Project(Vec<NamedExpr>),
    /// `project-away` (names may contain `*`).
    ProjectAway(Vec<Ident>),
    /// `project-keep` (names may contain `*`).
    ProjectKeep(Vec<Ident>),
    /// `project-rename new = old`.
    ProjectRename(Vec<(Ident, Ident)>),
    /// `project-reorder` (names may contain `*`, with optional asc/desc).
    ProjectReorder(Vec<Ident>),
    /// `extend`.
    Extend(Vec<NamedExpr>),
    /// `summarize aggs by keys`.
    Summarize {
        /// Operator parameters (hints).
        params: Vec<OpParam>,
        /// Aggregations.
        aggs: Vec<NamedExpr>,
        /// Group keys.
        by: Vec<NamedExpr>,
    },
    /// `sort by` / `order by`.
    Sort(Vec<SortKey>),
    /// `top N by key`.
    Top {
        /// Row count.
        n: Expr,
        /// Sort key.
        by: SortKey,
    },
    /// `top-hitters N of V [by S]`.
    TopHitters {
        /// How many values.
        n: Expr,
        /// The value expression (optionally named).
        of: NamedExpr,
        /// The summing expression (`count()` of each value when absent).
        by: Option<Expr>,
    },
    /// `take` / `limit`.
    Take(Expr),
    /// `distinct cols` or `distinct *`.
    Distinct(Vec<Expr>),
    /// `count`.
    Count,
    /// `join`.
    Join {
        /// `kind=` and hints.
        params: Vec<OpParam>,
        /// Right side.
        right: Box<Expr>,
        /// Conditions.
        on: Vec<JoinCond>,
    },
    /// `lookup`.
    Lookup {
        /// `kind=`.
        params: Vec<OpParam>,
        /// Right side (dimension table).
        right: Box<Expr>,
        /// Conditions.
        on: Vec<JoinCond>,
    },
    /// `union` as an operator (input is the first operand).
    Union(UnionSpec),
    /// `mv-expand` / `mvexpand`.
    MvExpand {
        /// Parameters (`bagexpansion=`, `with_itemindex=`).
        params: Vec<OpParam>,
        /// Expanded columns.
        items: Vec<MvExpandItem>,
        /// `limit N`.
        limit: Option<Expr>,
    },
    /// `mv-apply items on (subquery)`.
    MvApply(Box<MvApply>),
    /// `parse [kind=..] expr with pattern`.
    Parse {
        /// `kind=`, `flags=`.
        params: Vec<OpParam>,
        /// Parsed text.
        expr: Expr,
        /// Pattern pieces.
        pattern: Vec<ParsePart>,
        /// `parse-where`: rows that do not match are dropped.
        filter: bool,
    },
    /// `as Name`.
    As(Ident),
    /// `serialize [x = expr]`.
    Serialize(Vec<NamedExpr>),
    /// `render chart [with (name = value, ...)]` (and the legacy `name=value` form): the
    /// data is unchanged; the visualization is reported with the result.
    Render {
        /// The visualization (`timechart`, `piechart`, ...).
        chart: Ident,
        /// The properties in the order written.
        props: Vec<RenderProp>,
    },
    /// `invoke f(args)`.
    Invoke(Expr),
    /// `evaluate plugin(args)`.
    Evaluate {
        /// Hints.
        params: Vec<OpParam>,
        /// The plugin call.
        call: Expr,
    },
    /// `getschema`.
    GetSchema,
    /// `sample N`.
    Sample(Expr),
    /// `search predicate` over the input.
    Search(Box<SearchSpec>),
    /// `make-series aggs on axis from a to b step s by keys`.
    MakeSeries(Box<MakeSeries>),
    /// `top-nested N of x by agg, top-nested ...`.
    TopNested(Vec<TopNestedLevel>),
    /// `partition by Column ( operators )`: the operators run on each partition.
    Partition {
        /// Hints.
        params: Vec<OpParam>,
        /// Partition key column.
        by: Ident,
        /// Operators applied to each partition.
        ops: Vec<Operator>,
    },
    /// `fork [name =] (operators) ...`: one result table per branch (the last operator of a
    /// query statement).
    Fork(Vec<ForkBranch>),
    /// `facet by c1, c2 [with (operators)]`: the `with` table, then one table of value counts
    /// per column (the last operator of a query statement).
    Facet {
        /// The faceted columns.
        by: Vec<Ident>,
        /// The operators of the `with` table.
        with: Option<Vec<Operator>>,
    },
    /// `scan [with_match_id = Name] [declare (c: type [= default], ...)] with (step ...; ...)`.
    Scan(Box<ScanSpec>),
}

/// One branch of `fork`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkBranch {
    /// `name = (...)`: the result table's name.
    pub name: Option<Ident>,
    /// The branch's operators.
    pub ops: Vec<Operator>,
}

/// `scan` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSpec {
    /// `with_match_id = Name`.
    pub match_id: Option<Ident>,
    /// `declare (Name: type [= default], ...)`.
    pub declare: Vec<ScanDeclared>,
    /// The steps, in order.
    pub steps: Vec<ScanStepSpec>,
}

/// One declared column of `scan`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanDeclared {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: KqlType,
    /// Its default value (null when absent).
    pub default: Option<Expr>,
}

/// What a `scan` step outputs on its matches (`output=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScanOutput {
    /// Every matching record (the default).
    All,
    /// The last record of a run of matches of the step.
    Last,
    /// No record.
    None,
}

/// `step Name [output = all|last|none]: Condition [=> Column = Value, ...];`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanStepSpec {
    /// The step's name.
    pub name: Ident,
    /// `output=`.
    pub output: ScanOutput,
    /// The condition.
    pub condition: Expr,
    /// The assignments to declared columns.
    pub assignments: Vec<(Ident, Expr)>,
}

/// `make-series` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeries {
    /// `kind=nonempty`.
    pub params: Vec<OpParam>,
    /// Aggregations with their optional `default = value`.
    pub aggs: Vec<(NamedExpr, Option<Expr>)>,
    /// The axis column (`on`).
    pub on: Expr,
    /// Axis start.
    pub from: Option<Expr>,
    /// Axis end (exclusive).
    pub to: Option<Expr>,
    /// Axis step.
    pub step: Expr,
    /// Group keys.
    pub by: Vec<NamedExpr>,
}

/// One level of `top-nested`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopNestedLevel {
    /// Number of top values kept (all if absent).
    pub n: Option<Expr>,
    /// The grouping expression (`of [Name =] expr`).
    pub of: NamedExpr,
    /// `with others = value`.
    pub others: Option<Expr>,
    /// The aggregation ranking the values (`by [Name =] agg`).
    pub by: NamedExpr,
    /// `asc` (default `desc`).
    pub asc: bool,
}

/// One `render` property: `title = "x"`, `ycolumns = a, b`, `legend = hidden`, `ymin = 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderProp {
    /// The property name as written.
    pub name: Ident,
    /// Its value: a string, number or boolean; a name as a string; a list of names as an array.
    pub value: serde_json::Value,
}

/// `mv-apply [with_itemindex=I] items [limit N] on (ops)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MvApply {
    /// `with_itemindex=` and hints.
    pub params: Vec<OpParam>,
    /// The expanded columns, as in `mv-expand`.
    pub items: Vec<MvExpandItem>,
    /// `limit N`.
    pub limit: Option<Expr>,
    /// The subquery applied to each input row's expanded rows.
    pub ops: Vec<Operator>,
}
