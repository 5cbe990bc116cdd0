//! One module per `eddy` command.

pub mod apply;
pub mod check;
pub mod create;
pub mod events;
pub mod export;
pub mod get;
pub mod install;
pub mod reconcile;
pub mod suspend;
pub mod tree;
pub mod uninstall;
