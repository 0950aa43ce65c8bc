//! The `redline` binary: a thin shell over [`redline::cli`].

fn main() -> std::process::ExitCode {
    match redline::cli::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
