//! The `redline` binary: a thin shell over [`redline::cli`].

fn main() -> std::process::ExitCode {
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

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
