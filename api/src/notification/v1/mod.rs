//! notification.toolkit.fluxcd.io/v1: the current (storage) version of Receiver.

pub mod receiver;
