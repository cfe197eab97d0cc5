//! Where the desktop console's configuration comes from: the platform's
//! directories by default, a config file, then environment variables.

use std::path::PathBuf;

use wardwatch::config::{ConfigFile, ConsoleConfig, ENV_CONFIG};

/// The console's configuration: data in the platform data directory unless
/// the file (`$WARDWATCH_CONFIG`, else `config.toml` in the platform config
/// directory) or the environment (`WARDWATCH_DATA_DIR`, `WARDWATCH_LISTEN`)
/// says otherwise.
pub fn resolve_config(
    data_dir: Option<PathBuf>,
    config_dir: Option<PathBuf>,
) -> anyhow::Result<ConsoleConfig> {
    let env = |k: &str| std::env::var(k).ok();
    let file_path = env(ENV_CONFIG)
        .map(PathBuf::from)
        .or_else(|| config_dir.map(|d| d.join("config.toml")).filter(|p| p.exists()));
    let file = file_path.as_deref().map(ConfigFile::read).transpose()?.unwrap_or_default();
    let default_dir = data_dir.unwrap_or_else(|| PathBuf::from("wardwatch-data"));
    let config = ConsoleConfig::new(default_dir).with_file(file).with_env(env)?.validate()?;
    tracing::info!(data_dir = %config.data_dir.display(), config_file = ?file_path, "Configuration resolved.");
    Ok(config)
}
