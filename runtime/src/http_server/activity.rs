//! What one connection is doing, and when it has been doing nothing useful for too long.
//!
//! hyper's own header-read timer also runs while a keep-alive connection waits for its next
//! request, so it cannot tell "slow to send a header" from "idle between requests". The phases
//! are tracked here instead, from two vantage points: the socket (bytes in, bytes out) and the
//! service (a request parsed, its response finished).

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::Notify,
    time::Instant,
};

use super::ServerLimits;

/// Why a connection is closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// A request head (or a new connection's first one) was not complete in time.
    Header,
    /// A keep-alive connection sent no new request in time.
    Idle,
    /// A request in progress moved no byte either way in time (a client that stopped reading
    /// its response, or a handler stuck without I/O).
    NoProgress,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Header => "request header not received in time",
            Self::Idle => "idle keep-alive connection",
            Self::NoProgress => "request made no progress",
        })
    }
}

/// The shared record of one connection's phase.
pub struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    requests_in_flight: usize,
    /// Set while no request is in flight and bytes of the next head have arrived (or, for a new
    /// connection, since it was accepted: a silent new connection is a stalled header).
    head_started: Option<Instant>,
    idle_since: Instant,
    last_progress: Instant,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            state: Mutex::new(State {
                requests_in_flight: 0,
                head_started: Some(now),
                idle_since: now,
                last_progress: now,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few timestamps; one left half-updated by a panic is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bytes_read(&self) {
        let now = Instant::now();
        let mut state = self.state();
        state.last_progress = now;
        if state.requests_in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(now);
            drop(state);
            self.changed.notify_one();
        }
    }

    fn bytes_written(&self) {
        self.state().last_progress = Instant::now();
    }

    /// Marks a request head as parsed; the request counts as in flight until the guard (held by
    /// the response body) is dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        {
            let mut state = self.state();
            state.requests_in_flight += 1;
            state.head_started = None;
            state.last_progress = Instant::now();
        }
        self.changed.notify_one();
        RequestGuard(Arc::clone(self))
    }

    fn request_finished(&self) {
        {
            let now = Instant::now();
            let mut state = self.state();
            state.requests_in_flight = state.requests_in_flight.saturating_sub(1);
            state.idle_since = now;
            state.last_progress = now;
        }
        self.changed.notify_one();
    }

    /// When the connection counts as stalled if nothing changes, and as what.
    fn deadline(&self, limits: &ServerLimits) -> (Instant, Stall) {
        let state = self.state();
        if state.requests_in_flight > 0 {
            (state.last_progress + limits.idle_timeout, Stall::NoProgress)
        } else if let Some(started) = state.head_started {
            (started + limits.header_read_timeout, Stall::Header)
        } else {
            (state.idle_since + limits.idle_timeout, Stall::Idle)
        }
    }

    /// Resolves once the connection has stalled (never, for one that keeps making progress).
    pub async fn stalled(&self, limits: &ServerLimits) -> Stall {
        loop {
            // Registered before reading the state, so a change in between is not missed.
            let changed = self.changed.notified();
            let (deadline, stall) = self.deadline(limits);
            if deadline <= Instant::now() {
                return stall;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = changed => {}
            }
        }
    }
}

/// Keeps a request counted as in flight; dropped with the response body.
pub struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A socket that reports every byte read or written to its connection's [`Activity`].
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.bytes_written();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.bytes_written();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_millis(200),
            body_read_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(10),
            max_connections: 1,
        }
    }

    fn remaining(activity: &Activity) -> (Duration, Stall) {
        let (deadline, stall) = activity.deadline(&limits());
        (deadline.saturating_duration_since(Instant::now()), stall)
    }

    #[test]
    fn each_phase_has_its_own_timeout() {
        let activity = Activity::new();
        let (left, stall) = remaining(&activity);
        assert_eq!(
            stall,
            Stall::Header,
            "a new connection must send its header"
        );
        assert!(left <= Duration::from_millis(200), "{left:?}");

        let request = activity.request_started();
        let (left, stall) = remaining(&activity);
        assert_eq!(stall, Stall::NoProgress);
        assert!(left > Duration::from_secs(9), "{left:?}");

        drop(request);
        let (left, stall) = remaining(&activity);
        assert_eq!(
            stall,
            Stall::Idle,
            "between requests the idle timeout applies"
        );
        assert!(left > Duration::from_secs(9), "{left:?}");

        activity.bytes_read();
        let (left, stall) = remaining(&activity);
        assert_eq!(
            stall,
            Stall::Header,
            "a next request's first byte starts its header timeout"
        );
        assert!(left <= Duration::from_millis(200), "{left:?}");
    }

    #[tokio::test]
    async fn stalled_wakes_up_when_a_phase_change_brings_the_deadline_forward() {
        let activity = Activity::new();
        drop(activity.request_started());
        let watcher = {
            let activity = Arc::clone(&activity);
            tokio::spawn(async move { activity.stalled(&limits()).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let head_started = Instant::now();
        activity.bytes_read();
        let stall = tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stall, Stall::Header);
        assert!(head_started.elapsed() < Duration::from_secs(2));
    }
}
