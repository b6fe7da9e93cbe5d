//! Load program for the sync service: push apply throughput (batches of 100 and 1,000 ops,
//! 5 % of them conflicting, every op signed and its signature verified, audit on) and pull
//! throughput, next to plain INSERTs of the same number of rows into the same database in the
//! same run; then a crowd: many devices of one store pushing small batches at once (the
//! wait of one push, p50 / p99 / slowest). Prints its figures.
//!
//! On SQLite the physical baseline is raw SQLite (rusqlite, same library, same pragmas, one
//! prepared INSERT per row in one transaction, no async hand-off), measured before and after
//! the pushes: when the two differ by more than 15 % the machine was busy and the bench says
//! so. It prints the CPUs it may run on; pin it with `taskset -c 1` for pinned figures.
//!
//!     cargo run --release -p pronto-backend --example sync_bench
//!     taskset -c 1 cargo run --release -p pronto-backend --example sync_bench
//!     cargo run --release -p pronto-backend --example sync_bench -- postgres://user:pw@127.0.0.1/empty_db

use std::{collections::BTreeMap, time::Instant};

use pronto_backend::{
    auth::CurrentUser,
    db::{self, Database},
    model::{customers, devices, keys, stores, users, WriteAt},
    sync::{pull, push},
    AppState,
};
use pronto_shared::{
    api::{
        auth::{Profile, StoreRef},
        customers::CustomerInput,
    },
    sync::{
        config::CLIENTE,
        engine::base64url,
        op::{signing_message, PROTOCOL},
        signing::KeySigner,
        Hlc, Op, OpBody, OpKind, OpResult, PushRequest,
    },
    Role,
};
use serde_json::{json, Value};
use uuid::Uuid;

const ROUNDS: usize = 5;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let db = Database::connect(&url).await?;
    db.migrate().await?;
    let state = AppState::new(db.clone(), dir.path().join("dist"));
    println!("backend: {}", db.backend().as_str());

    println!("cpus allowed: {}", cpus_allowed());
    let raw_path = dir.path().join("raw.db");
    let raw_before = if db.backend().as_str() == "sqlite" {
        // A first pass creates the file and warms the page cache: not a figure.
        raw_sqlite_rate(&raw_path, 20_000)?;
        Some(raw_sqlite_rate(&raw_path, 20_000)?)
    } else {
        None
    };
    let (user, device, targets, signer) = setup(&db).await?;
    let mut push_rates = Vec::new();
    sqlx::query("CREATE TABLE bench_plain (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        .execute(db.pool())
        .await?;

    let mut seq = 0_u64;
    for batch in [100_usize, 1_000] {
        let mut push_secs = 0.0;
        let mut plain_secs = 0.0;
        let mut single_secs = 0.0;
        let mut conflicts = 0;
        for _ in 0..ROUNDS {
            // Signing is the device's work: done before the clock starts.
            let ops = ops(&user, device, &targets, &signer, &mut seq, batch);
            let started = Instant::now();
            let reply = push::push(
                &state,
                &user,
                PushRequest {
                    device_id: device,
                    ops,
                    protocolo: Some(PROTOCOL),
                },
            )
            .await?;
            push_secs += started.elapsed().as_secs_f64();
            conflicts += reply
                .results
                .iter()
                .filter(|r| matches!(r, OpResult::Conflict { .. }))
                .count();
            assert!(
                reply
                    .results
                    .iter()
                    .all(|r| !matches!(r, OpResult::Rejected { .. })),
                "{:?}",
                reply.results.first()
            );

            let started = Instant::now();
            plain_insert(&db, batch, 100).await?;
            plain_secs += started.elapsed().as_secs_f64();

            let started = Instant::now();
            plain_insert(&db, batch, 1).await?;
            single_secs += started.elapsed().as_secs_f64();
        }
        let total = (batch * ROUNDS) as f64;
        let push_rate = total / push_secs;
        push_rates.push((batch, push_rate));
        let plain_rate = total / plain_secs;
        let single_rate = total / single_secs;
        println!(
            "push, batches of {batch:>5}: {push_rate:>7.0} ops/s ({conflicts} conflicts in {} ops) | \
             INSERT 100 rows/statement {plain_rate:>7.0} rows/s (ratio {:.1} %) | \
             INSERT 1 row/statement {single_rate:>7.0} rows/s (ratio {:.1} %)",
            batch * ROUNDS,
            100.0 * push_rate / plain_rate,
            100.0 * push_rate / single_rate
        );
    }

    if let Some(before) = raw_before {
        let after = raw_sqlite_rate(&raw_path, 20_000)?;
        let baseline = before.max(after);
        println!(
            "raw SQLite, one transaction, one prepared INSERT per row: {before:.0} rows/s before, \
             {after:.0} after"
        );
        for (batch, rate) in &push_rates {
            println!(
                "push, batches of {batch:>5}: {:.1} % of raw SQLite's rate",
                100.0 * rate / baseline
            );
        }
        if (before - after).abs() / baseline > 0.15 {
            println!(
                "WARNING: the two baseline runs differ by more than 15 %: the machine was busy, \
                 these figures are not quiet ones"
            );
        }
    }

    crowd(&state, &user, &targets).await?;

    let mut conn = db.pool().acquire().await?;
    let started = Instant::now();
    let (mut cursor, mut pulled) = (0, 0);
    loop {
        let page = pull::pull(&mut conn, user.store_id(), cursor, 500).await?;
        pulled += page.changes.len();
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "pull, pages of 500: {pulled} changes in {secs:.2} s = {:.0} changes/s",
        pulled as f64 / secs
    );
    Ok(())
}

/// Tills of one store pushing at once: every one of [`CROWD_DEVICES`] devices pushes
/// [`CROWD_PUSHES`] batches of [`CROWD_BATCH`] ops (a few sales each, as a till that was
/// offline for a moment sends them), all devices concurrently. Prints the ops/s of the whole
/// crowd and the wait of one push.
async fn crowd(
    state: &AppState,
    user: &CurrentUser,
    targets: &[(Uuid, i64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let now = "2026-11-28T00:00:00.000Z";
    let mut tills = Vec::new();
    let mut tx = state.db.begin_write().await?;
    for n in 0..CROWD_DEVICES {
        let device = devices::register(
            &mut tx,
            Uuid::now_v7(),
            user.store_id(),
            &format!("Caja {n}"),
            user.id(),
            now,
        )
        .await?;
        let signer = KeySigner::from_secret(Uuid::now_v7(), rand::random());
        keys::register(
            &mut tx,
            signer.key_id,
            device.id,
            user.id(),
            &signer.public_key(),
            now,
        )
        .await?;
        tills.push((device.id, signer));
    }
    tx.commit().await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (device, signer) in tills {
        let (state, user, targets) = (state.clone(), user.clone(), targets.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut seq = 0_u64;
            let mut waits = Vec::new();
            for _ in 0..CROWD_PUSHES {
                let ops = ops(&user, device, &targets, &signer, &mut seq, CROWD_BATCH);
                let sent = Instant::now();
                let request = PushRequest {
                    device_id: device,
                    ops,
                    protocolo: Some(PROTOCOL),
                };
                let reply = push::push(&state, &user, request)
                    .await
                    .map_err(|e| e.to_string())?;
                waits.push(sent.elapsed().as_secs_f64() * 1000.0);
                if reply
                    .results
                    .iter()
                    .any(|r| matches!(r, OpResult::Rejected { .. }))
                {
                    return Err(format!("refused: {:?}", reply.results.first()));
                }
            }
            Ok::<_, String>(waits)
        }));
    }
    let mut waits = Vec::new();
    for task in tasks {
        waits.extend(task.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    waits.sort_by(f64::total_cmp);
    let at = |q: f64| waits[((waits.len() - 1) as f64 * q) as usize];
    let ops = CROWD_DEVICES * CROWD_PUSHES * CROWD_BATCH;
    println!(
        "crowd: {CROWD_DEVICES} devices at once, {CROWD_PUSHES} pushes of {CROWD_BATCH} ops each: \
         {:.0} ops/s, {:.0} pushes/s; one push's wait p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ops as f64 / secs,
        waits.len() as f64 / secs,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

const CROWD_DEVICES: usize = 64;
const CROWD_PUSHES: usize = 10;
const CROWD_BATCH: usize = 5;

type Setup = (CurrentUser, Uuid, Vec<(Uuid, i64)>, KeySigner);

async fn setup(db: &Database) -> Result<Setup, Box<dyn std::error::Error>> {
    let now = "2026-11-28T00:00:00.000Z";
    let mut tx = db.begin_write().await?;
    let store = StoreRef {
        id: Uuid::now_v7(),
        codigo: "BEN".into(),
        nombre: "Banco".into(),
        zona_horaria: pronto_shared::api::auth::DEFAULT_ZONE.into(),
    };
    stores::insert(&mut tx, &store, now).await?;
    let id = Uuid::now_v7();
    users::insert(
        &mut tx,
        &users::NewUser {
            id,
            username: "bench",
            display_name: "Bench",
            password_hash: "x",
            role: Role::Gerente,
            store_id: store.id,
        },
        now,
    )
    .await?;
    let device =
        devices::register(&mut tx, uuid::Uuid::now_v7(), store.id, "Caja", id, now).await?;
    let signer = KeySigner::from_secret(Uuid::now_v7(), rand::random());
    keys::register(
        &mut tx,
        signer.key_id,
        device.id,
        id,
        &signer.public_key(),
        now,
    )
    .await?;
    // Customers that 5 % of the ops edit from a stale version (after a server-side change).
    let mut targets = Vec::new();
    for n in 0..50 {
        let cid = Uuid::now_v7();
        let input = CustomerInput {
            id: None,
            nombre: format!("Cliente {n}"),
            telefono: None,
            email: None,
            rfc: None,
            notas: None,
            version: None,
        };
        let valid = input.validate().map_err(|e| e.to_string())?;
        let seq = db::next_change_seq(&mut tx).await?;
        customers::insert(
            &mut tx,
            cid,
            &valid,
            0,
            WriteAt {
                seq,
                at: now,
                hlc: &Hlc::zero("bench"),
            },
        )
        .await?;
        targets.push((cid, 1));
    }
    tx.commit().await?;
    let user = CurrentUser {
        profile: Profile {
            id,
            usuario: "bench".into(),
            nombre: "Bench".into(),
            rol: Role::Gerente,
            tienda: store,
        },
        token_hash: String::new(),
    };
    Ok((user, device.id, targets, signer))
}

/// `n` ops: 95 % customer creates, 5 % edits of a shared customer from version 1 — after the
/// first edit each of those conflicts (prioridad_central: the server's value stays).
fn ops(
    user: &CurrentUser,
    device: Uuid,
    targets: &[(Uuid, i64)],
    signer: &KeySigner,
    seq: &mut u64,
    n: usize,
) -> Vec<Op> {
    (0..n)
        .map(|i| {
            *seq += 1;
            let (entity, kind, base, fields): (Uuid, OpKind, Option<i64>, Value) = if i % 20 == 0 {
                let (target, base) = targets[(*seq as usize) % targets.len()];
                (
                    target,
                    OpKind::Update,
                    Some(base),
                    json!({"notas": format!("nota {seq}")}),
                )
            } else {
                (
                    Uuid::now_v7(),
                    OpKind::Create,
                    None,
                    json!({"nombre": format!("Cliente nuevo {seq}"), "telefono": "5512345678"}),
                )
            };
            let fields: BTreeMap<String, Value> = match fields {
                Value::Object(map) => map.into_iter().collect(),
                _ => BTreeMap::new(),
            };
            let body = OpBody {
                op_id: Uuid::now_v7(),
                device_id: device,
                author_id: user.id(),
                seq: *seq,
                model: CLIENTE.into(),
                entity_id: entity,
                kind,
                base_version: base,
                fields,
                hlc: Hlc {
                    wall_ms: *seq,
                    counter: 0,
                    node: "bench".into(),
                },
                priority: 50,
                v: PROTOCOL,
                key_id: Some(signer.key_id),
            };
            let signature = base64url(&signer.sign_bytes(&signing_message(&body)));
            Op::seal_signed(body, signature)
        })
        .collect()
}

/// The baseline: the same number of rows, `per_statement` rows per INSERT, one transaction.
async fn plain_insert(
    db: &Database,
    n: usize,
    per_statement: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut tx = db.begin_write().await?;
    // The placeholders the server's own multi-row writes use (`rows.rs`): anonymous on SQLite.
    let anonymous = db.backend().as_str() == "sqlite";
    for chunk in (0..n).collect::<Vec<_>>().chunks(per_statement) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| {
                if anonymous {
                    "(?, ?)".to_owned()
                } else {
                    format!("(${}, ${})", 2 * i + 1, 2 * i + 2)
                }
            })
            .collect();
        let sql = format!(
            "INSERT INTO bench_plain (id, payload) VALUES {}",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for _ in chunk {
            q = q
                .bind(Uuid::now_v7().to_string())
                .bind(r#"{"nombre":"Cliente nuevo","telefono":"5512345678"}"#);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rows per second of raw SQLite into a fresh table of `path`: WAL, `synchronous = FULL` (as the
/// server's connections), one transaction, one prepared INSERT per row.
fn raw_sqlite_rate(path: &std::path::Path, n: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         DROP TABLE IF EXISTS raw_plain; \
         CREATE TABLE raw_plain (id TEXT PRIMARY KEY, payload TEXT NOT NULL);",
    )?;
    let ids: Vec<String> = (0..n).map(|_| Uuid::now_v7().to_string()).collect();
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO raw_plain (id, payload) VALUES (?1, ?2)")?;
        for id in &ids {
            insert.execute((id, r#"{"nombre":"Cliente nuevo","telefono":"5512345678"}"#))?;
        }
    }
    tx.commit()?;
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status).
fn cpus_allowed() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
