//! The server's apply of an op equals the pure conflict rule: random histories of updates and
//! deletes (random bases, clocks, field sets, strategies) go through `sync::entities::apply` on
//! the real database and through `conflict::decide` + `records::settle` in memory; after every
//! op the answer (version, conflict, refusal) and the stored row (fields, stamps, version,
//! deleted flag and stamp) must be the same. The shared property tests cover the rule; this
//! covers that production writes exactly what the rule returns.

use std::collections::BTreeMap;

use pronto_backend::{
    db::{ChangeSeqs, Database},
    model::{customers::NewCustomers, synced},
    sync::entities,
};
use pronto_shared::sync::{
    config::{CLIENTE, PRODUCTO},
    conflict::{self, Change, RowState},
    records, Hlc, ModelConfig, OpBody, OpKind, Strategy as Resolution,
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{fixtures, helpers::test_dirs};

/// One op of a history: delete or update of a few fields, from a base version picked among
/// the versions that existed, at a random clock.
#[derive(Debug, Clone)]
struct Step {
    delete: bool,
    fields: Vec<(usize, usize)>,
    base_back: i64,
    wall_ms: u64,
    node: u8,
}

/// Editable fields per model, each with canonical values (what validation keeps as given).
fn choices(model: &str) -> Vec<(&'static str, Vec<Value>)> {
    if model == PRODUCTO {
        vec![
            ("nombre", vec![json!("Oxford Uno"), json!("Oxford Dos")]),
            ("color", vec![json!("Negro"), json!("Café"), json!("Azul")]),
            (
                "precio",
                vec![json!(129_900), json!(99_900), json!(150_000)],
            ),
            ("talla", vec![json!(26.5), json!(25.0), json!(27.5)]),
            ("activo", vec![json!(true), json!(false)]),
        ]
    } else {
        vec![
            ("nombre", vec![json!("Ana López"), json!("Beatriz Ruiz")]),
            (
                "telefono",
                vec![Value::Null, json!("5512345678"), json!("3398765432")],
            ),
            (
                "notas",
                vec![json!(""), json!("Talla 26"), json!("Cliente frecuente")],
            ),
            ("email", vec![Value::Null, json!("ana@example.com")]),
        ]
    }
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop::bool::weighted(0.25),
        prop::collection::vec((0usize..5, 0usize..3), 1..4),
        0i64..4,
        1u64..400,
        0u8..3,
    )
        .prop_map(|(delete, fields, base_back, wall_ms, node)| Step {
            delete,
            fields,
            base_back,
            wall_ms,
            node,
        })
}

fn initial(model: &str, n: u64) -> BTreeMap<String, Value> {
    let value = if model == PRODUCTO {
        serde_json::to_value(fixtures::product_input(n)).unwrap_or_default()
    } else {
        json!({"nombre": "Ana López", "telefono": null, "email": null, "rfc": null, "notas": ""})
    };
    let mut fields: BTreeMap<String, Value> = match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    fields.remove("id");
    fields.remove("version");
    fields
}

fn op(
    model: &str,
    entity: Uuid,
    kind: OpKind,
    fields: BTreeMap<String, Value>,
    hlc: Hlc,
) -> OpBody {
    OpBody {
        op_id: Uuid::now_v7(),
        device_id: Uuid::now_v7(),
        author_id: Uuid::now_v7(),
        seq: 1,
        model: model.into(),
        entity_id: entity,
        kind,
        base_version: None,
        fields,
        hlc,
        priority: 0,
        v: 2,
        key_id: None,
    }
}

/// Runs one history on both sides; `Err` names the first difference.
async fn run(
    db: &Database,
    (model, strategy, n): (&str, Resolution, u64),
    steps: &[Step],
) -> Result<(), String> {
    let config = ModelConfig {
        model: model.into(),
        excluded_fields: vec![],
        critico: false,
        estrategia: strategy,
        prioridad: 0,
    };
    let entity = Uuid::now_v7();
    let at = "2026-11-30T12:00:00.000Z";
    let start = Hlc {
        wall_ms: 1,
        counter: 0,
        node: "c".into(),
    };
    let mut create = initial(model, n);
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    let mut seqs = ChangeSeqs::reserve(&mut tx, 1)
        .await
        .map_err(|e| e.to_string())?;
    let body = op(model, entity, OpKind::Create, create.clone(), start.clone());
    // A push collects new customers and writes them when its batch closes.
    let mut new_customers = NewCustomers::default();
    new_customers
        .prefetch(&mut tx, &[entity])
        .await
        .map_err(|e| e.to_string())?;
    entities::apply(&mut tx, &body, &config, at, &mut seqs, &mut new_customers)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|r| format!("create refused: {}", r.reason))?;
    new_customers
        .flush(&mut tx)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    if model == CLIENTE {
        create.insert("puntos".into(), json!(0));
    }
    let mut pure: RowState = conflict::create(&create, &start);
    compare(db, model, entity, &pure, "after the create").await?;

    let fields = choices(model);
    for (i, s) in steps.iter().enumerate() {
        let hlc = Hlc {
            wall_ms: s.wall_ms,
            counter: i as u32,
            node: format!("d{}", s.node),
        };
        let base = (pure.version - s.base_back).max(1);
        let mut body = op(model, entity, OpKind::Update, BTreeMap::new(), hlc.clone());
        body.base_version = Some(base);
        let change = if s.delete {
            body.kind = OpKind::Delete;
            Change::Delete
        } else {
            for (f, v) in &s.fields {
                let (name, values) = &fields[f % fields.len()];
                body.fields
                    .insert((*name).into(), values[v % values.len()].clone());
            }
            Change::Update(&body.fields)
        };
        let decision = conflict::decide(&pure, change, base, &hlc, strategy);
        let expected = records::settle(model, &pure, &decision, &hlc);

        let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
        let mut seqs = ChangeSeqs::reserve(&mut tx, 1)
            .await
            .map_err(|e| e.to_string())?;
        let got = entities::apply(&mut tx, &body, &config, at, &mut seqs, &mut new_customers)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        match (expected, got) {
            (Ok(settled), Ok(applied)) => {
                if let Some(settled) = settled {
                    pure = settled.row;
                }
                if applied.version != pure.version
                    || applied.conflict.as_ref() != decision.conflict()
                {
                    return Err(format!(
                        "step {i}: server answered version {} conflict {:?}; rule: {} {:?}",
                        applied.version,
                        applied.conflict,
                        pure.version,
                        decision.conflict()
                    ));
                }
            }
            (Err(_), Err(_)) => {}
            (expected, got) => {
                return Err(format!(
                    "step {i}: rule {:?}, server refused: {:?}",
                    expected.map(|_| "writes"),
                    got.err().map(|r| r.reason)
                ))
            }
        }
        compare(db, model, entity, &pure, &format!("after step {i} {s:?}")).await?;
    }
    Ok(())
}

async fn compare(
    db: &Database,
    model: &str,
    entity: Uuid,
    pure: &RowState,
    when: &str,
) -> Result<(), String> {
    let mut conn = db.pool().acquire().await.map_err(|e| e.to_string())?;
    let stored = synced::load(&mut conn, model, entity)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the row vanished")?;
    if &stored.row != pure {
        return Err(format!("{when}: stored {:#?}\nrule {pure:#?}", stored.row));
    }
    Ok(())
}

#[test]
fn server_apply_writes_exactly_what_the_shared_conflict_rule_returns() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_dir, _dist, url) = rt.block_on(test_dirs());
    let db = rt.block_on(async {
        let db = Database::connect(&url).await.expect("database opens");
        db.migrate().await.expect("migrations apply");
        db
    });
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let history = (
        prop::bool::ANY,
        prop::sample::select(Resolution::ALL.to_vec()),
        prop::collection::vec(step(), 1..14),
    );
    // Every run, shrinking reruns too, makes a product of its own: SKUs are unique.
    let n = std::sync::atomic::AtomicU64::new(7000);
    runner
        .run(&history, |(product, strategy, steps)| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let model = if product { PRODUCTO } else { CLIENTE };
            rt.block_on(run(&db, (model, strategy, n), &steps))
                .map_err(TestCaseError::fail)
        })
        .expect("server and rule agree");
}
