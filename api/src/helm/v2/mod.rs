//! helm.toolkit.fluxcd.io/v2: the current (storage) version of HelmRelease.

pub mod actions;
pub mod chart;
pub mod constants;
pub mod helmrelease;
pub mod post_render;
pub mod status;
pub mod values;

#[cfg(test)]
mod tests;
