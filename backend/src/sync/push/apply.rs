//! Applying admitted ops: change positions reserved up front, sales written together, and
//! each other op dispatched to its model's rules in its own savepoint.

use super::*;

/// Applies one admitted op in a savepoint and stores its answer. `op` is the op as sent (what
/// is stored, so a replay matches it); `effective` is its body as applied (clock bounded).
pub(super) async fn apply_one(
    conn: &mut AnyConnection,
    op: &Op,
    effective: &OpBody,
    grant: Grant,
    mut flags: Flags,
    batch: &mut Batch,
) -> Result<OpResult, AppError> {
    let (result, status, applied) = execute(conn, effective, grant, &mut flags, batch).await?;
    store_answer(op, &result, status, flags.stored(), batch)?;
    finish(&op.body, batch, &result, status, applied)?;
    Ok(result)
}

/// Change positions an op may take, reserved for the whole batch up front: one for a record
/// or stock op; a sale one for itself and one per line (its stock rows).
pub(super) fn positions(op: &Op) -> i64 {
    match op.body.model.as_str() {
        PRODUCTO | CLIENTE | EXISTENCIA => 1,
        VENTA => {
            1 + op
                .body
                .fields
                .get("lineas")
                .and_then(|l| l.as_array())
                .map_or(0, |l| l.len() as i64)
        }
        _ => 0,
    }
}

/// The products and sale ids the batch's sale ops name, for one read each.
pub(super) fn sold<'a>(ops: impl Iterator<Item = &'a Op>) -> (Vec<Uuid>, Vec<Uuid>) {
    let (mut products, mut sales) = (Vec::new(), Vec::new());
    for op in ops.filter(|op| op.body.model == VENTA) {
        sales.push(op.body.entity_id);
        let lines = op.body.fields.get("lineas").and_then(|l| l.as_array());
        for line in lines.into_iter().flatten() {
            let id = line.get("producto_id").and_then(|p| p.as_str());
            if let Some(id) = id.and_then(|p| Uuid::parse_str(p).ok()) {
                products.push(id);
            }
        }
    }
    (products, sales)
}

/// Runs the op in a savepoint: kept when applied, rolled back when refused. Creates and sales
/// need none: they are refused only before they write (validation; an INSERT that finds the
/// id, SKU or barcode taken and writes nothing; a sale's rows are only collected, and written
/// at the batch's end), and two statements per op are much of a batch's cost. Updates, deletes
/// and stock deltas may be refused after a write (a merged record failing validation).
pub(super) async fn execute(
    conn: &mut AnyConnection,
    op: &OpBody,
    grant: Grant,
    flags: &mut Flags,
    batch: &mut Batch,
) -> Result<(OpResult, &'static str, Option<Applied>), AppError> {
    if op.model == CLIENTE && op.kind != OpKind::Create && batch.customers.pending(op.entity_id) {
        // The op reads the row: the batch's collected creates go in first.
        batch.customers.flush(conn).await?;
    }
    if op.model == EXISTENCIA {
        // The batch's sales take their stock at close; a stock op reads the quantity, so
        // theirs goes first — outside the savepoint, which a refusal would roll back.
        batch.sales.flush_stock(conn).await?;
    }
    let outcome = if matches!(op.kind, OpKind::Create | OpKind::Sale | OpKind::Return) {
        dispatch(conn, op, grant, flags, batch).await?
    } else {
        let mut sp = conn.begin().await?;
        let outcome = dispatch(&mut sp, op, grant, flags, batch).await?;
        if outcome.is_ok() {
            sp.commit().await?;
        } else {
            sp.rollback().await?;
        }
        outcome
    };
    Ok(answer(op.op_id, outcome))
}

/// The op's answer, its status in `sync_ops`, and what it did.
pub(super) fn answer(
    op_id: Uuid,
    outcome: Result<Applied, Refusal>,
) -> (OpResult, &'static str, Option<Applied>) {
    match outcome {
        Ok(applied) => match &applied.conflict {
            Some(conflict) => {
                let status = if conflict.outcome == Outcome::Pending {
                    "pending"
                } else {
                    "conflict"
                };
                let result = OpResult::Conflict {
                    op_id,
                    conflict: conflict.clone(),
                };
                (result, status, Some(applied))
            }
            None => {
                let result = OpResult::Applied {
                    op_id,
                    version: applied.version,
                };
                (result, "applied", Some(applied))
            }
        },
        Err(refusal) => (refusal.into_result(op_id), "rejected", None),
    }
}

pub(super) async fn dispatch(
    conn: &mut AnyConnection,
    body: &OpBody,
    grant: Grant,
    flags: &mut Flags,
    batch: &mut Batch,
) -> Result<Result<Applied, Refusal>, AppError> {
    let (at, day) = (batch.at.clone(), batch.day.clone());
    let store_id = batch.device.store_id;
    let device_ref = movements::DeviceRef {
        id: batch.device.id,
        code: batch.device.code.clone(),
        price_floor: batch.device.price_floor,
    };
    let Some(config) = batch.config(conn, &body.model).await? else {
        return Ok(Err(Refusal::invalid(format!(
            "El modelo {} no se sincroniza.",
            body.model
        ))));
    };
    if let Some(field) = body.fields.keys().find(|f| config.is_excluded(f)) {
        return Ok(Err(Refusal::invalid(format!(
            "El campo {field} no se sincroniza."
        ))));
    }
    let author = match author_now(conn, body, grant, flags, batch).await? {
        Ok(author) => author,
        Err(refusal) => return Ok(Err(refusal)),
    };
    match (body.model.as_str(), body.kind) {
        (PRODUCTO | CLIENTE, OpKind::Create | OpKind::Update | OpKind::Delete) => {
            let action = entities::action_for(&body.model, body.kind);
            if !action.is_some_and(|a| author.can(a)) {
                return Ok(Err(Refusal::forbidden(
                    "No tienes permiso para este cambio.",
                )));
            }
            let applied = entities::apply(
                conn,
                body,
                &config,
                &at,
                &mut batch.seqs,
                &mut batch.customers,
            )
            .await?;
            if applied.is_ok() && body.model == CLIENTE && body.kind == OpKind::Create {
                batch.sales.customer_created(body.entity_id);
            }
            Ok(applied)
        }
        (EXISTENCIA, OpKind::StockDelta) => {
            let seqs = &mut batch.seqs;
            movements::stock_delta(conn, body, &author, body.author_id, store_id, &at, seqs).await
        }
        (VENTA, OpKind::Sale) => {
            movements::sale(
                conn,
                body,
                &author,
                body.author_id,
                store_id,
                device_ref,
                &at,
                &day,
                &mut batch.sales,
                &mut batch.seqs,
            )
            .await
        }
        (VENTA, OpKind::Return) => {
            movements::sale_return(
                conn,
                body,
                &author,
                store_id,
                device_ref,
                (&at, &day),
                &mut batch.sales,
                &mut batch.seqs,
            )
            .await
        }
        (model, kind) => Ok(Err(Refusal::invalid(format!(
            "{model} no admite operaciones {}.",
            kind.as_str()
        )))),
    }
}

/// The op's author as they are now, if they may still make it on this device: a known
/// author, not revoked (but see below), of the device's store.
async fn author_now(
    conn: &mut AnyConnection,
    body: &OpBody,
    grant: Grant,
    flags: &mut Flags,
    batch: &mut Batch,
) -> Result<Result<Principal, Refusal>, AppError> {
    let Some(Author {
        principal: author,
        active,
    }) = batch.author(conn, body.author_id).await?
    else {
        return Ok(Err(Refusal::forbidden(
            "El autor de la operación no existe.",
        )));
    };
    if grant.unsigned {
        flags.add("sin_firma");
    }
    // Revocation is not retroactive for facts (DESIGN §8): a sale, return or stock move signed
    // before its author's key was revoked is recorded — the shoes left while the till was
    // offline — and flagged; edits, and anything signed after, are refused. An inactive author
    // without a revocation time (deactivated outside the API) is refused outright.
    let revoked = match (grant.revoked_ms, active) {
        (Some(ms), _) => Some(ms),
        (None, false) => Some(i64::MIN),
        (None, true) => None,
    };
    if let Some(revoked_ms) = revoked {
        let fact = matches!(
            body.kind,
            OpKind::Sale | OpKind::Return | OpKind::StockDelta
        );
        let signed_before = i64::try_from(body.hlc.wall_ms).unwrap_or(i64::MAX) < revoked_ms;
        if !(fact && signed_before && !grant.unsigned) {
            return Ok(Err(Refusal::new(
                403,
                "revocada",
                "El autor o el dispositivo fue dado de baja: la operación ya no se acepta.",
            )));
        }
        flags.add("autor_revocado");
    }
    if !author.can(Action::UseDevice(batch.device.store_id)) {
        return Ok(Err(Refusal::forbidden(
            "El autor no pertenece a la tienda del dispositivo.",
        )));
    }
    Ok(Ok(author))
}

/// An op's author as the server knows them now.
#[derive(Debug, Clone, Copy)]
pub(super) struct Author {
    /// Role and store now (not when the op was made).
    pub(super) principal: Principal,
    pub(super) active: bool,
}

pub(super) async fn author(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Author>, AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT role, store_id, active FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
    let Some((role, store, active)) = row else {
        return Ok(None);
    };
    let role =
        Role::parse(&role).ok_or_else(|| AppError::Internal(format!("stored role {role:?}")))?;
    Ok(Some(Author {
        principal: Principal {
            role,
            store_id: db::uuid(&store)?,
        },
        active: active != 0,
    }))
}

/// Applies the admitted ops, highest priority first and never ahead of an op they depend on
/// (shared `apply_order`); how far ahead of the server's the device's clock was.
pub(super) async fn apply_all(
    tx: &mut AnyConnection,
    state: &AppState,
    ops: &[Op],
    accepted: Vec<(usize, i32, Grant)>,
    batch: &mut Batch,
    results: &mut [Option<OpResult>],
) -> Result<u64, AppError> {
    let ranked: Vec<_> = accepted
        .iter()
        .map(|&(i, priority, _)| (&ops[i].body, priority))
        .collect();
    let accepted: Vec<(usize, i32, Grant)> = order::apply_order(&ranked)
        .into_iter()
        .map(|k| accepted[k])
        .collect();
    let positions: i64 = accepted.iter().map(|&(i, _, _)| positions(&ops[i])).sum();
    batch.seqs = db::ChangeSeqs::reserve(&mut *tx, positions).await?;
    let (products, sale_ids) = sold(accepted.iter().map(|&(i, _, _)| &ops[i]));
    batch.sales.prefetch(&mut *tx, &products, &sale_ids).await?;
    let new_customers: Vec<Uuid> = accepted
        .iter()
        .map(|&(i, _, _)| &ops[i].body)
        .filter(|body| body.model == CLIENTE && body.kind == OpKind::Create)
        .map(|body| body.entity_id)
        .collect();
    batch.customers.prefetch(&mut *tx, &new_customers).await?;
    let now_ms = u64::try_from(state.clock.now_ms()).unwrap_or(0);
    let margin_ms = state.auth.clock_margin_ms();
    let mut clock_ahead = 0_u64;
    for (i, _, grant) in accepted {
        let op = &ops[i];
        let (effective, ahead, flags) = bounded(&op.body, now_ms, margin_ms);
        clock_ahead = clock_ahead.max(ahead);
        state.observe_hlc(&effective.hlc);
        results[i] = Some(apply_one(&mut *tx, op, &effective, grant, flags, batch).await?);
        batch.device.last_seq = batch.device.last_seq.max(op.body.seq as i64);
    }
    Ok(clock_ahead)
}
