//! The ferrograd native addon: validates every argument coming from JavaScript, borrows the typed
//! arrays without copying, and calls the pure-Rust kernels in `ferrograd-kernels`.
//!
//! Every export is `#[napi(catch_unwind)]`: a panic (a kernel's internal assertion, or
//! `debugPanic`) becomes a JS Error and the addon stays usable.

mod arrays;
mod check;
mod control;
mod fast;
mod malloc;
mod ops;
mod safetensors;
mod tape;
