//! The device's room for what it must not lose: the browser's storage estimate and
//! persistence grant, the warning before space runs out, and what a write refused for lack of
//! room tells the cashier.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::local_store::DATABASE_RESET;

/// What the browser says about this origin's storage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StorageInfo {
    /// `navigator.storage.persist()` granted: the browser will not evict our data.
    pub persisted: bool,
    pub usage_bytes: f64,
    pub quota_bytes: f64,
}

/// Free space below which the till warns, before a write fails: a day of sales with their
/// copies is a few MB; the catalog and its indexes take tens.
pub const LOW_SPACE_BYTES: f64 = 50.0 * 1024.0 * 1024.0;

impl StorageInfo {
    pub fn free_bytes(&self) -> f64 {
        (self.quota_bytes - self.usage_bytes).max(0.0)
    }
}

/// The warning the sync bar shows when the device is running out of room, if it is.
pub fn low_space_warning(info: Option<StorageInfo>) -> Option<String> {
    let info = info?;
    (info.quota_bytes > 0.0 && info.free_bytes() < LOW_SPACE_BYTES).then(|| {
        format!(
            "Queda poco espacio en el dispositivo ({:.0} MB): envía lo pendiente y libera espacio antes de que deje de guardar ventas.",
            info.free_bytes() / (1024.0 * 1024.0)
        )
    })
}

/// Whether a storage error is the browser refusing a write for lack of room (Chromium also
/// reports a full disk as an `UnknownError` of the backing store).
pub fn out_of_space(err: &str) -> bool {
    err.contains("QuotaExceeded") || err.contains("UnknownError")
}

/// What the person is told when the device's storage failed them.
pub fn write_failure(err: &str) -> String {
    if out_of_space(err) {
        // The browser's words (file names, LevelDB codes) are for the console, not the cashier.
        leptos::logging::warn!("{err}");
        "El dispositivo se quedó sin espacio: envía lo pendiente o libera espacio.".to_owned()
    } else if err == DATABASE_RESET {
        err.to_owned()
    } else {
        format!("Almacenamiento del dispositivo: {err}")
    }
}

/// Asks the browser to keep our data (`persist`) when `ask`, then reads the grant and quota.
pub async fn storage_info(ask: bool) -> Option<StorageInfo> {
    let manager = web_sys::window()?.navigator().storage();
    let call = |promise: Result<js_sys::Promise, JsValue>| async move {
        JsFuture::from(promise.ok()?).await.ok()
    };
    let persisted = if ask {
        call(manager.persist()).await
    } else {
        call(manager.persisted()).await
    }
    .and_then(|v| v.as_bool())
    .unwrap_or(false);
    let estimate = call(manager.estimate()).await?;
    let number = |key: &str| {
        js_sys::Reflect::get(&estimate, &key.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    Some(StorageInfo {
        persisted,
        usage_bytes: number("usage"),
        quota_bytes: number("quota"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(usage_mb: f64, quota_mb: f64) -> StorageInfo {
        StorageInfo {
            persisted: false,
            usage_bytes: usage_mb * 1024.0 * 1024.0,
            quota_bytes: quota_mb * 1024.0 * 1024.0,
        }
    }

    #[test]
    fn the_till_warns_when_less_than_fifty_megabytes_are_left_and_not_before() {
        assert_eq!(low_space_warning(None), None);
        assert_eq!(low_space_warning(Some(info(100.0, 1_000.0))), None);
        let warning = low_space_warning(Some(info(980.0, 1_000.0))).expect("warned");
        assert!(warning.contains("(20 MB)"), "{warning}");
        assert!(
            low_space_warning(Some(info(0.0, 0.0))).is_none(),
            "no estimate, no alarm"
        );
    }

    #[test]
    fn a_write_refused_for_lack_of_room_says_so_in_spanish_and_other_failures_keep_their_cause() {
        let full = write_failure("QuotaExceededError: The quota has been exceeded.");
        assert!(
            full.starts_with("El dispositivo se quedó sin espacio"),
            "{full}"
        );
        assert!(write_failure("UnknownError: Internal error.").contains("sin espacio"));
        assert_eq!(write_failure(DATABASE_RESET), DATABASE_RESET);
        assert_eq!(
            write_failure("DataError: op guardada ilegible"),
            "Almacenamiento del dispositivo: DataError: op guardada ilegible"
        );
    }
}
