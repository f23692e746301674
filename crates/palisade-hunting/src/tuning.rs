//! How DataFusion reads the event store: each tuning step of issue 10 is one switch, so the
//! benchmark can measure them one at a time (`examples/bench.rs --steps`) and the engine runs
//! with the set that measured best ([`Tuning::default`]).

use datafusion::prelude::SessionConfig;

/// Switches for reading the store's Parquet files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Evaluate the scan's filters while decoding (late materialization: the other columns
    /// are decoded only for the rows that pass), cheapest filter first.
    pub filter_pushdown: bool,
    /// Read the page index (per-page min/max) to skip pages inside a row group.
    pub page_index: bool,
    /// Read the bloom filters the store writes on equality-searched columns
    /// ([`palisade_events::BLOOM_FILTER_COLUMNS`]) to skip row groups.
    pub bloom_filters: bool,
    /// Declare `Timestamp` order to the planner when every file of a scan was written sorted
    /// (the generator's files are; ingested and compacted ones are not), so sorts and top-k
    /// on time can use it.
    pub sorted_files: bool,
    /// Dynamic filters: a top-k's current threshold and a hash join's build-side keys are
    /// pushed into the scans while the query runs.
    pub dynamic_filters: bool,
}

impl Default for Tuning {
    /// Every switch on (see BENCHMARKS.md, "Tuning steps").
    fn default() -> Self {
        Tuning {
            filter_pushdown: true,
            page_index: true,
            bloom_filters: true,
            sorted_files: true,
            dynamic_filters: true,
        }
    }
}

impl Tuning {
    /// Every switch off: DataFusion reading plain Parquet, the way the engine did before.
    pub fn untuned() -> Self {
        Tuning {
            filter_pushdown: false,
            page_index: false,
            bloom_filters: false,
            sorted_files: false,
            dynamic_filters: false,
        }
    }

    /// The benchmark's steps, cumulative: untuned, then each switch turned on in turn.
    pub fn steps() -> Vec<(&'static str, Tuning)> {
        let mut t = Tuning::untuned();
        let mut steps = vec![("untuned", t)];
        t.filter_pushdown = true;
        steps.push(("+ filter pushdown", t));
        t.page_index = true;
        steps.push(("+ page index", t));
        t.bloom_filters = true;
        steps.push(("+ bloom filters", t));
        t.sorted_files = true;
        steps.push(("+ sorted files", t));
        t.dynamic_filters = true;
        steps.push(("+ dynamic filters", t));
        steps
    }

    /// Applies the reader switches to a session's configuration.
    pub(crate) fn apply(&self, config: &mut SessionConfig) {
        let options = config.options_mut();
        let parquet = &mut options.execution.parquet;
        parquet.pushdown_filters = self.filter_pushdown;
        parquet.reorder_filters = self.filter_pushdown;
        parquet.enable_page_index = self.page_index;
        parquet.bloom_filter_on_read = self.bloom_filters;
        // The planner and the UDFs work on `Utf8`; the scan's schema says so explicitly.
        parquet.schema_force_view_types = false;
        let optimizer = &mut options.optimizer;
        optimizer.enable_dynamic_filter_pushdown = self.dynamic_filters;
        optimizer.enable_topk_dynamic_filter_pushdown = self.dynamic_filters;
        optimizer.enable_join_dynamic_filter_pushdown = self.dynamic_filters;
        optimizer.enable_aggregate_dynamic_filter_pushdown = self.dynamic_filters;
    }
}
