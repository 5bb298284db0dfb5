use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use sigil_server::onion::{self, OnionDir};
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
    /// Run behind a Tor onion service.
    Onion {
        #[command(subcommand)]
        command: OnionCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum OnionCommand {
    /// Print the torrc lines that publish this server as an onion service.
    Torrc,
    /// Tor v3 client authorization: only clients with a key can reach the service.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ClientCommand {
    /// Issue a key to NAME and print the line for its Tor's .auth_private file (shown once).
    Add { name: String },
    /// List the clients that have a key.
    List,
    /// Delete NAME's key; Tor refuses it once reloaded.
    Revoke {
        name: String,
        /// Revoke even the last client, which makes the service public: Tor turns client
        /// authorization off when no key is left.
        #[arg(long)]
        force: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = sigil_server::config::defaults_in_help(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
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

    match cli.command {
        Some(Command::Backup { dest }) => return backup(&config, &dest).await,
        Some(Command::Onion { command }) => return onion(&config, command),
        None => {}
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

#[allow(clippy::print_stdout, clippy::print_stderr)] // the command's report is its output
fn onion(config: &Config, command: OnionCommand) -> ExitCode {
    let dir = OnionDir::new(&config.onion_dir);
    let outcome = match command {
        OnionCommand::Torrc => onion::torrc(&config.onion_dir, config.listen).map(|lines| {
            if !config.listen.ip().is_loopback() {
                eprintln!(
                    "note: the server listens on {}, which is reachable without Tor; \
                     behind an onion service, listen on 127.0.0.1",
                    config.listen
                );
            }
            print!("{lines}");
        }),
        OnionCommand::Client {
            command: ClientCommand::Add { name },
        } => dir.add(&name).map(|key| {
            // The line alone on stdout, so that it can be redirected into a file.
            println!("{}", key.auth_private.as_str());
            eprintln!(
                "Added {name}. Give {name} the line above over a private channel: it goes in a \
                 file ending .auth_private in the ClientOnionAuthDir of their Tor. It is kept \
                 nowhere else; if it is lost, revoke {name} and add it again. Reload Tor \
                 (systemctl reload tor, or SIGHUP) for the key to work."
            );
        }),
        OnionCommand::Client {
            command: ClientCommand::List,
        } => dir.list().map(|clients| {
            for client in &clients {
                if client.valid {
                    println!("{}", client.name);
                } else {
                    println!(
                        "{}\t(not a valid key file, or not owned by Tor's user: Tor skips it)",
                        client.name
                    );
                }
            }
            if clients.is_empty() {
                eprintln!("no clients: without any, every Tor user who knows the address can reach the service");
            }
        }),
        OnionCommand::Client {
            command: ClientCommand::Revoke { name, force },
        } => dir.revoke(&name, force).map(|file| {
            eprintln!(
                "Revoked {name} (deleted {}). Reload Tor (systemctl reload tor, or SIGHUP) for it \
                 to take effect.",
                file.display()
            );
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sigil-server: {error}");
            ExitCode::FAILURE
        }
    }
}
