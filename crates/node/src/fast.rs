//! Direct N-API entry points for the kernel exports.
//!
//! The `#[napi(catch_unwind)]` functions in ops.rs define the API (and generate its TypeScript
//! declarations). napi-rs 3.16's generated glue, though, sets up a "native borrow scope" (an
//! `Arc<Mutex<..>>` and thread-local stacks) on every call with arguments, which measured at
//! ~0.35 µs per call, more than the kernel itself for small tensors. At module load we therefore
//! replace each kernel export with a plain N-API callback that converts the arguments with the
//! same `FromNapiValue` impls and calls the same Rust function, under `catch_unwind` like the
//! generated glue. None of our argument types borrows through napi-rs's tracking (typed arrays are
//! read as raw pointers and checked for aliasing by the kernels' validation), so nothing is lost.

use crate::arrays::{Arr, Dims};
use crate::{control, ops};
use napi::bindgen_prelude::{FromNapiValue, JsValue, Object, ToNapiValue};
use napi::{sys, Env, JsError, Result};
use napi_derive::napi;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// Reads up to N arguments (missing ones read as `undefined`).
unsafe fn args<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> Result<[sys::napi_value; N]> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let st = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) };
    if st != sys::Status::napi_ok {
        return Err(napi::Error::from_reason("failed to read the call's arguments"));
    }
    Ok(argv)
}

/// Runs `f`, turning an Err or a panic into a thrown JS Error.
unsafe fn run<R: ToNapiValue>(env: sys::napi_env, f: impl FnOnce() -> Result<R>) -> sys::napi_value {
    let res = catch_unwind(AssertUnwindSafe(f))
        .map_err(napi::bindgen_prelude::panic_to_error)
        .and_then(|r| r)
        .and_then(|v| unsafe { R::to_napi_value(env, v) });
    match res {
        Ok(v) => v,
        Err(e) => {
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

/// Converts argument `i` of the call.
unsafe fn arg<T: FromNapiValue>(env: sys::napi_env, v: sys::napi_value) -> Result<T> {
    unsafe { T::from_napi_value(env, v) }
}

/// Defines `extern "C" fn $raw` calling `$path` with each argument converted to its type.
macro_rules! fast {
    ($raw:ident => $path:path, [$($ty:ty),*]) => {
        unsafe extern "C" fn $raw(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            const N: usize = <[&str]>::len(&[$(stringify!($ty)),*]);
            unsafe {
                run(env, || {
                    let argv = args::<N>(env, info)?;
                    #[allow(unused_mut, unused_variables)]
                    let mut it = argv.into_iter();
                    $path($(arg::<$ty>(env, it.next().unwrap())?),*)
                })
            }
        }
    };
}

type V = Dims;
type O = Option<Arr>;

fast!(copy_raw => ops::copy, [Arr, f64, V, Arr, f64, V, V]);
fast!(unary_raw => ops::unary, [f64, Arr, Arr]);
fast!(unary_backward_raw => ops::unary_backward, [f64, Arr, Arr, Arr, Arr]);
fast!(binary_raw => ops::binary, [f64, Arr, f64, V, Arr, f64, V, Arr, V]);
fast!(binary_scalar_raw => ops::binary_scalar, [f64, Arr, f64, bool, Arr]);
fast!(binary_inplace_raw => ops::binary_inplace, [f64, Arr, f64, V, Arr, f64, V, V]);
fast!(scalar_inplace_raw => ops::scalar_inplace, [f64, Arr, f64]);
fast!(axpy_raw => ops::axpy, [f64, Arr, Arr]);
fast!(reduce_raw => ops::reduce, [f64, Arr, f64, f64, f64, Arr]);
fast!(reduce_arg_raw => ops::reduce_arg, [f64, Arr, f64, f64, f64, Arr, Arr]);
fast!(matmul_raw => ops::matmul, [Arr, f64, f64, bool, Arr, f64, f64, bool, Arr, f64, f64, f64, f64, f64]);
fast!(index_select_raw => ops::index_select, [Arr, f64, Arr, Arr]);
fast!(index_add_raw => ops::index_add, [Arr, f64, Arr, Arr]);
fast!(take_raw => ops::take, [Arr, Arr, Arr]);
fast!(put_add_raw => ops::put_add, [Arr, Arr, Arr]);
fast!(softmax_raw => ops::softmax, [Arr, f64, f64, bool, Arr]);
fast!(softmax_backward_raw => ops::softmax_backward, [Arr, Arr, f64, f64, bool, Arr]);
fast!(cross_entropy_forward_raw => ops::cross_entropy_forward, [Arr, f64, f64, Arr, f64, Arr]);
fast!(cross_entropy_backward_raw => ops::cross_entropy_backward, [Arr, f64, f64, Arr, f64, f64, Arr]);
fast!(batch_norm_forward_raw => ops::batch_norm_forward, [Arr, f64, f64, O, O, f64, f64, bool, Arr, Arr, Arr, Arr]);
fast!(batch_norm_backward_raw => ops::batch_norm_backward, [Arr, Arr, f64, f64, Arr, Arr, O, f64, O, O, O]);
fast!(conv1d_forward_raw => ops::conv1d_forward, [Arr, f64, f64, f64, Arr, f64, f64, f64, f64, O, Arr, f64]);
fast!(debug_panic_raw => control::debug_panic, []);
fast!(conv1d_backward_raw => ops::conv1d_backward, [Arr, f64, f64, f64, Arr, f64, f64, f64, f64, Arr, f64, O, O]);

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

const FAST: &[(&str, Callback)] = &[
    ("copy", copy_raw),
    ("unary", unary_raw),
    ("unaryBackward", unary_backward_raw),
    ("binary", binary_raw),
    ("binaryScalar", binary_scalar_raw),
    ("binaryInplace", binary_inplace_raw),
    ("scalarInplace", scalar_inplace_raw),
    ("axpy", axpy_raw),
    ("reduce", reduce_raw),
    ("reduceArg", reduce_arg_raw),
    ("matmul", matmul_raw),
    ("indexSelect", index_select_raw),
    ("indexAdd", index_add_raw),
    ("take", take_raw),
    ("putAdd", put_add_raw),
    ("softmax", softmax_raw),
    ("softmaxBackward", softmax_backward_raw),
    ("crossEntropyForward", cross_entropy_forward_raw),
    ("crossEntropyBackward", cross_entropy_backward_raw),
    ("batchNormForward", batch_norm_forward_raw),
    ("batchNormBackward", batch_norm_backward_raw),
    ("conv1dForward", conv1d_forward_raw),
    ("conv1dBackward", conv1d_backward_raw),
    // Through the same entry-point wrapper as the kernels, so the panic test covers it.
    ("debugPanic", debug_panic_raw),
];

/// Runs after napi-rs has registered the `#[napi]` exports: swaps in the direct entry points.
#[napi(module_exports)]
pub fn install_fast_paths(exports: Object, _env: Env) -> Result<()> {
    let v = exports.value();
    for &(name, cb) in FAST {
        let cname = std::ffi::CString::new(name).expect("export names have no NUL");
        let mut f = ptr::null_mut();
        // SAFETY: env and exports come from napi-rs's module registration; the callback has the
        // N-API signature and touches no data pointer (null).
        unsafe {
            let st = sys::napi_create_function(v.env, cname.as_ptr(), name.len() as isize, Some(cb), ptr::null_mut(), &mut f);
            if st != sys::Status::napi_ok {
                return Err(napi::Error::from_reason(format!("could not create the fast entry point for {name}")));
            }
            let st = sys::napi_set_named_property(v.env, v.value, cname.as_ptr(), f);
            if st != sys::Status::napi_ok {
                return Err(napi::Error::from_reason(format!("could not install the fast entry point for {name}")));
            }
        }
    }
    Ok(())
}
