//! Reconcilers. Alerts and Providers are static (read at dispatch time); only Receivers have a
//! status to maintain.

pub mod receiver;
