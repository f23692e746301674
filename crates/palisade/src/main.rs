//! The `palisade` binary.

use clap::Parser;

/// mimalloc instead of glibc's malloc: glibc kept the memory freed after demo seeding
/// (~160 MB of 163 MB heap, 3 MB live) resident for good; mimalloc gives freed pages back.
/// Without the `mimalloc` feature (heap profiling only) the system allocator serves.
#[cfg(feature = "mimalloc")]
mod allocator {
    #[global_allocator]
    static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

    // mimalloc's option setter (mimalloc.h, v3, the version `libmimalloc-sys` builds).
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    /// `mi_option_purge_delay`: milliseconds before freed pages go back to the OS (default 10).
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    /// `mi_option_arena_purge_mult`: the purge delay's multiplier for arenas (default 10).
    const MI_OPTION_ARENA_PURGE_MULT: std::ffi::c_int = 24;

    /// Freed memory goes back to the OS at once instead of after a delay that an idle thread
    /// never reaches (mimalloc purges on a thread's next allocation): the server's idle RSS
    /// then follows what is live. `MIMALLOC_PURGE_DELAY` in the environment still wins.
    pub fn purge_freed_memory_promptly() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: mi_option_set only stores an integer option; any id and value are accepted.
        unsafe {
            mi_option_set(MI_OPTION_PURGE_DELAY, 0);
            mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
        }
    }
}

#[cfg(not(feature = "mimalloc"))]
mod allocator {
    /// The system allocator has no purge option.
    pub fn purge_freed_memory_promptly() {}
}

/// Stack size of the runtime's threads. Query planning and execution (DataFusion, KQL
/// binding) recurse with the query's depth; a generous stack keeps a deep query an error
/// instead of a crash of the whole server.
const THREAD_STACK_BYTES: usize = 32 * 1024 * 1024;

fn main() -> std::process::ExitCode {
    allocator::purge_freed_memory_promptly();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = palisade::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(palisade::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = palisade::trust::explain_tls_failure(&e) {
                eprintln!("{hint}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
