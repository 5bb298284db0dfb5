use std::process::ExitCode;

use clap::Parser;
use sigil_server::{Application, Config, Options, shutdown_signal};

/// Sigil: an email-onboarded, self-custodial key vault for Nostr.
#[derive(Debug, Parser)]
#[command(name = "sigil-server", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copy the database (consistently, while the server runs) and the key files into a new
    /// directory; `sigil-server --data-dir DIR` starts from the copy.
    Backup {
        /// Directory to create for the copy.
        dest: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_options(cli.options) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("sigil-server: {error}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(sigil_server::log_filter(&config.log))
        .with_target(false)
        .init();

    if let Some(Command::Backup { dest }) = cli.command {
        return backup(&config, &dest).await;
    }

    let app = match Application::build(&config).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)] // the command's report is its output
async fn backup(config: &Config, dest: &std::path::Path) -> ExitCode {
    match sigil_server::backup::backup(config, dest).await {
        Ok(report) => {
            println!(
                "backed up {} account(s) to {}",
                report.accounts,
                report.database.display()
            );
            for file in &report.key_files {
                println!("copied {}", file.display());
            }
            for key in &report.keys_from_config {
                println!("the {key} comes from your configuration: keep it with this backup");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sigil-server: backup failed: {error}");
            ExitCode::FAILURE
        }
    }
}
