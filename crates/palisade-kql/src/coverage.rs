//! What the function and operator coverage reports share: an entry's [`Status`] against
//! the Kusto reference and the implemented/rejected [`Counts`].

/// How Palisade answers a reference entry (a function or an operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Palisade runs it.
    Implemented,
    /// It is rejected by name with a 400 "is not supported".
    Rejected,
}

impl Status {
    /// `implemented` or `rejected`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Implemented => "implemented",
            Status::Rejected => "rejected",
        }
    }
}

/// Implemented and rejected counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries Palisade runs.
    pub implemented: usize,
    /// Entries rejected by name.
    pub rejected: usize,
}

impl Counts {
    /// Implemented plus rejected.
    pub fn total(&self) -> usize {
        self.implemented + self.rejected
    }

    /// Counts one entry of status `s`.
    pub(crate) fn add(&mut self, s: Status) {
        match s {
            Status::Implemented => self.implemented += 1,
            Status::Rejected => self.rejected += 1,
        }
    }

    /// `{"implemented", "rejected", "total"}`, as both JSON reports print counts.
    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "implemented": self.implemented,
            "rejected": self.rejected,
            "total": self.total(),
        })
    }
}
