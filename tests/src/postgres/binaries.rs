//! Finding the PostgreSQL server programs (`initdb`, `pg_ctl`) on this machine.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// Where Debian's `postgresql-NN` packages put the server programs, which are not on `PATH`.
const DEBIAN_LIB_DIR: &str = "/usr/lib/postgresql";

/// The directory holding `initdb` and `pg_ctl`.
#[derive(Debug, Clone)]
pub(super) struct PgBin {
    dir: PathBuf,
}

// === impl PgBin ===

impl PgBin {
    /// `$PG_BIN` if set, else the newest `/usr/lib/postgresql/<version>/bin`, else `PATH`.
    pub(super) fn find() -> anyhow::Result<Self> {
        if let Some(dir) = std::env::var_os("PG_BIN").filter(|dir| !dir.is_empty()) {
            let dir = PathBuf::from(dir);
            if !has_server_programs(&dir) {
                bail!(
                    "PG_BIN={} has no initdb and pg_ctl: point it at a PostgreSQL bin directory",
                    dir.display()
                );
            }
            return Ok(Self { dir });
        }
        if let Some(dir) = newest_debian_bin_dir() {
            return Ok(Self { dir });
        }
        if let Some(dir) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .find(|dir| has_server_programs(dir))
        {
            return Ok(Self { dir });
        }
        bail!(
            "PostgreSQL server binaries not found: install postgresql or set PG_BIN / DATABASE_URL"
        )
    }

    /// Path of one program in this directory, e.g. `initdb`.
    pub(super) fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A `PATH` entry like `/usr/bin` may have `psql` (the client package) but not the server.
fn has_server_programs(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// Several major versions can be installed side by side; prefer the newest.
fn newest_debian_bin_dir() -> Option<PathBuf> {
    std::fs::read_dir(DEBIAN_LIB_DIR)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            // Version directories are named "15", "16", or "9.6" for old releases.
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> =
                name.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server_programs(bin))
        .max_by(|(left, _), (right, _)| left.cmp(right))
        .map(|(_, bin)| bin)
}
