//! One module per subcommand; each reads like what the operator asked for.

mod backfill;
mod catalog;
mod doctor;
mod plan;
mod policy;
mod publish;
mod run;
mod status;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::args::{Cli, Command, PolicyCommand};
use crate::failure::Failure;
use crate::stack::{Aws, Stack};

pub async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let format = cli.global.output;
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command(), "snaplake", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    let aws = Aws::connect(&cli.global).await;
    // Doctor reports a missing stack as a failed check instead of stopping.
    if let Command::Doctor(args) = &cli.command {
        return doctor::doctor(&cli.global.stack, aws, args, format).await;
    }
    let stack = Stack::discover(&cli.global.stack, aws).await?;
    match cli.command {
        Command::Run(args) => run::run(&stack, &args, format).await,
        Command::Backfill(args) => backfill::backfill(&stack, &args, format).await,
        Command::Status(args) => status::status(&stack, &args, format).await,
        Command::Publish(args) => publish::publish(&stack, &args, format).await,
        Command::Rollback(args) => catalog::rollback(&stack, &args, format).await,
        Command::Gc(args) => catalog::gc(&stack, &args, format).await,
        Command::Plan(args) => plan::plan(&stack, &args, format).await,
        Command::Policy(PolicyCommand::Init(args)) => policy::init(&stack, &args).await,
        Command::Policy(PolicyCommand::Check(args)) => policy::check(&stack, &args, format).await,
        Command::Doctor(_) | Command::Completions { .. } => unreachable!("handled above"),
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
