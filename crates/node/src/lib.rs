use napi_derive::napi;
#[napi(catch_unwind)]
pub fn ping() -> u32 { ferrograd_kernels::ping() }
