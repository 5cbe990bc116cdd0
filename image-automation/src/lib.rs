//! image controllers
