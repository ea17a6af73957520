//! Typed-array arguments borrowed from JavaScript without copying.
//!
//! Conversion never fails by itself: a wrong type is reported by `Checker::f32`/`i32` with the
//! kernel and argument names. Slices are only created after `Checker::no_alias` has proved that no
//! output overlaps another argument, so two `&mut`/`&` never alias.
//!
//! An `Arr` keeps the JS value and reads the array's pointer only when the kernel body checks it,
//! after every argument has been converted: converting a shape (`Dims`) reads array elements,
//! which may run a getter, and a getter could detach the buffer of an array whose pointer had
//! already been taken. Nothing runs JS between the check and the kernel's return.

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValueType};
use napi::sys;
use std::ptr::NonNull;

/// What JavaScript passed.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A typed array with napi's element type code.
    Typed(i32),
    /// Not a typed array: the JS `typeof`-style name.
    Other(&'static str),
}

/// A JS value that should be a typed array: either the value of the current call, or what a
/// compiled tape stored when it was built (crate::tape; the JS tape keeps the array alive and
/// checks before each run that its buffer was not detached or resized).
pub struct Arr {
    src: Src,
}

#[derive(Clone, Copy)]
enum Src {
    Js(sys::napi_env, sys::napi_value),
    Stored(Info),
}

/// A typed array's memory as N-API reports it now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Info {
    pub(crate) data: *mut u8,
    pub(crate) len: usize,
    pub(crate) kind: Kind,
}

pub fn type_name(code: i32) -> &'static str {
    match code {
        0 => "Int8Array",
        1 => "Uint8Array",
        2 => "Uint8ClampedArray",
        3 => "Int16Array",
        4 => "Uint16Array",
        5 => "Int32Array",
        6 => "Uint32Array",
        7 => "Float32Array",
        8 => "Float64Array",
        9 => "BigInt64Array",
        10 => "BigUint64Array",
        _ => "an unsupported typed array",
    }
}

pub const FLOAT32: i32 = 7;
pub const INT32: i32 = 5;

impl Arr {
    /// An argument stored by a tape (its memory as read when the tape was built).
    pub(crate) fn stored(info: Info) -> Arr {
        Arr { src: Src::Stored(info) }
    }

    /// Reads the pointer, length and element type (runs no JS).
    pub(crate) fn info(&self) -> Info {
        let (env, v) = match self.src {
            Src::Js(env, v) => (env, v),
            Src::Stored(info) => return info,
        };
        let (mut code, mut len, mut data, mut buf, mut off) = (0, 0usize, std::ptr::null_mut(), std::ptr::null_mut(), 0usize);
        // SAFETY: env and value come from the current call (an Arr does not outlive it).
        let st = unsafe { sys::napi_get_typedarray_info(env, v, &mut code, &mut len, &mut data, &mut buf, &mut off) };
        if st != sys::Status::napi_ok {
            return Info { data: std::ptr::null_mut(), len: 0, kind: Kind::Other(unsafe { js_typeof(env, v) }) };
        }
        Info { data: data as *mut u8, len, kind: Kind::Typed(code) }
    }

    pub fn describe(&self) -> String {
        self.info().describe()
    }
}

impl Info {
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Typed(c) => type_name(c).to_string(),
            Kind::Other(t) => t.to_string(),
        }
    }
}

pub(crate) unsafe fn js_typeof(env: sys::napi_env, v: sys::napi_value) -> &'static str {
    let mut t = 0;
    if unsafe { sys::napi_typeof(env, v, &mut t) } != sys::Status::napi_ok {
        return "an unknown value";
    }
    match t {
        sys::ValueType::napi_undefined => "undefined",
        sys::ValueType::napi_null => "null",
        sys::ValueType::napi_boolean => "a boolean",
        sys::ValueType::napi_number => "a number",
        sys::ValueType::napi_string => "a string",
        sys::ValueType::napi_symbol => "a symbol",
        sys::ValueType::napi_function => "a function",
        sys::ValueType::napi_bigint => "a bigint",
        _ => "a plain object or array",
    }
}

impl FromNapiValue for Arr {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> napi::Result<Self> {
        Ok(Arr { src: Src::Js(env, v) })
    }
}

impl TypeName for Arr {
    fn type_name() -> &'static str {
        "TypedArray"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// A checked typed-array view: element type verified, not yet turned into a slice.
#[derive(Clone, Copy)]
pub struct Raw<T> {
    ptr: *mut T,
    pub len: usize,
    pub name: &'static str,
}

impl<T> Raw<T> {
    pub(crate) fn new(arr: &Info, name: &'static str) -> Self {
        let ptr = if arr.len == 0 || arr.data.is_null() { NonNull::<T>::dangling().as_ptr() } else { arr.data as *mut T };
        Raw { ptr, len: if arr.data.is_null() { 0 } else { arr.len }, name }
    }

    /// Byte range [start, end) in the process address space (empty for length 0).
    pub fn range(&self) -> (usize, usize) {
        let s = self.ptr as usize;
        (s, s + self.len * std::mem::size_of::<T>())
    }

    /// # Safety
    /// No `slice_mut` of an overlapping array may be alive (checked by `Checker::no_alias`), and
    /// the JS array must outlive the call (it does: the call is synchronous and JS holds it).
    pub unsafe fn slice<'a>(&self) -> &'a [T] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// # Safety
    /// As `slice`, and this array overlaps no other argument.
    pub unsafe fn slice_mut<'a>(&self) -> &'a mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// A short list of numbers (a shape or strides) read from a JS array without heap allocation.
#[derive(Clone)]
pub struct Dims {
    vals: [f64; Dims::MAX],
    len: usize,
    /// Set when the value was not an array of numbers, or longer than MAX: the rest of a message
    /// that starts with the argument's name (reported by Checker).
    pub bad: Option<String>,
}

impl Dims {
    /// Highest rank accepted; PyTorch's own limit is 25 dims.
    pub const MAX: usize = 32;

    pub fn as_slice(&self) -> &[f64] {
        &self.vals[..self.len]
    }
}

impl FromNapiValue for Dims {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> napi::Result<Self> {
        let mut d = Dims { vals: [0.0; Dims::MAX], len: 0, bad: None };
        let mut len = 0u32;
        if unsafe { sys::napi_get_array_length(env, v, &mut len) } != sys::Status::napi_ok {
            d.bad = Some(format!(" must be an array of numbers, got {}", unsafe { js_typeof(env, v) }));
            return Ok(d);
        }
        if len as usize > Dims::MAX {
            d.bad = Some(format!(" has {len} entries; at most {} dimensions are supported", Dims::MAX));
            return Ok(d);
        }
        for i in 0..len {
            let mut e = std::ptr::null_mut();
            let mut x = 0f64;
            if unsafe { sys::napi_get_element(env, v, i, &mut e) } != sys::Status::napi_ok
                || unsafe { sys::napi_get_value_double(env, e, &mut x) } != sys::Status::napi_ok
            {
                d.bad = Some(format!("[{i}] must be a number, got {}", unsafe { js_typeof(env, e) }));
                return Ok(d);
            }
            d.vals[i as usize] = x;
        }
        d.len = len as usize;
        Ok(d)
    }
}

impl TypeName for Dims {
    fn type_name() -> &'static str {
        "Array<number>"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}
