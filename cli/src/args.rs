//! The command line, as `snaplake --help` shows it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;

use crate::failure::EXIT_CODES;
use crate::schedule::parse_date;

#[derive(Debug, Parser)]
#[command(
    name = "snaplake",
    version,
    about = "Operate snaplake: run and backfill days, see their status, publish, roll back, collect garbage, check a deployment.",
    long_about = "Operate snaplake: run and backfill days, see their status, publish an export made elsewhere, \
                  roll a table back, remove old versions, and check a deployment before the first run.\n\n\
                  snaplake finds everything from the stack name (the `name` given to the Terraform module): the \
                  functions' configuration, the state machine and the input the daily schedule sends. A day is \
                  always the logical day the schedule would run (`--date 2026-11-21` runs exactly what the \
                  schedule runs for that day), so running a day twice is safe and does nothing the second time.",
    after_help = EXIT_CODES,
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The deployment: the `name` given to the Terraform module.
    #[arg(long, env = "SNAPLAKE_STACK", default_value = "snaplake", global = true)]
    pub stack: String,
    /// AWS named profile (standard credential chain otherwise).
    #[arg(long, env = "AWS_PROFILE", global = true)]
    pub profile: Option<String>,
    /// AWS region of the deployment.
    #[arg(long, env = "AWS_REGION", global = true)]
    pub region: Option<String>,
    /// Talk to another endpoint, e.g. the local stand-in (`make standin` prints it).
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub endpoint_url: Option<String>,
    /// How results are printed.
    #[arg(
        long,
        short,
        value_enum,
        env = "SNAPLAKE_OUTPUT",
        default_value = "table",
        global = true
    )]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the pipeline for one logical day. A second call for the same day does nothing and says so.
    #[command(after_help = "Example: snaplake --stack shop-prod run --date 2026-11-21 --wait")]
    Run(RunArgs),
    /// Run every day of a range, skipping days already published, a few exports at a time.
    #[command(after_help = "Example: snaplake backfill --from 2026-11-01 --to 2026-11-20 --concurrency 3")]
    Backfill(BackfillArgs),
    /// Show runs: export progress, execution state and step, and each table's outcome.
    Status(StatusArgs),
    /// Publish an export made elsewhere (console, AWS Backup) through the same state machine.
    Publish(PublishArgs),
    /// Point a table back at its previous version, or at the version of a given day.
    Rollback(RollbackArgs),
    /// Remove curated versions beyond retention (and surplus Glue table versions).
    Gc(GcArgs),
    /// Check the deployment and its AWS resources, each check with its fix.
    Doctor(DoctorArgs),
    /// Show what a day's run would export and publish, touching nothing.
    Plan(PlanArgs),
    /// The masking policy: write a complete starting one, or check one against the raw tables.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print a shell completion script, e.g. `snaplake completions bash > /etc/bash_completion.d/snaplake`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct Wait {
    /// Wait until the run ends, showing its current step; the exit code is the run's.
    #[arg(long)]
    pub wait: bool,
    /// Seconds between status checks while waiting.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub poll_seconds: u64,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The logical day (YYYY-MM-DD) in SNAPLAKE_TIME_ZONE.
    #[arg(long, value_parser = parse_date)]
    pub date: Date,
    /// Start a new attempt when the day's last run failed.
    #[arg(long)]
    pub retry: bool,
    /// Publish this table (Glue name) even when its row count fell beyond
    /// the quality gate's bound (repeat for several).
    #[arg(long = "force-table", value_name = "TABLE")]
    pub force_table: Vec<String>,
    #[command(flatten)]
    pub wait: Wait,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// First day (YYYY-MM-DD), included.
    #[arg(long, value_parser = parse_date)]
    pub from: Date,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long, value_parser = parse_date)]
    pub to: Date,
    /// Runs (so exports) at once; RDS allows 5 exports in progress per account.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub concurrency: u8,
    /// Seconds between status checks.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub poll_seconds: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The runs of one logical day (YYYY-MM-DD), with every table.
    #[arg(long, value_parser = parse_date, conflicts_with = "last")]
    pub date: Option<Date>,
    /// The most recent runs.
    #[arg(long, default_value_t = 10)]
    pub last: usize,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The export task identifier (as the RDS console shows it).
    #[arg(long)]
    pub export_id: String,
    /// The logical day to publish it as (default: the day its snapshot was taken).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<Date>,
    /// Publish this table (Glue name) even when its row count fell beyond
    /// the quality gate's bound (repeat for several).
    #[arg(long = "force-table", value_name = "TABLE")]
    pub force_table: Vec<String>,
    #[command(flatten)]
    pub wait: Wait,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The Glue table name, e.g. shop_customers.
    #[arg(long)]
    pub table: String,
    /// The logical day (YYYY-MM-DD) whose version to go back to (default: the previous version).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<Date>,
    /// Roll back the raw table instead of the curated one.
    #[arg(long)]
    pub raw: bool,
    /// Go back even to a version made under another masking policy than the
    /// pinned one (it may publish what the pinned policy removes).
    #[arg(long)]
    pub allow_other_policy: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Versions to keep per table (default: SNAPLAKE_KEEP_VERSIONS of the deployment).
    #[arg(long)]
    pub keep: Option<u32>,
    /// Only these tables (repeatable; default: every curated table snaplake publishes).
    #[arg(long)]
    pub table: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The day whose snapshot must exist (default: yesterday in SNAPLAKE_TIME_ZONE).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<Date>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The logical day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub date: Date,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a complete starting policy from the raw tables: every column listed, personal-looking ones
    /// protected (hash_salted, redact or drop) and marked for review.
    #[command(after_help = "Example: snaplake policy init --out policy.json")]
    Init(PolicyInitArgs),
    /// Check a policy (the deployment's, or --file) against the raw tables: every problem, and the columns
    /// with no rule (their tables are not published). Exit code 2 when a table would not be published.
    #[command(after_help = "Example: snaplake policy check --file policy.json")]
    Check(PolicyCheckArgs),
}

#[derive(Debug, Args)]
pub struct PolicyInitArgs {
    /// Write the policy to this file (default: standard output).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// A policy file to check before applying it (default: the deployment's policy).
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
}
