//! The `roost` command: `serve` (the default), `migrate` and `openapi`.

use clap::{Parser, Subcommand};
use roost::{Application, Config, app, db, docs, telemetry};

#[derive(Parser)]
#[command(name = "roost", version, about = "A social media API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve HTTP until SIGINT or SIGTERM (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document to stdout.
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        println!("{}", docs::openapi().to_pretty_json()?);
        return Ok(());
    }

    let config = Config::from_env()?;
    telemetry::init();
    match command {
        Command::Migrate => {
            db::migrate(&config).await?;
            tracing::info!(database = %db::redact(&config.database_url), "migrations applied");
        }
        Command::Serve => {
            Application::build(config)
                .await?
                .run_until(app::shutdown_signal())
                .await?;
        }
        Command::Openapi => unreachable!("handled above"),
    }
    Ok(())
}
