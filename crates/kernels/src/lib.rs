pub fn ping() -> u32 { 1 }
