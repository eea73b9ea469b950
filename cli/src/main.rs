//! `snaplake`: the operator CLI. Each subcommand lives in `commands/`; they
//! find the deployment through `stack.rs` and call the same library code the
//! functions run, so the CLI and the pipeline cannot disagree.

mod args;
mod commands;
mod failure;
mod output;
mod runs;
mod schedule;
mod stack;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime starts");
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
