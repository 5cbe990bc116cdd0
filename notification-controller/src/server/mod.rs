//! The two HTTP servers: events from Flux controllers in, webhook calls in.

pub mod events;
pub mod receiver;

/// Largest body either server accepts (Flux's limit for events; ample for webhook payloads).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
