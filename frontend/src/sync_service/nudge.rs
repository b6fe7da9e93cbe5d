//! Cuts the push loop's wait short. The loop looks every [`super::TICK_MS`] whether it should
//! sync; a sale just recorded in this tab, or the connection coming back, should not wait for
//! the next look: the sale reaches the server (and the store's other devices) at once, and a
//! backlog starts going out as soon as the network is back.

use std::{
    cell::Cell,
    future::{poll_fn, Future},
    pin::pin,
    rc::Rc,
    task::{Poll, Waker},
};

use gloo_timers::future::TimeoutFuture;

/// Shared by the push loop (which waits) and whoever rings; cheap to clone.
#[derive(Clone, Default)]
pub struct Nudge(Rc<State>);

#[derive(Default)]
struct State {
    rung: Cell<bool>,
    waiting: Cell<Option<Waker>>,
}

impl Nudge {
    /// Ends the current wait, or the next one if none is under way: a ring is kept until a
    /// wait takes it, so one made while the loop is syncing is not lost.
    pub fn ring(&self) {
        self.0.rung.set(true);
        if let Some(waker) = self.0.waiting.take() {
            waker.wake();
        }
    }

    /// Waits `ms` milliseconds, or until rung.
    pub async fn wait(&self, ms: u32) {
        let mut timer = pin!(TimeoutFuture::new(ms));
        poll_fn(|cx| {
            if self.0.rung.replace(false) || timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            self.0.waiting.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
    }
}
