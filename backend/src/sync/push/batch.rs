//! One batch's shared state and what each op leaves behind: its `sync_ops` row, its
//! conflict record and its audit entry, written together when the batch closes.

use super::*;

/// What every op of one batch shares: the device, the time, the open end of the audit chain,
/// and the configuration and authors read once per batch (they cannot change under the
/// batch's write transaction).
pub struct Batch {
    pub device: DeviceCtx,
    pub at: String,
    pub day: String,
    /// Where the batch's new row ids come from (`Clock::new_id`).
    pub(super) clock: Arc<dyn Clock>,
    pub(super) chain: audit::Chain,
    /// Answers of new ops and their conflict records, written at close (in that order: a
    /// conflict refers to its op).
    pub(super) answers: Rows,
    pub(super) conflicts: Rows,
    pub(super) configs: HashMap<String, Option<ModelConfig>>,
    pub(super) authors: HashMap<Uuid, Option<Author>>,
    /// Change positions reserved for the batch's writes.
    pub(super) seqs: db::ChangeSeqs,
    /// The batch's sales, written together at close.
    pub(super) sales: SaleWriter,
    /// The batch's new customers, written together at close (or before an op reads one).
    pub(super) customers: NewCustomers,
}

impl Batch {
    pub async fn open(
        conn: &mut AnyConnection,
        device: DeviceCtx,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AppError> {
        let chain = audit::Chain::open(conn).await?;
        // The store's day, not UTC's: a sale at 20:30 in Mexico City is that day's sale.
        let zone = crate::model::stores::time_zone(conn, device.store_id).await?;
        Ok(Self {
            at: clock.now_rfc3339(),
            day: clock.today_in(&zone),
            device,
            clock,
            chain,
            answers: Rows::new("sync_ops", ANSWER_COLUMNS),
            conflicts: Rows::new("sync_conflicts", CONFLICT_COLUMNS),
            configs: HashMap::new(),
            authors: HashMap::new(),
            seqs: db::ChangeSeqs::default(),
            sales: SaleWriter::new(),
            customers: NewCustomers::default(),
        })
    }

    /// Writes the collected answers, conflicts and audit entries and the audit head; call
    /// before committing.
    pub async fn close(mut self, conn: &mut AnyConnection) -> Result<DeviceCtx, AppError> {
        // Customers first: the batch's sales may name them.
        self.customers.flush(conn).await?;
        self.sales.flush(conn).await?;
        self.answers.flush(conn).await?;
        self.conflicts.flush(conn).await?;
        self.chain.close(conn).await?;
        Ok(self.device)
    }

    pub(super) async fn config(
        &mut self,
        conn: &mut AnyConnection,
        model: &str,
    ) -> Result<Option<ModelConfig>, AppError> {
        if let Some(cached) = self.configs.get(model) {
            return Ok(cached.clone());
        }
        let config = config_store::get(conn, model).await?;
        self.configs.insert(model.to_owned(), config.clone());
        Ok(config)
    }

    pub(super) async fn author(
        &mut self,
        conn: &mut AnyConnection,
        id: Uuid,
    ) -> Result<Option<Author>, AppError> {
        if let Some(cached) = self.authors.get(&id) {
            return Ok(*cached);
        }
        let principal = author(conn, id).await?;
        self.authors.insert(id, principal);
        Ok(principal)
    }
}

impl Batch {
    /// Chains the audit entry of `body` under this batch's device, by `user`.
    pub(super) fn audit(
        &mut self,
        body: &OpBody,
        user: Uuid,
        result: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        let entry = Entry {
            at: self.at.clone(),
            user_id: Some(user.to_string()),
            device_id: Some(self.device.id.to_string()),
            op_id: Some(body.op_id.to_string()),
            model: body.model.clone(),
            entity_id: body.entity_id.to_string(),
            result: result.to_owned(),
            before,
            after,
        };
        self.chain.append(&entry);
    }
}

pub(super) const ANSWER_COLUMNS: &[&str] = &[
    "op_id",
    "device_id",
    "seq",
    "payload_hash",
    "author_id",
    "store_id",
    "model",
    "entity_id",
    "kind",
    "status",
    "result",
    "op",
    "received_at",
    "flag",
];

pub(super) const CONFLICT_COLUMNS: &[&str] = &[
    "id",
    "op_id",
    "model",
    "entity_id",
    "store_id",
    "record",
    "status",
    "created_at",
];

/// Stores an op for a manager to accept or discard (`pending`, answered `held`), audited.
pub(super) fn hold(op: &Op, reason: &'static str, batch: &mut Batch) -> Result<OpResult, AppError> {
    let result = OpResult::Held {
        op_id: op.body.op_id,
        reason: reason.to_owned(),
    };
    store_answer(op, &result, "pending", None, batch)?;
    let after = Some(serde_json::json!({"motivo": reason}));
    batch.audit(&op.body, op.body.author_id, "held", None, after);
    Ok(result)
}

/// Adds the op's answer to the batch's `sync_ops` rows.
pub(super) fn store_answer(
    op: &Op,
    result: &OpResult,
    status: &str,
    flag: Option<String>,
    batch: &mut Batch,
) -> Result<(), AppError> {
    let (device, at) = (&batch.device, batch.at.clone());
    let body = &op.body;
    let result_json =
        serde_json::to_string(result).map_err(|e| AppError::Internal(e.to_string()))?;
    let op_json = serde_json::to_string(op).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.answers.push(vec![
        Cell::from(body.op_id.to_string()),
        Cell::from(device.id.to_string()),
        Cell::from(i64::try_from(body.seq).unwrap_or(i64::MAX)),
        Cell::from(op.payload_hash()),
        Cell::from(body.author_id.to_string()),
        Cell::from(device.store_id.to_string()),
        Cell::from(body.model.as_str()),
        Cell::from(body.entity_id.to_string()),
        Cell::from(body.kind.as_str()),
        Cell::from(status.to_owned()),
        Cell::from(result_json),
        Cell::from(op_json),
        Cell::from(at.as_str()),
        Cell::from(flag),
    ]);
    Ok(())
}

/// Records the conflict (if any) and chains the audit entry.
pub(super) fn finish(
    body: &OpBody,
    batch: &mut Batch,
    result: &OpResult,
    status: &str,
    applied: Option<Applied>,
) -> Result<(), AppError> {
    if let Some(conflict) = applied.as_ref().and_then(|a| a.conflict.as_ref()) {
        record_conflict(batch, body, conflict)?;
    }
    let (before, after) = applied.map_or((None, None), |a| (a.before, a.after));
    let after = after.or_else(|| match result {
        OpResult::Rejected { reason, .. } => Some(serde_json::json!({"motivo": reason})),
        _ => None,
    });
    batch.audit(body, body.author_id, status, before, after);
    Ok(())
}

pub(super) fn record_conflict(
    batch: &mut Batch,
    op: &OpBody,
    conflict: &ConflictRecord,
) -> Result<(), AppError> {
    let status = if conflict.outcome == Outcome::Pending {
        "pending"
    } else {
        "resolved"
    };
    let record = serde_json::to_string(conflict).map_err(|e| AppError::Internal(e.to_string()))?;
    batch.conflicts.push(vec![
        Cell::from(batch.clock.new_id().to_string()),
        Cell::from(op.op_id.to_string()),
        Cell::from(op.model.as_str()),
        Cell::from(op.entity_id.to_string()),
        Cell::from(batch.device.store_id.to_string()),
        Cell::from(record),
        Cell::from(status),
        Cell::from(batch.at.as_str()),
    ]);
    Ok(())
}

/// Refusals decided before storage are audited too (tampered, reused, out of order).
pub(super) fn audit_rejection(
    op: &Op,
    result: &OpResult,
    user: &CurrentUser,
    batch: &mut Batch,
) -> Result<(), AppError> {
    let OpResult::Rejected { code, reason, .. } = result else {
        return Ok(());
    };
    // Under the device that sent it (not the one the op claims): a refusal belongs to the
    // store whose device pushed it.
    let after = Some(serde_json::json!({"codigo": code, "motivo": reason}));
    batch.audit(&op.body, user.id(), "rejected", None, after);
    Ok(())
}
