//! Everything a seed produced, as text: every row of every table of the server's database and
//! every device's storage. Two runs of one seed must give the same bytes, or a failing seed
//! could not be replayed to find its cause.

use pronto_shared::sync::memory::MemoryStorage;
use std::fmt::Write;

use sqlx::Row;

use crate::world::Sim;

/// Tables whose rows say when and how the database was created (its random instance id, the
/// migrations' install times), not what the seed did.
const NOT_STATE: &[&str] = &["_sqlx_migrations", "app_instance"];

pub async fn of(sim: &Sim) -> String {
    let pool = sim.state.db.pool();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .expect("tables");
    let mut out = String::new();
    for table in tables.iter().filter(|t| !NOT_STATE.contains(&t.as_str())) {
        let columns: Vec<String> =
            sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(pool)
                .await
                .expect("columns")
                .iter()
                .map(|row| row.get::<String, _>(0))
                .collect();
        // SQLite's `quote` renders any value (text, integer, real, blob, null) unambiguously.
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {row} FROM \"{table}\" ORDER BY 1"))
                .fetch_all(pool)
                .await
                .expect("rows");
        let _ = writeln!(out, "## {table} ({})", columns.join(", "));
        for row in rows {
            let _ = writeln!(out, "{row}");
        }
    }
    for device in &sim.devices {
        // The server database's identity is random per run (`app_instance`); the rest of what
        // the device keeps must be the same.
        let storage = device.engine.as_ref().map(|e| MemoryStorage {
            server_instance: e
                .storage
                .server_instance
                .as_ref()
                .map(|_| "(server)".into()),
            ..e.storage.clone()
        });
        let _ = writeln!(out, "## device {}\n{storage:?}", device.id);
    }
    let _ = writeln!(out, "## totals\n{}", sim.totals());
    out
}
