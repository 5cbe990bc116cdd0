use super::FuncMap; pub fn register(_map: &mut FuncMap) {}
