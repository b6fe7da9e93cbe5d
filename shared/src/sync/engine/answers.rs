//! How a push's answers settle the outbox, and the one-task join that overlaps storage work
//! with the network.

use std::{
    future::{poll_fn, Future},
    pin::pin,
    task::Poll,
};

use super::{DeadLetter, Settlement, SyncReport, RESEALABLE};
use crate::sync::{op::Op, protocol::OpResult};

/// Counts the answers into `report`; returns what they settle for good (applied, duplicate,
/// conflict, held, refused): the seqs, the dead letters of the refused ops and the ops that
/// took their place at the server, acknowledged at `at_ms`.
pub(super) fn tally(
    batch: &[Op],
    results: &[OpResult],
    report: &mut SyncReport,
    at_ms: u64,
) -> Settlement {
    let mut settled = Settlement {
        at_ms,
        ..Settlement::default()
    };
    for op in batch {
        let Some(result) = results.iter().find(|r| r.op_id() == op.body.op_id) else {
            continue;
        };
        report.pushed += 1;
        if !result.is_final() {
            continue;
        }
        match (result, result.original()) {
            (OpResult::Duplicate { .. }, _) => report.duplicates += 1,
            (_, OpResult::Applied { .. }) => report.applied += 1,
            (_, OpResult::Conflict { .. }) => report.conflicts += 1,
            (_, OpResult::Held { .. }) => report.held += 1,
            _ => {}
        }
        if let OpResult::Rejected {
            status,
            code,
            reason,
            ..
        } = result.original()
        {
            settled.letters.push(DeadLetter {
                op: op.clone(),
                status: *status,
                code: code.clone(),
                reason: reason.clone(),
            });
            report.dead_lettered += 1;
        }
        settled.seqs.push(op.body.seq);
        if result.took_place() {
            settled.acked.push(op.clone());
        }
        let misplaced = matches!(result.original(),
            OpResult::Rejected { code, .. } if RESEALABLE.contains(&code.as_str()));
        if !misplaced {
            report.answered.push(op.body.op_id);
        }
    }
    settled
}

/// Runs two futures at once on the current task and waits for both (the engine runs on the
/// browser's single thread, where this is how IndexedDB work overlaps a fetch).
pub(super) async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut left, mut right) = (None, None);
    poll_fn(move |cx| {
        if left.is_none() {
            if let Poll::Ready(value) = a.as_mut().poll(cx) {
                left = Some(value);
            }
        }
        if right.is_none() {
            if let Poll::Ready(value) = b.as_mut().poll(cx) {
                right = Some(value);
            }
        }
        match (left.take(), right.take()) {
            (Some(l), Some(r)) => Poll::Ready((l, r)),
            (l, r) => {
                left = l;
                right = r;
                Poll::Pending
            }
        }
    })
    .await
}
