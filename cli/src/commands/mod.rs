//! One module per `eddy` command.

pub mod apply;
pub mod bootstrap;
pub mod build;
pub mod check;
pub mod create;
pub mod diff;
pub mod events;
pub mod export;
pub mod get;
pub mod image;
pub mod install;
pub mod reconcile;
pub mod suspend;
pub mod tree;
pub mod uninstall;
