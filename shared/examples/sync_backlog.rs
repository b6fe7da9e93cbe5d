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
//!
//! Sale ids and op ids are UUIDv7 of the sale's time, as the till makes them (`Uuid::now_v7`
//! in the web app): sales one millisecond apart from `START_MS`. The rest of each id comes
//! from the device id and the sale's number, so one device's backlog is the same every run.

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

/// The first sale's time (2025-11-28, 03:20 UTC), in Unix milliseconds.
const START_MS: u64 = 1_764_300_000_000;

/// A UUIDv7 of `millis`, the rest of it filled from `salt` (distinct per id of the backlog).
fn v7(millis: u64, salt: u128) -> Uuid {
    let bytes: [u8; 16] = salt.to_le_bytes();
    let mut rest = [0_u8; 10];
    rest.copy_from_slice(&bytes[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &rest).into_uuid()
}

/// The engine is only recorded with here; nothing is sent.
struct Nowhere;

impl Transport for Nowhere {
    async fn push(&self, _: PushRequest) -> Result<PushReply, TransportError> {
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
    // The engine asks for one op id per recorded change, in order: the n-th is the n-th sale's.
    let mut op_number = 0_u64;
    engine.op_ids = Box::new(move || {
        let id = v7(
            START_MS + op_number,
            base ^ (u128::from(op_number) << 1 | 1),
        );
        op_number += 1;
        id
    });
    let secret: [u8; 32] = (base ^ identity.author_id.as_u128())
        .to_le_bytes()
        .repeat(2)[..32]
        .try_into()?;
    let signer = KeySigner::from_secret(Uuid::from_u128(base.rotate_left(7)), secret);
    for n in 0..count {
        let product = &products[(n as usize) % products.len()];
        let price = product["precio"].as_i64().ok_or("precio")?;
        let id = v7(START_MS + n, base ^ (u128::from(n) << 1));
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
        ready(engine.record(change, START_MS + n, &signer)).map_err(|e| e.0)?;
    }
    let ops: Vec<_> = engine.storage.outbox.values().collect();
    let out = json!({"key_id": signer.key_id, "public_key": signer.public_key(), "ops": ops});
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
