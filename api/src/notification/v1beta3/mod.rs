//! notification.toolkit.fluxcd.io/v1beta3: the current (storage) version of Provider and Alert.

pub mod alert;
pub mod provider;
