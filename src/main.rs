//! The `roost` command: `serve` (the default), `migrate`, `seed` and `openapi`.

use clap::{Parser, Subcommand};
use roost::{Application, Config, app, config, db, docs, seed, telemetry};

#[derive(Parser)]
#[command(
    name = "roost",
    version,
    about = "A social media API server",
    after_long_help = config::environment_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve HTTP until SIGINT or SIGTERM (the default).
    #[command(after_long_help = config::environment_help())]
    Serve,
    /// Apply pending migrations and exit.
    #[command(after_long_help = config::environment_help())]
    Migrate,
    /// Print the OpenAPI document to stdout.
    Openapi,
    /// Apply pending migrations, then fill the (empty) database with a large synthetic
    /// dataset: users, follows, posts with hashtags, likes. The same seed gives the same data.
    #[command(after_long_help = config::environment_help())]
    Seed {
        /// Number of users.
        #[arg(long, default_value_t = seed::DEFAULT_USERS)]
        users: u32,
        /// Distinct users each user follows.
        #[arg(long, default_value_t = seed::DEFAULT_FOLLOWS_PER_USER)]
        follows_per_user: u32,
        /// Posts each user writes.
        #[arg(long, default_value_t = seed::DEFAULT_POSTS_PER_USER)]
        posts_per_user: u32,
        /// Distinct posts each user likes.
        #[arg(long, default_value_t = seed::DEFAULT_LIKES_PER_USER)]
        likes_per_user: u32,
        /// Seed of every random choice.
        #[arg(long, default_value_t = seed::DEFAULT_SEED)]
        seed: u64,
        /// Password of every seeded account.
        #[arg(long, default_value = seed::DEFAULT_PASSWORD)]
        password: String,
        /// Days over which posts, follows and likes are spread, up to now.
        #[arg(long, default_value_t = seed::DEFAULT_DAYS)]
        days: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_blocks_to_the_os();
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
        Command::Seed {
            users,
            follows_per_user,
            posts_per_user,
            likes_per_user,
            seed,
            password,
            days,
        } => {
            let options = seed::SeedOptions {
                users,
                follows_per_user,
                posts_per_user,
                likes_per_user,
                seed,
                password,
                days,
            };
            println!("{}", seed::run(&config, &options).await?);
        }
        Command::Openapi => unreachable!("handled above"),
    }
    Ok(())
}

/// Each Argon2 hash allocates its whole memory cost (19 MiB by default) and frees it at the
/// end. glibc's malloc serves a block that large with `mmap`, but on its first `free` raises
/// its mmap threshold above it, so every later block comes from a per-thread arena that never
/// shrinks: after a few hundred logins on the blocking pool's threads the process sat at
/// 600 MiB. A fixed threshold keeps large blocks on `mmap`, unmapped as soon as they are freed.
///
/// Fixing it also leaves the trim threshold at its 128 KiB default, and SQLite's per-statement
/// scratch space (the temporary b-trees of a sort) crosses that on every page of posts: each
/// arena was shrunk with `madvise` and faulted back in on every request, a TLB shoot-down
/// each time. Free space at the top of an arena is now kept up to a few MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_os() {
    const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    const THRESHOLD_BYTES: std::ffi::c_int = 1 << 20;
    const TRIM_BYTES: std::ffi::c_int = 8 << 20;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: `mallopt` only sets an allocator parameter; glibc takes its own lock.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES);
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_os() {}
