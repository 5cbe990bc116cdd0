//! Sprig v3.3.0's text function map, function by function with Sprig's signatures (which decide
//! argument conversion) and behaviour (spf13/cast conversions, mergo merges, Masterminds/semver).

use super::FuncMap;

mod certs;
mod crypto;
mod dates;
pub(crate) use dates::GoTime;
mod dicts;
mod lists;
mod math;
mod misc;
mod strings;

pub fn register(map: &mut FuncMap) {
    strings::register(map);
    lists::register(map);
    dicts::register(map);
    math::register(map);
    misc::register(map);
    crypto::register(map);
    certs::register(map);
    dates::register(map);
}

/// Go's `reflect.TypeOf(v).Kind()` name for Sprig's "Cannot … on type X" errors.
pub(crate) fn kind_for_error(v: &crate::value::Value) -> &'static str {
    v.kind_name()
}
