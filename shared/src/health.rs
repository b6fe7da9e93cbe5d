//! `GET /api/health`: what the server reports about itself.
//!
//! The browser's connection indicator polls it as a heartbeat, so it must stay small and
//! cheap; an operator reads it to see the version running and whether the database answers.

use serde::{Deserialize, Serialize};

/// Overall state: `ok` when the server can serve requests end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    /// The process answers but a dependency (the database) does not.
    Degraded,
}

/// The database as the server last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Whether a trivial query succeeded just now.
    pub reachable: bool,
    /// Number of schema migrations applied.
    pub migrations: i64,
    /// Whether it took a write within the last few seconds (a database that answers reads
    /// but takes no write cannot accept a sale).
    #[serde(default = "yes")]
    pub writable: bool,
}

fn yes() -> bool {
    true
}

/// Body of `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    pub status: HealthStatus,
    /// The server's crate version, e.g. `0.1.0`.
    pub version: String,
    pub database: DatabaseStatus,
    /// The op formats (sync protocol versions) this server accepts; an app whose own is not
    /// among them is told to update (a push without one is answered 426).
    #[serde(default)]
    pub protocolos: Vec<u32>,
}

impl HealthReport {
    /// Status follows from the parts, so it can never contradict them.
    pub fn new(version: impl Into<String>, database: DatabaseStatus) -> Self {
        let status = if database.reachable && database.writable {
            HealthStatus::Ok
        } else {
            HealthStatus::Degraded
        };
        Self {
            status,
            version: version.into(),
            database,
            protocolos: crate::sync::op::ACCEPTED_PROTOCOLS.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(reachable: bool) -> DatabaseStatus {
        DatabaseStatus {
            writable: reachable,
            backend: "sqlite".into(),
            reachable,
            migrations: 1,
        }
    }

    #[test]
    fn report_is_ok_only_when_database_is_reachable() {
        assert_eq!(
            HealthReport::new("1.0.0", db(true)).status,
            HealthStatus::Ok
        );
        assert_eq!(
            HealthReport::new("1.0.0", db(false)).status,
            HealthStatus::Degraded
        );
    }

    #[test]
    fn report_round_trips_through_json_with_snake_case_status() {
        let report = HealthReport::new("0.1.0", db(true));
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""status":"ok""#), "{json}");
        let back: HealthReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
