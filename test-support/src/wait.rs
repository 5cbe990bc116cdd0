//! Polling with a deadline, so a test that waits for a condition fails with a message instead of
//! hanging until the harness kills it.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// A generous bound for things the control plane does within seconds when healthy.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Calls `probe` until it returns `Ok(Some(value))` and returns that value.
///
/// `Ok(None)` means "not yet"; an `Err` is remembered and retried (the API server may be briefly
/// unavailable). After `timeout` the error names `what` and the last error or "not yet" seen.
pub async fn wait_for<T>(
    what: impl Display,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last_error: Option<anyhow::Error>;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => last_error = None,
            Err(error) => last_error = Some(error),
        }
        if Instant::now() >= deadline {
            let last = match last_error {
                Some(error) => format!("last error: {error:#}"),
                None => "the condition never held".to_owned(),
            };
            anyhow::bail!(
                "timed out after {:.0}s waiting for {what} ({last})",
                timeout.as_secs_f64()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_probe_succeeds() {
        let mut calls = 0;
        let value = wait_for("three calls", Duration::from_secs(10), async || {
            calls += 1;
            Ok((calls == 3).then_some(calls))
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_error() {
        let started = Instant::now();
        let error = wait_for::<()>("the impossible", Duration::from_millis(300), async || {
            anyhow::bail!("still broken")
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(error.contains("the impossible"), "{error}");
        assert!(error.contains("still broken"), "{error}");
    }

    #[tokio::test]
    async fn times_out_when_the_condition_never_holds() {
        let error = wait_for::<()>("nothing", Duration::from_millis(100), async || Ok(None))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("never held"), "{error}");
    }
}
