use proptest::prelude::{any, prop_assert_eq, prop_oneof, proptest, Just, Strategy as _};
use serde_json::json;

use super::*;

fn hlc(wall_ms: u64, node: &str) -> Hlc {
    Hlc {
        wall_ms,
        counter: 0,
        node: node.into(),
    }
}

fn fields(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A product at version 1, then its price changed by the server at version 2 (HLC 20).
fn row() -> RowState {
    let base = create(
        &fields(&[("nombre", json!("Oxford")), ("precio", json!(100))]),
        &hlc(10, "srv"),
    );
    let decision = decide(
        &base,
        Change::Update(&fields(&[("precio", json!(120))])),
        1,
        &hlc(20, "srv"),
        Strategy::Manual,
    );
    apply(&base, &decision, &hlc(20, "srv")).unwrap()
}

#[test]
fn edits_of_different_fields_merge_without_conflict() {
    let row = row();
    let op = fields(&[("nombre", json!("Oxford Clásico"))]);
    for strategy in Strategy::ALL {
        let decision = decide(&row, Change::Update(&op), 1, &hlc(15, "dev"), strategy);
        assert_eq!(
            decision,
            Decision::Write {
                fields: op.clone(),
                deleted: false,
                conflict: None
            },
            "{strategy:?}"
        );
    }
}

#[test]
fn same_field_conflict_under_each_strategy() {
    let row = row();
    let op = fields(&[("precio", json!(90)), ("nombre", json!("Oxford 2"))]);
    let older = hlc(15, "dev");
    let newer = hlc(25, "dev");

    let central = decide(
        &row,
        Change::Update(&op),
        1,
        &newer,
        Strategy::PrioridadCentral,
    );
    assert_eq!(central.conflict().unwrap().outcome, Outcome::ServerWins);
    let Decision::Write {
        fields: written, ..
    } = &central
    else {
        panic!("{central:?}")
    };
    assert_eq!(
        written,
        &fields(&[("nombre", json!("Oxford 2"))]),
        "non-conflicting field still merges"
    );

    let tienda = decide(
        &row,
        Change::Update(&op),
        1,
        &older,
        Strategy::PrioridadTienda,
    );
    assert_eq!(tienda.conflict().unwrap().outcome, Outcome::LocalWins);
    assert!(matches!(&tienda, Decision::Write { fields, .. } if fields == &op));

    let lww_old = decide(
        &row,
        Change::Update(&op),
        1,
        &older,
        Strategy::UltimaModificacion,
    );
    assert_eq!(lww_old.conflict().unwrap().outcome, Outcome::ServerWins);
    let lww_new = decide(
        &row,
        Change::Update(&op),
        1,
        &newer,
        Strategy::UltimaModificacion,
    );
    assert_eq!(lww_new.conflict().unwrap().outcome, Outcome::LocalWins);

    let manual = decide(&row, Change::Update(&op), 1, &newer, Strategy::Manual);
    let Decision::Hold { conflict } = manual else {
        panic!("manual holds")
    };
    assert_eq!(conflict.fields, vec!["precio"]);
    assert_eq!(conflict.local["precio"], json!(90));
    assert_eq!(conflict.server["precio"], json!(120));
    assert_eq!(
        (conflict.base_version, conflict.server_version),
        (Some(1), 2)
    );
}

#[test]
fn update_of_a_deleted_row_is_an_update_vs_delete_conflict() {
    let row = row();
    let deleted = apply(
        &row,
        &decide(&row, Change::Delete, 2, &hlc(30, "srv"), Strategy::Manual),
        &hlc(30, "srv"),
    )
    .unwrap();
    assert!(deleted.deleted);
    let op = fields(&[("precio", json!(1))]);

    let tienda = decide(
        &deleted,
        Change::Update(&op),
        2,
        &hlc(25, "dev"),
        Strategy::PrioridadTienda,
    );
    assert!(tienda.conflict().unwrap().update_vs_delete);
    assert!(
        !apply(&deleted, &tienda, &hlc(25, "dev")).unwrap().deleted,
        "the store's edit brings it back"
    );
    let central = decide(
        &deleted,
        Change::Update(&op),
        2,
        &hlc(25, "dev"),
        Strategy::PrioridadCentral,
    );
    assert!(matches!(central, Decision::Keep { .. }));
    let lww = decide(
        &deleted,
        Change::Update(&op),
        2,
        &hlc(25, "dev"),
        Strategy::UltimaModificacion,
    );
    assert!(matches!(lww, Decision::Keep { .. }), "the delete is newer");
    assert!(matches!(
        decide(
            &deleted,
            Change::Update(&op),
            2,
            &hlc(25, "dev"),
            Strategy::Manual
        ),
        Decision::Hold { .. }
    ));
}

#[test]
fn delete_of_a_row_changed_since_the_base_is_a_conflict_and_of_an_unchanged_one_is_not() {
    let row = row();
    let clean = decide(
        &row,
        Change::Delete,
        2,
        &hlc(25, "dev"),
        Strategy::PrioridadCentral,
    );
    assert_eq!(
        clean,
        Decision::Write {
            fields: BTreeMap::new(),
            deleted: true,
            conflict: None
        }
    );

    let stale = decide(
        &row,
        Change::Delete,
        1,
        &hlc(25, "dev"),
        Strategy::PrioridadCentral,
    );
    assert!(
        matches!(&stale, Decision::Keep { conflict: Some(c) } if c.update_vs_delete && c.outcome == Outcome::ServerWins)
    );
    let twice = apply(&row, &clean, &hlc(25, "dev")).unwrap();
    assert_eq!(
        decide(&twice, Change::Delete, 1, &hlc(26, "dev"), Strategy::Manual),
        Decision::Keep { conflict: None }
    );
}

#[test]
fn stock_deltas_flag_negative_and_refuse_only_overflow() {
    assert_eq!(apply_stock_delta(2, -3), Some((-1, true)));
    assert_eq!(apply_stock_delta(-1, 5), Some((4, false)));
    assert_eq!(apply_stock_delta(i64::MAX, 1), None);
}

// ---- properties ----

const FIELDS: [&str; 5] = ["a", "b", "c", "d", "e"];

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    prop_oneof![
        Just(Strategy::UltimaModificacion),
        Just(Strategy::PrioridadCentral),
        Just(Strategy::PrioridadTienda),
        Just(Strategy::Manual),
    ]
}

fn start() -> RowState {
    create(
        &FIELDS.iter().map(|f| ((*f).to_owned(), json!(0))).collect(),
        &hlc(1, "srv"),
    )
}

/// Applies `ops` (fields, hlc) in order, all based on the starting version.
fn run(ops: &[(BTreeMap<String, Value>, Hlc)], order: &[usize], strategy: Strategy) -> RowState {
    let mut row = start();
    for &i in order {
        let (fields, op_hlc) = &ops[i];
        let decision = decide(&row, Change::Update(fields), 1, op_hlc, strategy);
        if let Some(next) = apply(&row, &decision, op_hlc) {
            row = next;
        }
    }
    row
}

proptest! {
    #[test]
    fn decisions_are_deterministic(
        strategy in strategy(),
        base in 0_i64..4,
        values in proptest::collection::vec(0_i64..5, 1..5),
        wall in 0_u64..100,
        delete in any::<bool>(),
    ) {
        let row = run(&[(fields(&[("a", json!(7))]), hlc(50, "x"))], &[0], Strategy::PrioridadTienda);
        let op: BTreeMap<String, Value> = values.iter().enumerate().map(|(i, v)| (FIELDS[i].to_owned(), json!(v))).collect();
        let change = if delete { Change::Delete } else { Change::Update(&op) };
        let first = decide(&row, change.clone(), base, &hlc(wall, "d"), strategy);
        let second = decide(&row, change, base, &hlc(wall, "d"), strategy);
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(apply(&row, &first, &hlc(wall, "d")), apply(&row, &second, &hlc(wall, "d")));
    }

    #[test]
    fn non_conflicting_ops_give_the_same_state_in_any_order(
        strategy in strategy(),
        assignment in proptest::collection::vec(0_usize..4, FIELDS.len()),
        values in proptest::collection::vec(1_i64..1000, FIELDS.len()),
        order in Just((0..4).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        // Each field belongs to at most one of four concurrent ops: disjoint edits.
        let mut ops: Vec<(BTreeMap<String, Value>, Hlc)> =
            (0..4).map(|i| (BTreeMap::new(), hlc(10 + i as u64, &format!("dev{i}")))).collect();
        for (f, op) in assignment.iter().enumerate() {
            ops[*op].0.insert(FIELDS[f].to_owned(), json!(values[f]));
        }
        let ops: Vec<_> = ops.into_iter().filter(|(f, _)| !f.is_empty()).collect();
        let identity: Vec<usize> = (0..ops.len()).collect();
        let shuffled: Vec<usize> = order.into_iter().filter(|i| *i < ops.len()).collect();
        let a = run(&ops, &identity, strategy);
        let b = run(&ops, &shuffled, strategy);
        prop_assert_eq!(&a.fields, &b.fields);
        prop_assert_eq!(a.version, b.version);
        prop_assert_eq!(a.deleted, b.deleted);
    }

    #[test]
    fn latest_hlc_wins_every_field_in_any_order(
        ops in proptest::collection::vec(
            (proptest::collection::btree_map(0_usize..5, 0_i64..100, 1..4), 0_u64..1000),
            1..6,
        ),
        order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let ops: Vec<(BTreeMap<String, Value>, Hlc)> = ops
            .into_iter()
            .enumerate()
            .map(|(i, (f, wall))| {
                let fields = f.into_iter().map(|(k, v)| (FIELDS[k].to_owned(), json!(v))).collect();
                (fields, hlc(2 + wall, &format!("dev{i}")))
            })
            .collect();
        let identity: Vec<usize> = (0..ops.len()).collect();
        let shuffled: Vec<usize> = order.into_iter().filter(|i| *i < ops.len()).collect();
        let a = run(&ops, &identity, Strategy::UltimaModificacion);
        let b = run(&ops, &shuffled, Strategy::UltimaModificacion);
        prop_assert_eq!(&a.fields, &b.fields);
        for field in FIELDS {
            let winner = ops.iter().filter(|(f, _)| f.contains_key(field)).max_by(|x, y| x.1.cmp(&y.1));
            let expected = winner.map_or(json!(0), |(f, _)| f[field].clone());
            prop_assert_eq!(&a.fields[field], &expected, "field {}", field);
        }
    }

    #[test]
    fn stock_deltas_commute(deltas in proptest::collection::vec(-50_i64..50, 0..40), order in any::<u64>()) {
        let mut shuffled = deltas.clone();
        let k = (order as usize) % (shuffled.len().max(1));
        shuffled.rotate_left(k);
        shuffled.reverse();
        let sum = |ds: &[i64]| ds.iter().try_fold(5_i64, |q, d| apply_stock_delta(q, *d).map(|(n, _)| n));
        prop_assert_eq!(sum(&deltas), sum(&shuffled));
    }
}
