//! The faulty network between the simulated devices and the real server: every push and pull
//! is an HTTP request through the real axum router (in process, `tower::ServiceExt::oneshot`),
//! so JSON, extractors, the session cookie, the edge layers and the route code all run.

use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    http::{header, Method, Request, StatusCode},
    Router,
};
use pronto_backend::AppState;
use pronto_shared::sync::{
    engine::{Transport, TransportError},
    PullReply, PushReply, PushRequest,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tower::ServiceExt;
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
    /// The server commits, then the connection is cut before the reply arrives.
    pub cut_after_commit: f64,
    /// The client goes away mid-request: the request's future is dropped at a random poll.
    pub dropped: f64,
}

/// Shared by every device's transport: the server, the generator, the held-back requests.
pub struct Net {
    pub state: AppState,
    pub router: Router,
    pub rng: ChaCha8Rng,
    pub faults: Faults,
    pub faults_on: bool,
    /// Held-back pushes: (session cookie, JSON body).
    pub delayed: Vec<(String, Bytes)>,
    pub stats: NetStats,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct NetStats {
    pub lost: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub cut: u64,
    pub cut_after_commit: u64,
    pub dropped: u64,
    /// Pushes sent while the device's previous push was still unanswered.
    pub ahead: u64,
}

impl Net {
    fn roll(&mut self, rate: fn(&Faults) -> f64) -> bool {
        let p = rate(&self.faults).clamp(0.0, 1.0);
        self.faults_on && self.rng.gen_bool(p)
    }
}

/// A future that gives up after `polls` polls: the client that stops waiting. `None` when it
/// gave up; the inner future (the request) is dropped with it.
struct GiveUpAfter<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for GiveUpAfter<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.inner.as_mut().poll(cx).map(Some)
    }
}

/// What came back: a status and a body, or nothing (the client gave up).
type Answer = Option<(StatusCode, Bytes)>;

fn push_request(cookie: &str, body: Bytes) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/sync/push")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .expect("request")
}

/// Sends `request` through the router; with `give_up_after`, the client drops the request's
/// future after that many polls, then waits until the server has finished whatever it went on
/// doing without the client (so the next step of the seed starts from a settled server and the
/// seed replays identically).
async fn send(
    state: &AppState,
    router: &Router,
    request: Request<Body>,
    give_up_after: Option<u32>,
) -> Answer {
    let call = async move {
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, body)
    };
    match give_up_after {
        None => Some(call.await),
        Some(polls) => {
            let answer = GiveUpAfter {
                inner: Box::pin(call),
                polls,
            }
            .await;
            state.requests_done().await;
            answer
        }
    }
}

/// Delivers held-back requests (their replies go nowhere: the device gave up on them); with
/// `all` false, each one only by chance.
pub async fn deliver_delayed(net: &Rc<RefCell<Net>>, all: bool) {
    let (state, router, due) = {
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
        (net.state.clone(), net.router.clone(), due)
    };
    for (cookie, body) in due {
        // The answer is lost; an error here (e.g. 403) changes nothing either.
        let _ = send(&state, &router, push_request(&cookie, body), None).await;
    }
}

pub struct SimTransport {
    pub net: Rc<RefCell<Net>>,
    /// `Cookie` header value of the device's person's session.
    pub cookie: String,
    pub device: Uuid,
    pub online: Rc<RefCell<bool>>,
    /// This device's pushes waiting for their answer.
    pub in_flight: std::cell::Cell<usize>,
    /// A push sent ahead reaches the server only once the one before it is answered: two
    /// requests at once would interleave on the database's threads, and a seed would no longer
    /// replay exactly. The engine's side of a push sent ahead (its answer kept, or the push let
    /// go when the one before fails) is what the seeds test; the server's ordering of two at
    /// once is tested against the real binary (`tests/slow_link.rs`).
    pub line: tokio::sync::Mutex<()>,
}

/// What the network does to one push, decided before anything is sent.
struct PushFate {
    lost: bool,
    delayed: bool,
    cut_to: Option<usize>,
    dropped_after: Option<u32>,
    duplicated: bool,
    cut_after_commit: bool,
}

impl SimTransport {
    fn push_fate(&self, ops: usize) -> (AppState, Router, PushFate) {
        let mut net = self.net.borrow_mut();
        let fate = PushFate {
            lost: net.roll(|f| f.loss),
            delayed: net.roll(|f| f.delay),
            cut_to: if ops > 1 && net.roll(|f| f.cut) {
                Some(net.rng.gen_range(1..ops))
            } else {
                None
            },
            dropped_after: if net.roll(|f| f.dropped) {
                Some(net.rng.gen_range(0..4))
            } else {
                None
            },
            duplicated: net.roll(|f| f.duplication),
            cut_after_commit: net.roll(|f| f.cut_after_commit),
        };
        let stats = &mut net.stats;
        if fate.lost {
            stats.lost += 1;
        } else if fate.delayed {
            stats.delayed += 1;
        } else if fate.cut_to.is_some() {
            stats.cut += 1;
        } else if fate.dropped_after.is_some() {
            stats.dropped += 1;
        } else {
            stats.duplicated += u64::from(fate.duplicated);
            stats.cut_after_commit += u64::from(fate.cut_after_commit);
        }
        (net.state.clone(), net.router.clone(), fate)
    }
}

fn json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("serialise"))
}

/// A 200 is parsed as the route's reply (a body that does not parse is a server bug, and
/// fails the seed); any other status is the transport's `Status`.
fn reply<T: serde::de::DeserializeOwned>(answer: Answer) -> Result<T, TransportError> {
    let Some((status, body)) = answer else {
        return Err(TransportError::Unreachable);
    };
    if status != StatusCode::OK {
        return Err(TransportError::Status(status.as_u16()));
    }
    Ok(serde_json::from_slice(&body).unwrap_or_else(|err| {
        panic!(
            "a 200 the client cannot read ({err}): {}",
            String::from_utf8_lossy(&body)
        )
    }))
}

impl Transport for SimTransport {
    async fn push(&self, request: PushRequest) -> Result<PushReply, TransportError> {
        if self.in_flight.get() > 0 {
            self.net.borrow_mut().stats.ahead += 1;
        }
        let _flight = Flight::start(&self.in_flight);
        let _turn = self.line.lock().await;
        self.push_once(request).await
    }

    async fn pull(&mut self, cursor: i64, limit: i64) -> Result<PullReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let (state, router, lost_request, lost_reply) = {
            let mut net = self.net.borrow_mut();
            let request = net.roll(|f| f.loss);
            let reply = net.roll(|f| f.loss);
            net.stats.lost += u64::from(request) + u64::from(reply && !request);
            (net.state.clone(), net.router.clone(), request, reply)
        };
        if lost_request {
            return Err(TransportError::Unreachable);
        }
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!(
                "/api/sync/pull?dispositivo={}&cursor={cursor}&limit={limit}",
                self.device
            ))
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .expect("request");
        let pulled = reply::<PullReply>(send(&state, &router, request, None).await)?;
        if lost_reply {
            return Err(TransportError::Unreachable);
        }
        Ok(pulled)
    }
}

impl SimTransport {
    async fn push_once(&self, mut request: PushRequest) -> Result<PushReply, TransportError> {
        if !*self.online.borrow() {
            return Err(TransportError::Unreachable);
        }
        let (state, router, fate) = self.push_fate(request.ops.len());
        if fate.lost {
            return Err(TransportError::Unreachable);
        }
        if fate.delayed {
            self.net
                .borrow_mut()
                .delayed
                .push((self.cookie.clone(), json(&request)));
            return Err(TransportError::Unreachable);
        }
        if let Some(keep) = fate.cut_to {
            request.ops.truncate(keep);
            let body = json(&request);
            let _ = send(&state, &router, push_request(&self.cookie, body), None).await;
            return Err(TransportError::Unreachable);
        }
        let body = json(&request);
        if let Some(polls) = fate.dropped_after {
            let answer = send(
                &state,
                &router,
                push_request(&self.cookie, body),
                Some(polls),
            )
            .await;
            // Had the answer come in before the client gave up, the client still left.
            let _ = answer;
            return Err(TransportError::Unreachable);
        }
        let mut answer = send(
            &state,
            &router,
            push_request(&self.cookie, body.clone()),
            None,
        )
        .await;
        if fate.duplicated {
            answer = send(&state, &router, push_request(&self.cookie, body), None).await;
        }
        let reply = reply::<PushReply>(answer)?;
        if fate.cut_after_commit {
            return Err(TransportError::Unreachable);
        }
        Ok(reply)
    }
}

/// Counts a push in flight until it is answered or let go (its future dropped).
pub struct Flight<'a>(&'a std::cell::Cell<usize>);

impl<'a> Flight<'a> {
    pub fn start(count: &'a std::cell::Cell<usize>) -> Self {
        count.set(count.get() + 1);
        Self(count)
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}
