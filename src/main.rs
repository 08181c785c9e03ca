//! The `docseal` command: parse arguments, call the library, print, map errors to exit codes.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
