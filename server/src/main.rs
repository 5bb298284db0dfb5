use std::process::ExitCode;

use clap::Parser;
use sigil_server::{Application, Config, Options, shutdown_signal};

/// Sigil: an email-onboarded, self-custodial key vault for Nostr.
#[derive(Debug, Parser)]
#[command(name = "sigil-server", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
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
