//! The query's memory budget as the functions see it.
//!
//! DataFusion accounts the memory its operators hold (hash tables, sort buffers, the
//! aggregates' states) in the query's memory pool, but not what a scalar function builds: a
//! function whose output is much larger than its input (`range()`, `strrep()`, `strcat()` of a
//! column with itself, the element lists `mv-expand` unnests) could build gigabytes, or
//! overflow Arrow's 2 GiB offsets and panic, before any operator saw it. So the functions that
//! grow data charge what they build to the same pool, **while** they build it, and stop with
//! DataFusion's `ResourcesExhausted` (the API's documented 400) once the pool is full:
//!
//! - [`Charge`]: a running reservation in the query's pool, held for one function call;
//! - [`planning`]: the pool of the query being planned, captured by the functions the planner
//!   creates (planning is synchronous, so a thread-local scope is exact);
//! - [`MAX_VALUE_BYTES`]: no single value a function builds may exceed 64 MiB, with or without
//!   a pool (Kusto refuses records above 64 MB; the same bound keeps every Arrow array far
//!   from its offset limit).

use std::cell::RefCell;
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};

/// The largest value (string or `dynamic` text) one function may build: 64 MiB [inferred:
/// Kusto's documented limit on one record's data is 64 MB].
pub(crate) const MAX_VALUE_BYTES: usize = 64 << 20;

/// Most bytes one function call may build into a single Arrow array, budget or not: well below
/// the 2 GiB that `i32` offsets can address.
pub(crate) const MAX_ARRAY_BYTES: usize = 1 << 30;

/// Bytes charged per step: a call charges its pool every time it has built this much more.
const STEP: usize = 1 << 20;

/// The memory pool of one query, shared by the functions planned for it.
#[derive(Clone)]
pub(crate) struct Budget(Arc<dyn MemoryPool>);

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Budget")
    }
}

impl Budget {
    /// The budget of `pool`.
    pub(crate) fn new(pool: Arc<dyn MemoryPool>) -> Self {
        Budget(pool)
    }
}

thread_local! {
    static PLANNING: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Runs `f` (the planning of one query) with `budget` as the budget the functions it creates
/// capture (see [`current`]).
pub(crate) fn planning<T>(budget: &Budget, f: impl FnOnce() -> T) -> T {
    let previous = PLANNING.with(|p| p.replace(Some(budget.clone())));
    let out = f();
    PLANNING.with(|p| *p.borrow_mut() = previous);
    out
}

/// The budget of the query being planned on this thread, if any.
pub(crate) fn current() -> Option<Budget> {
    PLANNING.with(|p| p.borrow().clone())
}

/// What one function call has built so far, charged to the query's pool in [`STEP`]s.
pub(crate) struct Charge {
    name: String,
    reservation: Option<MemoryReservation>,
    built: usize,
    charged: usize,
}

impl Charge {
    /// A charge for a call of `name` against `budget` (none: only the fixed caps apply).
    pub(crate) fn new(name: &str, budget: Option<&Budget>) -> Self {
        Charge {
            name: name.to_string(),
            reservation: budget.map(|b| MemoryConsumer::new(name).register(&b.0)),
            built: 0,
            charged: 0,
        }
    }

    /// Records `bytes` more built; fails once the array or the query's pool is full.
    pub(crate) fn add(&mut self, bytes: usize) -> DfResult<()> {
        self.built = self.built.saturating_add(bytes);
        if self.built > MAX_ARRAY_BYTES {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{} would build more than {} MiB in one batch",
                self.name,
                MAX_ARRAY_BYTES >> 20
            )));
        }
        if self.built >= self.charged + STEP {
            if let Some(r) = &mut self.reservation {
                let more = self.built - self.charged;
                r.try_grow(more).map_err(|e| match e.find_root() {
                    DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(
                        format!("{} building its result: {m}", self.name),
                    ),
                    _ => e,
                })?;
            }
            self.charged = self.built;
        }
        Ok(())
    }
}

/// Fails when one value of function `name` would exceed [`MAX_VALUE_BYTES`].
pub(crate) fn check_value(name: &str, bytes: usize) -> DfResult<()> {
    if bytes > MAX_VALUE_BYTES {
        return Err(DataFusionError::ResourcesExhausted(format!(
            "{name} would build a value of more than {} MiB (the limit of one value)",
            MAX_VALUE_BYTES >> 20
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    #[test]
    fn a_charge_fails_when_the_pool_is_full_and_frees_it_when_dropped() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(4 << 20));
        let budget = Budget::new(pool.clone());
        let mut c = Charge::new("kql_test", Some(&budget));
        c.add(3 << 20).unwrap();
        assert_eq!(pool.reserved(), 3 << 20);
        let e = c.add(2 << 20).unwrap_err();
        assert!(matches!(e, DataFusionError::ResourcesExhausted(_)), "{e}");
        assert!(e.to_string().contains("kql_test"), "{e}");
        drop(c);
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn the_fixed_caps_hold_without_a_pool() {
        let mut c = Charge::new("kql_test", None);
        c.add(MAX_ARRAY_BYTES).unwrap();
        assert!(c.add(1).is_err());
        assert!(check_value("kql_test", MAX_VALUE_BYTES).is_ok());
        assert!(check_value("kql_test", MAX_VALUE_BYTES + 1).is_err());
    }

    #[test]
    fn planning_scopes_the_budget_to_the_closure() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1));
        assert!(current().is_none());
        planning(&Budget::new(pool), || assert!(current().is_some()));
        assert!(current().is_none());
    }
}
