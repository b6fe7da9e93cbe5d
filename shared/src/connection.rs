//! Whether the client can reach the server, from two imperfect signals.
//!
//! `navigator.onLine` says only that the device has *a* network (it stays `true` on a store
//! Wi-Fi whose uplink is down); a heartbeat to `/api/health` says the server answers. Neither
//! alone is enough, so the state is derived from both, here, where the sync engine and the UI
//! read the same answer.

use serde::{Deserialize, Serialize};

/// What the device knows about its link to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// The device has a network but no heartbeat has answered yet.
    Checking,
    /// The last heartbeat reached a healthy server.
    Online,
    /// The device reports no network at all.
    Offline,
    /// The device has a network, but the server did not answer the last heartbeat.
    ServerUnreachable,
}

/// Result of the latest heartbeat, if one has finished since the network last came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Unknown,
    Ok,
    Failed,
}

impl ConnectionState {
    /// Combines the two signals. A device without network is offline whatever an old
    /// heartbeat said; with network, the heartbeat decides.
    pub fn derive(navigator_online: bool, heartbeat: Heartbeat) -> Self {
        match (navigator_online, heartbeat) {
            (false, _) => Self::Offline,
            (true, Heartbeat::Unknown) => Self::Checking,
            (true, Heartbeat::Ok) => Self::Online,
            (true, Heartbeat::Failed) => Self::ServerUnreachable,
        }
    }

    /// Whether ops can be sent to the server now.
    pub fn can_sync(self) -> bool {
        self == Self::Online
    }

    /// Short label for the always-visible indicator (es-MX).
    pub fn label(self) -> &'static str {
        match self {
            Self::Checking => "Conectando…",
            Self::Online => "En línea",
            Self::Offline => "Sin conexión",
            Self::ServerUnreachable => "Sin conexión al servidor",
        }
    }

    /// Stable name for CSS classes, data attributes and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Online => "online",
            Self::Offline => "offline",
            Self::ServerUnreachable => "server_unreachable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_network_means_offline_even_after_a_good_heartbeat() {
        assert_eq!(
            ConnectionState::derive(false, Heartbeat::Ok),
            ConnectionState::Offline
        );
    }

    #[test]
    fn network_with_failed_heartbeat_is_server_unreachable_and_cannot_sync() {
        let state = ConnectionState::derive(true, Heartbeat::Failed);
        assert_eq!(state, ConnectionState::ServerUnreachable);
        assert!(!state.can_sync());
    }

    #[test]
    fn only_a_good_heartbeat_on_a_network_allows_sync() {
        let all = [Heartbeat::Unknown, Heartbeat::Ok, Heartbeat::Failed];
        for online in [false, true] {
            for hb in all {
                let state = ConnectionState::derive(online, hb);
                assert_eq!(
                    state.can_sync(),
                    online && hb == Heartbeat::Ok,
                    "{online} {hb:?}"
                );
            }
        }
    }

    #[test]
    fn labels_are_spanish_and_distinct() {
        let states = [
            ConnectionState::Checking,
            ConnectionState::Online,
            ConnectionState::Offline,
            ConnectionState::ServerUnreachable,
        ];
        let labels: std::collections::BTreeSet<_> = states.iter().map(|s| s.label()).collect();
        assert_eq!(labels.len(), states.len());
        assert_eq!(ConnectionState::Online.label(), "En línea");
    }
}
