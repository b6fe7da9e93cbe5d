//! The faulty network between the simulated devices and the real server logic.

use std::{cell::RefCell, rc::Rc};

use pronto_backend::{
    auth::CurrentUser,
    sync::{pull, push},
    AppState,
};
use pronto_shared::sync::{
    engine::{Transport, TransportError},
    PullReply, PushReply, PushRequest,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Fault rates of one seed.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// A request never arrives.
    pub loss: f64,
    /// A request arrives twice.
    pub duplication: f64,
    /// A request is held back and arrives later (after newer ones).
    pub delay: f64,
    /// Only the first part of a batch arrives, and the reply is lost.
    pub cut: f64,
    /// The server commits, then "crashes" before replying.
    pub crash_after_commit: f64,
}

/// Shared by every device's transport: the server, the generator, the held-back requests.
pub struct Net {
    pub state: AppState,
    pub rng: ChaCha8Rng,
    pub faults: Faults,
    pub faults_on: bool,
    pub delayed: Vec<(CurrentUser, PushRequest)>,
    pub stats: NetStats,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct NetStats {
    pub lost: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub cut: u64,
    pub crashed: u64,
}

impl Net {
    fn roll(&mut self, rate: fn(&Faults) -> f64) -> bool {
        let p = rate(&self.faults).clamp(0.0, 1.0);
        self.faults_on && self.rng.gen_bool(p)
    }

    /// Delivers held-back requests (their replies go nowhere: the device gave up on them).
    pub async fn deliver_delayed(&mut self, all: bool) {
        let mut keep = Vec::new();
        for (user, request) in std::mem::take(&mut self.delayed) {
            if all || self.rng.gen_bool(0.5) {
                // The answer is lost; an error here (e.g. 403) changes nothing either.
                let _ = push::push(&self.state, &user, request).await;
            } else {
                keep.push((user, request));
            }
        }
        self.delayed = keep;
    }
}

pub struct SimTransport {
    pub net: Rc<RefCell<Net>>,
    pub user: CurrentUser,
    pub store: Uuid,
    pub online: Rc<RefCell<bool>>,
}

fn status_of(err: &pronto_backend::AppError) -> TransportError {
    TransportError::Status(err.status().as_u16())
}

impl Transport for SimTransport {
    async fn push(&mut self, mut request: PushRequest) -> Result<PushReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let mut net = self.net.borrow_mut();
        if net.roll(|f| f.loss) {
            net.stats.lost += 1;
            return Err(TransportError::Unreachable);
        }
        if net.roll(|f| f.delay) {
            net.stats.delayed += 1;
            net.delayed.push((self.user.clone(), request));
            return Err(TransportError::Unreachable);
        }
        if request.ops.len() > 1 && net.roll(|f| f.cut) {
            net.stats.cut += 1;
            let keep = net.rng.gen_range(1..request.ops.len());
            request.ops.truncate(keep);
            let _ = push::push(&net.state, &self.user, request).await;
            return Err(TransportError::Unreachable);
        }
        let state = net.state.clone();
        let mut reply = push::push(&state, &self.user, request.clone())
            .await
            .map_err(|e| status_of(&e))?;
        if net.roll(|f| f.duplication) {
            net.stats.duplicated += 1;
            reply = push::push(&state, &self.user, request)
                .await
                .map_err(|e| status_of(&e))?;
        }
        if net.roll(|f| f.crash_after_commit) {
            net.stats.crashed += 1;
            return Err(TransportError::Unreachable);
        }
        Ok(reply)
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let mut net = self.net.borrow_mut();
        if net.roll(|f| f.loss) {
            net.stats.lost += 1;
            return Err(TransportError::Unreachable);
        }
        let mut conn = net
            .state
            .db
            .pool()
            .acquire()
            .await
            .map_err(|_| TransportError::Status(500))?;
        let reply = pull::pull(&mut conn, self.store, cursor, limit)
            .await
            .map_err(|e| status_of(&e))?;
        drop(conn);
        if net.roll(|f| f.loss) {
            net.stats.lost += 1;
            return Err(TransportError::Unreachable);
        }
        Ok(reply)
    }
}
