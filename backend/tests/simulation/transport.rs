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
}

/// Delivers held-back requests (their replies go nowhere: the device gave up on them); with
/// `all` false, each one only by chance.
pub async fn deliver_delayed(net: &Rc<RefCell<Net>>, all: bool) {
    let (state, due) = {
        let mut net = net.borrow_mut();
        let mut due = Vec::new();
        let mut keep = Vec::new();
        for item in std::mem::take(&mut net.delayed) {
            if all || net.rng.gen_bool(0.5) {
                due.push(item);
            } else {
                keep.push(item);
            }
        }
        net.delayed = keep;
        (net.state.clone(), due)
    };
    for (user, request) in due {
        // The answer is lost; an error here (e.g. 403) changes nothing either.
        let _ = push::push(&state, &user, request).await;
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

/// What the network does to one push, decided before anything is sent.
struct PushFate {
    lost: bool,
    delayed: bool,
    cut_to: Option<usize>,
    duplicated: bool,
    crash_after_commit: bool,
}

impl SimTransport {
    fn push_fate(&self, ops: usize) -> (AppState, PushFate) {
        let mut net = self.net.borrow_mut();
        let fate = PushFate {
            lost: net.roll(|f| f.loss),
            delayed: net.roll(|f| f.delay),
            cut_to: if ops > 1 && net.roll(|f| f.cut) {
                Some(net.rng.gen_range(1..ops))
            } else {
                None
            },
            duplicated: net.roll(|f| f.duplication),
            crash_after_commit: net.roll(|f| f.crash_after_commit),
        };
        let stats = &mut net.stats;
        if fate.lost {
            stats.lost += 1;
        } else if fate.delayed {
            stats.delayed += 1;
        } else if fate.cut_to.is_some() {
            stats.cut += 1;
        } else {
            stats.duplicated += u64::from(fate.duplicated);
            stats.crashed += u64::from(fate.crash_after_commit);
        }
        (net.state.clone(), fate)
    }
}

impl Transport for SimTransport {
    async fn push(&mut self, mut request: PushRequest) -> Result<PushReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let (state, fate) = self.push_fate(request.ops.len());
        if fate.lost {
            return Err(TransportError::Unreachable);
        }
        if fate.delayed {
            self.net
                .borrow_mut()
                .delayed
                .push((self.user.clone(), request));
            return Err(TransportError::Unreachable);
        }
        if let Some(keep) = fate.cut_to {
            request.ops.truncate(keep);
            let _ = push::push(&state, &self.user, request).await;
            return Err(TransportError::Unreachable);
        }
        let mut reply = push::push(&state, &self.user, request.clone())
            .await
            .map_err(|e| status_of(&e))?;
        if fate.duplicated {
            reply = push::push(&state, &self.user, request)
                .await
                .map_err(|e| status_of(&e))?;
        }
        if fate.crash_after_commit {
            return Err(TransportError::Unreachable);
        }
        Ok(reply)
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let (state, lost_request, lost_reply) = {
            let mut net = self.net.borrow_mut();
            let request = net.roll(|f| f.loss);
            let reply = net.roll(|f| f.loss);
            net.stats.lost += u64::from(request) + u64::from(reply && !request);
            (net.state.clone(), request, reply)
        };
        if lost_request {
            return Err(TransportError::Unreachable);
        }
        let mut conn = state
            .db
            .pool()
            .acquire()
            .await
            .map_err(|_| TransportError::Status(500))?;
        let reply = pull::pull(&mut conn, self.store, cursor, limit)
            .await
            .map_err(|e| status_of(&e))?;
        if lost_reply {
            return Err(TransportError::Unreachable);
        }
        Ok(reply)
    }
}
