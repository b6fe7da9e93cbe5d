//! How a push's answers settle the outbox, and the one-task join that overlaps storage work
//! with the network.

use std::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
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
    for (i, op) in batch.iter().enumerate() {
        // The server answers in the order sent; a search only if it did not.
        let result = results
            .get(i)
            .filter(|r| r.op_id() == op.body.op_id)
            .or_else(|| results.iter().find(|r| r.op_id() == op.body.op_id));
        let Some(result) = result else {
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

/// Waits for `current` and `work` on the current task. After each step of `work`, `start` may
/// send another request ahead (once it returns one it is not asked again); that request is
/// polled along with them (a native transport only moves when polled) but not waited for.
/// Returns both outputs and the request sent ahead, still running or already answered.
pub(super) async fn with_ahead<'a, T: 'a, W: Future>(
    current: Pin<Box<dyn Future<Output = T> + 'a>>,
    work: W,
    mut start: impl FnMut() -> Option<Pin<Box<dyn Future<Output = T> + 'a>>>,
) -> (T, W::Output, Option<Pin<Box<dyn Future<Output = T> + 'a>>>) {
    let (mut current, mut work) = (current, pin!(work));
    let mut started = false;
    let (mut answer, mut done) = (None, None);
    let mut ahead: Option<Pin<Box<dyn Future<Output = T> + 'a>>> = None;
    let mut ahead_answer = None;
    let (answer, done) = poll_fn(|cx| {
        if answer.is_none() {
            if let Poll::Ready(value) = current.as_mut().poll(cx) {
                answer = Some(value);
            }
        }
        if done.is_none() {
            if let Poll::Ready(value) = work.as_mut().poll(cx) {
                done = Some(value);
            }
            if !started {
                ahead = start();
                started = ahead.is_some();
            }
        }
        if let Some(running) = ahead.as_mut() {
            if let Poll::Ready(value) = running.as_mut().poll(cx) {
                ahead = None;
                ahead_answer = Some(value);
            }
        }
        match (answer.take(), done.take()) {
            (Some(answer), Some(done)) => Poll::Ready((answer, done)),
            (a, d) => {
                answer = a;
                done = d;
                Poll::Pending
            }
        }
    })
    .await;
    let ahead = match (ahead, ahead_answer) {
        (Some(running), _) => Some(running),
        (None, Some(value)) => Some(Box::pin(std::future::ready(value)) as _),
        (None, None) => None,
    };
    (answer, done, ahead)
}
