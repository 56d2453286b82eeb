//! Hands freed heap back to the operating system after a snapshot swap.
//!
//! A swap briefly holds the old snapshot and the new one in several forms (the received
//! message, the model, the compiled form), roughly doubling the heap. glibc keeps freed
//! memory for reuse, so without this the sidecar's RSS would stay at that peak between
//! revisions (measured: 39 MiB instead of 21 MiB at 1,000 experiments; docs/BENCHMARKS.md).
//! Runs on the blocking pool once per installed revision, whichever way it was installed
//! (`Syncer::install`; not for refused or repeated snapshots), never on the Assign path.

/// Returns the allocator's free memory at the top of the heap and in its arenas to the
/// OS. A no-op where the allocator is not glibc's.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own free lists; it is
    // thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}
