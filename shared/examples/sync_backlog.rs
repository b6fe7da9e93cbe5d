//! Writes a device's backlog of sale ops as the real client engine makes them (MemoryStorage
//! outbox), for the browser replay benchmark (`tests/bench/replay.mjs`), which loads them into
//! the page's IndexedDB outbox.
//!
//!     cargo run --release -p pronto-shared --example sync_backlog -- DEVICE AUTHOR PRODUCTS.json COUNT > ops.json
//!
//! PRODUCTS.json: `[{"id": "…", "precio": 129900}, …]`; every sale is one pair of one of them,
//! paid in cash, exact. The ops are signed by a fresh key; the output is
//! `{"key_id", "public_key", "ops"}`, and the key must be registered for (DEVICE, AUTHOR)
//! (`POST /api/devices/DEVICE/claves` in AUTHOR's session) before the ops are pushed.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use pronto_shared::sync::{
    config::VENTA,
    engine::{Identity, LocalChange, SyncEngine, Transport, TransportError},
    memory::MemoryStorage,
    signing::KeySigner,
    OpKind, PullReply, PushReply, PushRequest,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// The engine is only recorded with here; nothing is sent.
struct Nowhere;

impl Transport for Nowhere {
    async fn push(&mut self, _: PushRequest) -> Result<PushReply, TransportError> {
        Err(TransportError::Unreachable)
    }
    async fn pull(&mut self, _: i64, _: i64) -> Result<PullReply, TransportError> {
        Err(TransportError::Unreachable)
    }
}

/// Memory storage never waits, so polling once finishes every future.
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [device, author, products, count] = args.as_slice() else {
        return Err("usage: sync_backlog DEVICE AUTHOR PRODUCTS.json COUNT".into());
    };
    let identity = Identity {
        device_id: Uuid::parse_str(device)?,
        author_id: Uuid::parse_str(author)?,
    };
    let products: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(products)?)?;
    if products.is_empty() {
        return Err("no products".into());
    }
    let count: u64 = count.parse()?;
    let mut engine = ready(SyncEngine::open(
        MemoryStorage::default(),
        Nowhere,
        identity,
        1,
    ))
    .map_err(|e| e.0)?;
    let base = identity.device_id.as_u128();
    let secret: [u8; 32] = (base ^ identity.author_id.as_u128())
        .to_le_bytes()
        .repeat(2)[..32]
        .try_into()?;
    let signer = KeySigner::from_secret(Uuid::from_u128(base.rotate_left(7)), secret);
    for n in 0..count {
        let product = &products[(n as usize) % products.len()];
        let price = product["precio"].as_i64().ok_or("precio")?;
        let id = uuid::Builder::from_random_bytes((base ^ (u128::from(n) << 1)).to_le_bytes())
            .into_uuid();
        let fields = json!({
            "id": id,
            "lineas": [{"producto_id": product["id"], "cantidad": 1, "precio_unitario": price}],
            "pagos": [{"metodo": "efectivo", "monto": price}],
        });
        let Value::Object(map) = fields else {
            return Err("fields".into());
        };
        let change = LocalChange {
            model: VENTA.into(),
            entity_id: id,
            kind: OpKind::Sale,
            base_version: None,
            fields: map.into_iter().collect::<BTreeMap<_, _>>(),
            priority: 100,
        };
        ready(engine.record(change, 1_764_300_000_000 + n, &signer)).map_err(|e| e.0)?;
    }
    let ops: Vec<_> = engine.storage.outbox.values().collect();
    let out = json!({"key_id": signer.key_id, "public_key": signer.public_key(), "ops": ops});
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
