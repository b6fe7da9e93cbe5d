//! The Web Locks API (`navigator.locks`): one holder of a named lock across every tab of the
//! origin. The sync loop runs while holding [`SYNC_LOCK`], so only one tab pushes; when that
//! tab closes, the browser hands the lock to the next waiting tab.
//!
//! web-sys keeps `LockManager` behind its unstable flag, so the calls go through Reflect.

use std::future::Future;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub const SYNC_LOCK: &str = "pronto-sync";

fn lock_manager() -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("sin ventana"))?;
    let locks = Reflect::get(&window.navigator(), &"locks".into())?;
    if locks.is_undefined() || locks.is_null() {
        return Err(JsValue::from_str("este navegador no tiene Web Locks"));
    }
    Ok(locks)
}

/// A promise and the function that resolves it.
fn deferred() -> Result<(Promise, Function), JsValue> {
    let mut resolver: Option<Function> = None;
    let promise = Promise::new(&mut |resolve, _| resolver = Some(resolve));
    let resolve = resolver.ok_or_else(|| JsValue::from_str("promise"))?;
    Ok((promise, resolve))
}

/// Waits for the exclusive lock `name`, runs `work` while holding it, then releases it.
pub async fn with_lock<T: 'static>(
    name: &str,
    work: impl Future<Output = T> + 'static,
) -> Result<T, JsValue> {
    let locks = lock_manager()?;
    let request: Function = Reflect::get(&locks, &"request".into())?.dyn_into()?;
    let (acquired, on_acquired) = deferred()?;
    let (released, release) = deferred()?;
    // The browser calls this once the lock is ours; the lock is held until the promise it
    // returns settles.
    let held = released.clone();
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let _ = on_acquired.call0(&JsValue::NULL);
        held.into()
    });
    let granted: Promise = request
        .call2(&locks, &JsValue::from_str(name), &callback)?
        .dyn_into()?;
    JsFuture::from(acquired).await?;
    // Release even if `work` is dropped half way (the page going away): the guard resolves the
    // promise on drop.
    struct Release(Function);
    impl Drop for Release {
        fn drop(&mut self) {
            let _ = self.0.call0(&JsValue::NULL);
        }
    }
    let output = {
        let _release = Release(release);
        work.await
    };
    JsFuture::from(granted).await?;
    Ok(output)
}

/// Whether some tab holds `name` right now (for the status screen).
pub async fn is_held(name: &str) -> bool {
    let Ok(locks) = lock_manager() else {
        return false;
    };
    let Ok(query) = Reflect::get(&locks, &"query".into()).and_then(|q| q.dyn_into::<Function>())
    else {
        return false;
    };
    let Ok(promise) = query.call0(&locks).and_then(|p| p.dyn_into::<Promise>()) else {
        return false;
    };
    let Ok(snapshot) = JsFuture::from(promise).await else {
        return false;
    };
    let held = Reflect::get(&snapshot, &"held".into())
        .ok()
        .and_then(|h| h.dyn_into::<js_sys::Array>().ok());
    held.is_some_and(|held| {
        held.iter().any(|lock| {
            Reflect::get(&lock, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .is_some_and(|n| n == name)
        })
    })
}
