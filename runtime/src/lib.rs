//! The shared runtime every Eddy controller is built on.
//!
//! Controllers are separate binaries that only talk through the Kubernetes API (and artifacts and
//! events over HTTP); what they have in common lives here so each binary stays small: Flux's
//! command-line flags, JSON logging with controller-runtime's keys, the health and metrics servers,
//! the process start-up sequence, the one hardened HTTP server every controller's servers run on
//! ([`http_server`]), the watch pipeline that rides out API server restarts ([`outage`]), and the shape every reconciler
//! shares: typed failures turned into conditions, events and the next reconcile ([`outcome`]),
//! the finalizer ([`finalizer`]) and `spec.interval`/`spec.timeout` parsing ([`time`]).

pub mod admin;
pub mod cli;
pub mod conclude;
pub mod conditions;
pub mod controller;
pub mod events;
pub mod finalizer;
pub mod http_server;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod outage;
pub mod outcome;
pub mod process;
pub mod requeue;
pub mod status;
pub mod time;
pub mod tls;
pub mod unsupported;
pub mod watch;
