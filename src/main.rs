//! The gateway binary: everything happens in [`tco_gateway::cli::run`].

/// jemalloc, which returns freed memory to the system (see Cargo.toml: glibc's malloc kept
/// what a thousand stalled streams had used long after they left).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tco_gateway::cli::run().await
}
