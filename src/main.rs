//! The `redline` binary: a thin shell over [`redline::cli`].

fn main() -> std::process::ExitCode {
    tune_malloc();
    match redline::cli::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`redline stories | head`): nothing left to say.
        Err(error) if is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold each time a large block is freed; after that,
/// large buffers (page bodies, compression buffers, sled's I/O buffers) come from
/// the heap arenas and stay resident once freed. A fixed threshold keeps them in
/// their own mappings, returned when freed: on newsfarm `medium` (25 steps 4 s
/// apart) peak RSS went from 139 to 82 MB, for about 5% more CPU.
///
/// glibc also gives threads up to eight arenas per core, and each keeps freed
/// memory of its own: with tokio's workers, its blocking pool and sled's threads
/// spreading allocations over them, the arenas held 53-82 MB more than the
/// bytes in use (malloc_stats). Two arenas: on all of newsfarm `large` (60
/// steps 2 s apart), RSS after each step 104-148 MiB instead of 129-191, peak
/// 222 MiB instead of 263-268, for the same CPU.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
