//! Parquet metadata and file statistics kept across queries.
//!
//! Each query runs in a session of its own (its own memory pool) over a table made for it, and
//! DataFusion keeps a file's footer and page index in the session's runtime and its statistics
//! in the table, so every query read and converted the metadata of every file it scanned again:
//! most of what a `take 10` cost on the demo store (BENCHMARKS.md). These caches are the
//! engine's, shared by its sessions and tables. Store files are never rewritten in place (compaction writes new names), and
//! DataFusion checks each entry against the file's size and modification time, so an entry
//! never outlives its file's content. A cached footer is only used when the query's own
//! listing (its tenant, its window) names that file.

use std::fmt;
use std::sync::Arc;

use datafusion::execution::cache::cache_manager::{
    CacheManagerConfig, FileMetadataCache, FileStatisticsCache,
};
use datafusion::execution::cache::default_cache::DefaultCache;

/// Bytes of Parquet footers and page indexes kept (least recently used go first); with
/// [`FILE_STATISTICS_CACHE_BYTES`], what the caches can add to the server's memory.
pub(crate) const FILE_METADATA_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Bytes of per-file statistics (row counts, column min/max/nulls) kept.
pub(crate) const FILE_STATISTICS_CACHE_BYTES: usize = 8 * 1024 * 1024;

/// The caches one engine's sessions share.
#[derive(Clone)]
pub(crate) struct FileCaches {
    metadata: Arc<FileMetadataCache>,
    statistics: Arc<FileStatisticsCache>,
}

impl FileCaches {
    /// Empty caches bounded by [`FILE_METADATA_CACHE_BYTES`] and
    /// [`FILE_STATISTICS_CACHE_BYTES`].
    pub(crate) fn new() -> Self {
        FileCaches {
            metadata: Arc::new(
                DefaultCache::new(FILE_METADATA_CACHE_BYTES).with_name("palisade-file-metadata"),
            ),
            statistics: Arc::new(
                DefaultCache::new(FILE_STATISTICS_CACHE_BYTES)
                    .with_name("palisade-file-statistics"),
            ),
        }
    }

    /// The statistics cache, for a scan's table (`ListingTable::with_cache`).
    pub(crate) fn statistics(&self) -> Arc<FileStatisticsCache> {
        self.statistics.clone()
    }

    /// A session runtime's cache configuration: these two caches (so building the runtime
    /// creates none), and no list-files cache (a scan names its files one by one).
    pub(crate) fn config(&self) -> CacheManagerConfig {
        CacheManagerConfig::default()
            .with_file_metadata_cache(Some(self.metadata.clone()))
            .with_metadata_cache_limit(FILE_METADATA_CACHE_BYTES)
            .with_file_statistics_cache(Some(self.statistics.clone()))
            .with_file_statistics_cache_limit(FILE_STATISTICS_CACHE_BYTES)
            .with_list_files_cache_limit(0)
    }
}

impl fmt::Debug for FileCaches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCaches").finish_non_exhaustive()
    }
}
