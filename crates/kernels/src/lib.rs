//! CPU kernels for ferrograd: plain Rust over borrowed slices, no N-API.
//!
//! Every public kernel checks the lengths it relies on (panicking on a violated precondition, which
//! the addon turns into a JS error); the addon validates arguments first to give precise messages.
//! Parallel kernels split only over independent outputs, and every sum is evaluated in a fixed
//! order, so results are bit-identical whatever the thread count.

pub mod batchnorm;
pub mod conv1d;
pub mod copy;
pub mod cpu;
pub mod cross_entropy;
pub mod elementwise;
pub mod fastmath;
pub(crate) mod fastlog;
pub mod gelu;
pub mod gather;
pub mod layout;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod workers;
pub mod reduce;
pub mod select;
#[cfg(target_arch = "x86_64")]
pub mod sgemm;
#[cfg(test)]
pub(crate) mod reference;
pub mod softmax;

#[cfg(test)]
pub(crate) mod testutil;
