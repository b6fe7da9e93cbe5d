//! The conflict rules as pure functions (DESIGN §5). The server loads a row, asks [`decide`]
//! what an op does to it, and writes what [`apply`] returns; the simulation and the property
//! tests call the very same functions.
//!
//! A field conflicts when the server changed it after the version the op started from
//! (`stamp.version > base_version`); edits of different fields merge silently. An update of a
//! deleted row, or a delete of a row changed since the base, is an update-vs-delete conflict.
//! Every field written takes the op's HLC as its stamp, so under `ultima_modificacion` the
//! value with the latest HLC wins whatever order the ops arrive in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{config::Strategy, hlc::Hlc};

/// When and by which clock a field (or the row's deleted flag) last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldStamp {
    pub version: i64,
    pub hlc: Hlc,
}

/// A synced row as the rules see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowState {
    pub version: i64,
    pub deleted: bool,
    /// Stamp of the last delete or undelete.
    pub deleted_stamp: Option<FieldStamp>,
    pub fields: BTreeMap<String, Value>,
    pub stamps: BTreeMap<String, FieldStamp>,
}

/// What the strategy did with a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The device's values were kept.
    LocalWins,
    /// The server's values were kept.
    ServerWins,
    /// Field by field, some of each (`ultima_modificacion`).
    Merged,
    /// Held for a manager (`manual`).
    Pending,
}

/// Everything a manager needs to see about a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictRecord {
    pub fields: Vec<String>,
    pub update_vs_delete: bool,
    pub strategy: Strategy,
    pub outcome: Outcome,
    pub base_version: Option<i64>,
    pub server_version: i64,
    /// The op's values of the conflicting fields.
    pub local: BTreeMap<String, Value>,
    /// The server's values of the conflicting fields when the op arrived.
    pub server: BTreeMap<String, Value>,
}

/// What an op does to a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Decision {
    /// Write these fields and set the deleted flag; the row gets a new version.
    Write {
        fields: BTreeMap<String, Value>,
        deleted: bool,
        conflict: Option<ConflictRecord>,
    },
    /// Change nothing (the server's state stands).
    Keep { conflict: Option<ConflictRecord> },
    /// Change nothing now; a manager decides later.
    Hold { conflict: ConflictRecord },
}

impl Decision {
    pub fn conflict(&self) -> Option<&ConflictRecord> {
        match self {
            Self::Write { conflict, .. } | Self::Keep { conflict } => conflict.as_ref(),
            Self::Hold { conflict } => Some(conflict),
        }
    }
}

/// What an op asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<'a> {
    Update(&'a BTreeMap<String, Value>),
    Delete,
}

/// Decides an update or delete of an existing row.
pub fn decide(
    row: &RowState,
    change: Change<'_>,
    base_version: i64,
    op_hlc: &Hlc,
    strategy: Strategy,
) -> Decision {
    match change {
        Change::Update(fields) => decide_update(row, fields, base_version, op_hlc, strategy),
        Change::Delete => decide_delete(row, base_version, op_hlc, strategy),
    }
}

fn changed_since(row: &RowState, field: &str, base_version: i64) -> bool {
    row.stamps
        .get(field)
        .is_some_and(|s| s.version > base_version)
}

fn record(
    row: &RowState,
    fields: Vec<String>,
    local: &BTreeMap<String, Value>,
    update_vs_delete: bool,
    strategy: Strategy,
    outcome: Outcome,
    base_version: i64,
) -> ConflictRecord {
    let pick = |source: &BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        fields
            .iter()
            .filter_map(|f| source.get(f).map(|v| (f.clone(), v.clone())))
            .collect()
    };
    ConflictRecord {
        local: pick(local),
        server: pick(&row.fields),
        fields,
        update_vs_delete,
        strategy,
        outcome,
        base_version: Some(base_version),
        server_version: row.version,
    }
}

/// A conflict's end: `None` when a manager must decide (held), else the outcome and what is
/// written (`None`: nothing, the server's state stands).
type Settlement = Option<(Outcome, Option<(BTreeMap<String, Value>, bool)>)>;

/// The decision for a conflict on `fields` of `row`, with its record.
fn conclude(
    row: &RowState,
    (fields, local): (Vec<String>, &BTreeMap<String, Value>),
    update_vs_delete: bool,
    (strategy, base_version): (Strategy, i64),
    settlement: Settlement,
) -> Decision {
    let outcome = settlement.as_ref().map_or(Outcome::Pending, |(o, _)| *o);
    let conflict = record(
        row,
        fields,
        local,
        update_vs_delete,
        strategy,
        outcome,
        base_version,
    );
    match settlement {
        None => Decision::Hold { conflict },
        Some((_, None)) => Decision::Keep {
            conflict: Some(conflict),
        },
        Some((_, Some((fields, deleted)))) => Decision::Write {
            fields,
            deleted,
            conflict: Some(conflict),
        },
    }
}

fn decide_update(
    row: &RowState,
    fields: &BTreeMap<String, Value>,
    base_version: i64,
    op_hlc: &Hlc,
    strategy: Strategy,
) -> Decision {
    if row.deleted {
        // Update-vs-delete, settled for the whole row.
        let local_newer = row.deleted_stamp.as_ref().is_none_or(|s| *op_hlc > s.hlc);
        let settlement = settle_whole_row(strategy, local_newer)
            .map(|(outcome, resurrect)| (outcome, resurrect.then(|| (fields.clone(), false))));
        let all: Vec<String> = fields.keys().cloned().collect();
        return conclude(
            row,
            (all, fields),
            true,
            (strategy, base_version),
            settlement,
        );
    }
    let conflicting: Vec<String> = fields
        .keys()
        .filter(|f| changed_since(row, f, base_version))
        .cloned()
        .collect();
    if conflicting.is_empty() {
        return Decision::Write {
            fields: fields.clone(),
            deleted: false,
            conflict: None,
        };
    }
    let settlement = settle_fields(row, fields, &conflicting, op_hlc, strategy)
        .map(|(write, outcome)| (outcome, (!write.is_empty()).then_some((write, false))));
    let at = (strategy, base_version);
    conclude(row, (conflicting, fields), false, at, settlement)
}

/// Which of the op's fields are written when some conflict, and what that makes of the
/// conflict; `None` when a manager must decide.
fn settle_fields(
    row: &RowState,
    fields: &BTreeMap<String, Value>,
    conflicting: &[String],
    op_hlc: &Hlc,
    strategy: Strategy,
) -> Option<(BTreeMap<String, Value>, Outcome)> {
    let pick = |keep: &dyn Fn(&String) -> bool| -> BTreeMap<String, Value> {
        fields
            .iter()
            .filter(|(f, _)| keep(f))
            .map(|(f, v)| (f.clone(), v.clone()))
            .collect()
    };
    match strategy {
        Strategy::Manual => None,
        Strategy::PrioridadTienda => Some((fields.clone(), Outcome::LocalWins)),
        Strategy::PrioridadCentral => {
            Some((pick(&|f| !conflicting.contains(f)), Outcome::ServerWins))
        }
        Strategy::UltimaModificacion => {
            let local_wins = |f: &String| row.stamps.get(f).is_none_or(|s| *op_hlc > s.hlc);
            let won = conflicting.iter().filter(|f| local_wins(f)).count();
            let outcome = match won {
                0 => Outcome::ServerWins,
                n if n == conflicting.len() => Outcome::LocalWins,
                _ => Outcome::Merged,
            };
            Some((
                pick(&|f| !conflicting.contains(f) || local_wins(f)),
                outcome,
            ))
        }
    }
}

fn decide_delete(row: &RowState, base_version: i64, op_hlc: &Hlc, strategy: Strategy) -> Decision {
    if row.deleted {
        return Decision::Keep { conflict: None };
    }
    let changed: Vec<String> = row
        .stamps
        .keys()
        .filter(|f| changed_since(row, f, base_version))
        .cloned()
        .collect();
    if changed.is_empty() {
        return Decision::Write {
            fields: BTreeMap::new(),
            deleted: true,
            conflict: None,
        };
    }
    let latest_change = changed
        .iter()
        .filter_map(|f| row.stamps.get(f))
        .map(|s| &s.hlc)
        .max();
    let local_newer = latest_change.is_none_or(|h| op_hlc > h);
    let settlement = settle_whole_row(strategy, local_newer)
        .map(|(outcome, delete)| (outcome, delete.then(|| (BTreeMap::new(), true))));
    let none = BTreeMap::new();
    conclude(
        row,
        (changed, &none),
        true,
        (strategy, base_version),
        settlement,
    )
}

/// Update-vs-delete is settled for the whole row: `(outcome, the device's side happens)`, or
/// `None` when a manager must decide.
fn settle_whole_row(strategy: Strategy, local_newer: bool) -> Option<(Outcome, bool)> {
    match strategy {
        Strategy::Manual => None,
        Strategy::PrioridadCentral => Some((Outcome::ServerWins, false)),
        Strategy::PrioridadTienda => Some((Outcome::LocalWins, true)),
        Strategy::UltimaModificacion if local_newer => Some((Outcome::LocalWins, true)),
        Strategy::UltimaModificacion => Some((Outcome::ServerWins, false)),
    }
}

/// A server-side edit made on the row's current version (a REST edit, a manager's
/// resolution), so it cannot conflict. Only the fields whose value changes are written, unless
/// `restamp`: a resolution re-stamps every chosen field so the choice keeps winning by HLC.
pub fn edit(row: &RowState, fields: &BTreeMap<String, Value>, restamp: bool) -> Decision {
    let write: BTreeMap<String, Value> = fields
        .iter()
        .filter(|(f, v)| restamp || row.fields.get(*f) != Some(*v))
        .map(|(f, v)| (f.clone(), v.clone()))
        .collect();
    if write.is_empty() {
        Decision::Keep { conflict: None }
    } else {
        Decision::Write {
            fields: write,
            deleted: false,
            conflict: None,
        }
    }
}

/// A new row from a create op: every field stamped at version 1.
pub fn create(fields: &BTreeMap<String, Value>, op_hlc: &Hlc) -> RowState {
    let stamp = FieldStamp {
        version: 1,
        hlc: op_hlc.clone(),
    };
    RowState {
        version: 1,
        deleted: false,
        deleted_stamp: None,
        fields: fields.clone(),
        stamps: fields.keys().map(|f| (f.clone(), stamp.clone())).collect(),
    }
}

/// The row after `decision`, or `None` when nothing changes.
pub fn apply(row: &RowState, decision: &Decision, op_hlc: &Hlc) -> Option<RowState> {
    let Decision::Write {
        fields, deleted, ..
    } = decision
    else {
        return None;
    };
    let version = row.version + 1;
    let stamp = FieldStamp {
        version,
        hlc: op_hlc.clone(),
    };
    let mut next = row.clone();
    next.version = version;
    for (field, value) in fields {
        next.fields.insert(field.clone(), value.clone());
        next.stamps.insert(field.clone(), stamp.clone());
    }
    if *deleted != row.deleted {
        next.deleted = *deleted;
        next.deleted_stamp = Some(stamp);
    }
    Some(next)
}

/// Stock after a delta: deltas commute and never conflict; below zero is flagged for the
/// manager, never refused (the shoes already left the store). `None` only on overflow.
pub fn apply_stock_delta(quantity: i64, delta: i64) -> Option<(i64, bool)> {
    let next = quantity.checked_add(delta)?;
    Some((next, next < 0))
}

#[cfg(test)]
mod tests;
