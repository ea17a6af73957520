//! A compiled step's kernels held by the addon (src/compile/tape.ts builds it): the recorded
//! kernel calls with their arguments converted once (fast.rs `Entry::store`), run a segment at a
//! time by one N-API call (`tapeRun`) instead of one call per kernel. Each kernel still runs its
//! whole validation from the stored arguments (`Entry::call`: lengths, aliasing, index ranges,
//! targets), so the checks that read data hold on every replay.
//!
//! Besides kernels, two small pieces of the step that used to be TypeScript between kernels run
//! here, so that they do not split a segment:
//!   - a scalar argument read from an array of the step (a 0-d tensor's value passed to
//!     binaryScalar/axpy/scalarInplace), and crossEntropy's backward scale upstream / count;
//!   - crossEntropy's loss value (sum / count of the non-ignored targets), from the kernel's sum.
//!
//! Memory: stored arrays are pointers into JS-owned buffers. The JS tape keeps every array alive
//! for as long as it holds this tape, and before each run checks that none has been detached or
//! resized (a non-resizable ArrayBuffer's memory never moves; storing an on-heap typed array
//! moves its contents to a fixed backing store, see `Storable for Arr`).

use crate::arrays::{Info, Kind, FLOAT32, INT32};
use crate::check::js;
use crate::fast::{element, Entry, Stored};
use napi::bindgen_prelude::panic_to_error;
use napi::{sys, Error, Result};
use napi_derive::napi;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// A value of the step computed just before a kernel runs.
enum Dyn {
    /// `arr[index]` (a one-element tensor's value).
    Scalar { arr: Info, index: usize },
    /// `arr[index] / count` of loss `loss` in this run (crossEntropy's mean backward).
    CeScale { arr: Info, index: usize, loss: usize },
}

/// crossEntropy's loss value: `out[0] = sum / count` (mean) or `sum`, from the previous kernel.
struct CeLoss {
    loss: usize,
    targets: Info,
    rows: usize,
    ignore: f64,
    out: Info,
    mean: bool,
    count0: usize,
    /// A backward divides by the recorded count: a different count cannot be replayed.
    static_backward: bool,
}

/// Integer indexing with one contiguous index tensor (host-ops.ts computeRows1): each index is
/// checked against `size` (negative ones count from the end), then whole int32 rows of `src` are
/// copied to `out` (Xtr[ix]), or the row ids are written (the ids indexSelect gathers with).
struct Gather {
    idx: Info,
    idx_off: usize,
    n: usize,
    size: usize,
    out: Info,
    out_off: usize,
    /// (src, base, row size) when copying rows.
    rows: Option<(Info, usize, usize)>,
    /// nn.Embedding's ids: no negative indices, and its message (input and weight shapes).
    embedding: Option<(String, String)>,
}

enum Step {
    Kernel { entry: &'static Entry, args: Vec<Stored>, dyns: Vec<(usize, Dyn)> },
    Loss(CeLoss),
    Gather(Gather),
}

pub struct NativeTape {
    steps: Vec<Step>,
    /// Non-ignored targets of each loss in the current run.
    counts: Vec<f64>,
    /// The previous kernel's result (crossEntropyForward's sum).
    last: f64,
}

// ---- reading the JS description -------------------------------------------------------------

/// Whether `v` is an object or array (N-API's property reads would throw on anything else).
unsafe fn is_object(env: sys::napi_env, v: sys::napi_value) -> bool {
    let mut t = 0;
    let st = unsafe { sys::napi_typeof(env, v, &mut t) };
    st == sys::Status::napi_ok && t == sys::ValueType::napi_object
}

unsafe fn prop(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr) -> Result<sys::napi_value> {
    if !unsafe { is_object(env, obj) } {
        return Err(Error::from_reason(format!("tapeCreate: a step must be an object (reading .{})", key.to_string_lossy())));
    }
    let mut v = ptr::null_mut();
    if unsafe { sys::napi_get_named_property(env, obj, key.as_ptr(), &mut v) } != sys::Status::napi_ok {
        return Err(Error::from_reason(format!("tapeCreate: could not read .{}", key.to_string_lossy())));
    }
    Ok(v)
}

unsafe fn is_undefined(env: sys::napi_env, v: sys::napi_value) -> bool {
    let mut t = 0;
    let st = unsafe { sys::napi_typeof(env, v, &mut t) };
    st == sys::Status::napi_ok && t == sys::ValueType::napi_undefined
}

unsafe fn number(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr, at: usize) -> Result<f64> {
    let v = unsafe { prop(env, obj, key)? };
    let mut x = 0f64;
    if unsafe { sys::napi_get_value_double(env, v, &mut x) } != sys::Status::napi_ok {
        return Err(Error::from_reason(format!("tapeCreate: step {at}: .{} must be a number", key.to_string_lossy())));
    }
    Ok(x)
}

unsafe fn index(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr, at: usize) -> Result<usize> {
    let x = unsafe { number(env, obj, key, at)? };
    if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0) {
        return Err(Error::from_reason(format!("tapeCreate: step {at}: .{} must be a non-negative integer, got {}", key.to_string_lossy(), js(x))));
    }
    Ok(x as usize)
}

unsafe fn flag(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr, at: usize) -> Result<bool> {
    let v = unsafe { prop(env, obj, key)? };
    let mut b = false;
    if unsafe { sys::napi_get_value_bool(env, v, &mut b) } != sys::Status::napi_ok {
        return Err(Error::from_reason(format!("tapeCreate: step {at}: .{} must be a boolean", key.to_string_lossy())));
    }
    Ok(b)
}

unsafe fn array(env: sys::napi_env, obj: sys::napi_value, key: &std::ffi::CStr, at: usize, want: i32) -> Result<Info> {
    let v = unsafe { prop(env, obj, key)? };
    let info = <crate::arrays::Arr as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env, v).map(|a| a.info())?;
    match info.kind {
        Kind::Typed(c) if c == want || (want == FLOAT32 && c == 8) => Ok(info),
        _ => Err(Error::from_reason(format!(
            "tapeCreate: step {at}: .{} must be a {}, got {}",
            key.to_string_lossy(),
            crate::arrays::type_name(want),
            info.describe()
        ))),
    }
}

unsafe fn string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    let mut len = 0usize;
    if unsafe { sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len) } != sys::Status::napi_ok {
        return None;
    }
    let mut buf = vec![0u8; len + 1];
    if unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr() as *mut _, buf.len(), &mut len) } != sys::Status::napi_ok {
        return None;
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// Element `index` of a Float32Array, Float64Array or Int32Array, as a JS number.
///
/// # Safety
/// `index < arr.len` (checked when the tape is built) and the buffer alive (the JS tape's job).
unsafe fn read(arr: &Info, index: usize) -> f64 {
    unsafe {
        match arr.kind {
            Kind::Typed(FLOAT32) => *(arr.data as *const f32).add(index) as f64,
            Kind::Typed(INT32) => *(arr.data as *const i32).add(index) as f64,
            _ => *(arr.data as *const f64).add(index),
        }
    }
}

fn scalar_array(info: Info, index: usize, at: usize) -> Result<Info> {
    if !matches!(info.kind, Kind::Typed(FLOAT32) | Kind::Typed(INT32) | Kind::Typed(8)) || index >= info.len || info.data.is_null() {
        return Err(Error::from_reason(format!("tapeCreate: step {at}: scalar index {index} is outside its array ({} of {})", info.describe(), info.len)));
    }
    Ok(info)
}

/// One step description; `losses` grows to cover the loss ids it names.
unsafe fn parse_step(env: sys::napi_env, s: sys::napi_value, at: usize, losses: &mut usize) -> Result<Step> {
    let kernel = unsafe { prop(env, s, c"kernel")? };
    let gather = unsafe { prop(env, s, c"gather")? };
    if !unsafe { is_undefined(env, gather) } {
        let mode = unsafe { string(env, gather) }.unwrap_or_default();
        let rows = mode == "rows";
        let embedding = if mode == "embedding" {
            let text = |key: &std::ffi::CStr| unsafe { prop(env, s, key).map(|v| string(env, v).unwrap_or_default()) };
            Some((text(c"inputShape")?, text(c"weightShape")?))
        } else {
            None
        };
        let g = Gather {
            idx: unsafe { array(env, s, c"idx", at, INT32)? },
            idx_off: unsafe { index(env, s, c"idxOffset", at)? },
            n: unsafe { index(env, s, c"n", at)? },
            size: unsafe { index(env, s, c"size", at)? },
            out: unsafe { array(env, s, c"out", at, INT32)? },
            out_off: unsafe { index(env, s, c"outOffset", at)? },
            rows: if rows {
                Some((unsafe { array(env, s, c"src", at, INT32)? }, unsafe { index(env, s, c"srcBase", at)? }, unsafe { index(env, s, c"rowSize", at)? }))
            } else {
                None
            },
            embedding,
        };
        check_gather(&g).map_err(|why| Error::from_reason(format!("tapeCreate: step {at}: index: {why}")))?;
        return Ok(Step::Gather(g));
    }
    if unsafe { is_undefined(env, kernel) } {
        let c = CeLoss {
            loss: unsafe { index(env, s, c"loss", at)? },
            targets: unsafe { array(env, s, c"targets", at, INT32)? },
            rows: unsafe { index(env, s, c"rows", at)? },
            ignore: unsafe { number(env, s, c"ignoreIndex", at)? },
            out: unsafe { array(env, s, c"out", at, FLOAT32)? },
            mean: unsafe { flag(env, s, c"mean", at)? },
            count0: unsafe { index(env, s, c"count0", at)? },
            static_backward: unsafe { flag(env, s, c"staticBackward", at)? },
        };
        if c.targets.len < c.rows || c.out.len < 1 || c.out.data.is_null() {
            return Err(Error::from_reason(format!("tapeCreate: step {at}: a loss needs {} targets and one output", c.rows)));
        }
        *losses = (*losses).max(c.loss + 1);
        return Ok(Step::Loss(c));
    }
    let name = unsafe { string(env, kernel) }.unwrap_or_default();
    let entry = crate::ops::KERNELS
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::from_reason(format!("tapeCreate: step {at}: no kernel named '{name}'")))?;
    let list = unsafe { prop(env, s, c"args")? };
    let mut is_array = false;
    if unsafe { sys::napi_is_array(env, list, &mut is_array) } != sys::Status::napi_ok || !is_array {
        return Err(Error::from_reason(format!("tapeCreate: step {at}: .args of {name} must be an array")));
    }
    let args = unsafe { (entry.store)(env, list)? };
    let mut dyns = Vec::new();
    if !unsafe { is_undefined(env, prop(env, s, c"dynArg")?) } {
        let pos = unsafe { index(env, s, c"dynArg", at)? };
        if pos >= args.len() || !matches!(args[pos], Stored::Num(_)) {
            return Err(Error::from_reason(format!("tapeCreate: step {at}: {name} has no number argument {pos}")));
        }
        let i = unsafe { index(env, s, c"dynIndex", at)? };
        let arr = scalar_array(unsafe { array(env, s, c"dynArray", at, FLOAT32).or_else(|_| array(env, s, c"dynArray", at, INT32))? }, i, at)?;
        let d = if unsafe { is_undefined(env, prop(env, s, c"dynLoss")?) } {
            Dyn::Scalar { arr, index: i }
        } else {
            let loss = unsafe { index(env, s, c"dynLoss", at)? };
            *losses = (*losses).max(loss + 1);
            Dyn::CeScale { arr, index: i, loss }
        };
        dyns.push((pos, d));
    }
    // More number arguments read from arrays: `dynArgs: [{ arg, array, index }, ...]` (the
    // optimizer's per-step scalars, written by TypeScript before its segment runs).
    let more = unsafe { prop(env, s, c"dynArgs")? };
    if !unsafe { is_undefined(env, more) } {
        let mut n = 0u32;
        let mut is_array = false;
        if unsafe { sys::napi_is_array(env, more, &mut is_array) } != sys::Status::napi_ok
            || !is_array
            || unsafe { sys::napi_get_array_length(env, more, &mut n) } != sys::Status::napi_ok
        {
            return Err(Error::from_reason(format!("tapeCreate: step {at}: .dynArgs of {name} must be an array")));
        }
        for k in 0..n {
            let d = unsafe { element(env, more, k, "tapeCreate")? };
            let pos = unsafe { index(env, d, c"arg", at)? };
            if pos >= args.len() || !matches!(args[pos], Stored::Num(_)) || dyns.iter().any(|(p, _)| *p == pos) {
                return Err(Error::from_reason(format!("tapeCreate: step {at}: {name} has no number argument {pos} to read (or reads it twice)")));
            }
            let i = unsafe { index(env, d, c"index", at)? };
            let arr = scalar_array(unsafe { array(env, d, c"array", at, FLOAT32).or_else(|_| array(env, d, c"array", at, INT32))? }, i, at)?;
            dyns.push((pos, Dyn::Scalar { arr, index: i }));
        }
    }
    Ok(Step::Kernel { entry, args, dyns })
}

unsafe fn build(env: sys::napi_env, list: sys::napi_value) -> Result<NativeTape> {
    let mut n = 0u32;
    let mut is_array = false;
    if unsafe { sys::napi_is_array(env, list, &mut is_array) } != sys::Status::napi_ok
        || !is_array
        || unsafe { sys::napi_get_array_length(env, list, &mut n) } != sys::Status::napi_ok
    {
        return Err(Error::from_reason("tapeCreate: steps must be an array"));
    }
    let mut steps = Vec::with_capacity(n as usize);
    let mut losses = 0usize;
    for at in 0..n as usize {
        let s = unsafe { element(env, list, at as u32, "tapeCreate")? };
        steps.push(unsafe { parse_step(env, s, at, &mut losses)? });
    }
    Ok(NativeTape { steps, counts: vec![0.0; losses], last: f64::NAN })
}

/// The bounds a gather relies on (the arrays cannot change size while the tape is used).
fn check_gather(g: &Gather) -> std::result::Result<(), String> {
    let fits = |a: &Info, off: usize, n: Option<usize>| n.and_then(|n| n.checked_add(off)).is_some_and(|end| end <= a.len);
    let rs = g.rows.map_or(1, |r| r.2);
    if !fits(&g.idx, g.idx_off, Some(g.n)) || !fits(&g.out, g.out_off, g.n.checked_mul(rs)) {
        return Err(format!("{} indices (offset {}) or their output do not fit their arrays", g.n, g.idx_off));
    }
    let range = |a: &Info, off: usize, n: usize| (a.data as usize + 4 * off, a.data as usize + 4 * (off + n));
    let overlap = |a: (usize, usize), b: (usize, usize)| a.0 < a.1 && b.0 < b.1 && a.0 < b.1 && b.0 < a.1;
    let out = range(&g.out, g.out_off, g.n * rs);
    if overlap(out, range(&g.idx, g.idx_off, g.n)) {
        return Err("the output shares memory with the indices".into());
    }
    if let Some((src, base, rs)) = &g.rows {
        if !fits(src, *base, g.size.checked_mul(*rs)) {
            return Err(format!("{} rows of {} (from {}) do not fit the source's {} elements", g.size, rs, base, src.len));
        }
        if overlap(out, range(src, *base, g.size * rs)) {
            return Err("the output shares memory with the source".into());
        }
    }
    Ok(())
}

impl Gather {
    fn run(&self) -> Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        // SAFETY: ranges checked when built (check_gather), disjoint; the JS tape keeps the arrays.
        let idx = unsafe { std::slice::from_raw_parts((self.idx.data as *const i32).add(self.idx_off), self.n) };
        let size = self.size as i64;
        for (i, &v) in idx.iter().enumerate() {
            let v = v as i64;
            if let Some((input, weight)) = &self.embedding {
                if v < 0 || v >= size {
                    return Err(Error::from_reason(format!(
                        "embedding: index {v} (at position {i} of input {input}) is out of range for {size} embeddings (weight {weight})"
                    )));
                }
            } else if v < -size || v >= size {
                return Err(Error::from_reason(format!("index: index {v} is out of bounds for dimension 0 with size {size}")));
            }
        }
        let row = |v: i32| if v < 0 { (v as i64 + size) as usize } else { v as usize };
        match self.rows {
            None => {
                let out = unsafe { std::slice::from_raw_parts_mut((self.out.data as *mut i32).add(self.out_off), self.n) };
                for (o, &v) in out.iter_mut().zip(idx) {
                    *o = row(v) as i32;
                }
            }
            Some((_, _, 0)) => {}
            Some((src, base, rs)) => {
                let src = unsafe { std::slice::from_raw_parts((src.data as *const i32).add(base), self.size * rs) };
                let out = unsafe { std::slice::from_raw_parts_mut((self.out.data as *mut i32).add(self.out_off), self.n * rs) };
                for (p, &v) in idx.iter().enumerate() {
                    // Rows are random lines of a dataset too big for L2 (Xtr[ix]): each would stall
                    // on a cache miss, so the row GATHER_AHEAD places on is asked for now.
                    if let Some(&a) = idx.get(p + GATHER_AHEAD) {
                        ferrograd_kernels::cpu::prefetch(src.as_ptr().wrapping_add(row(a) * rs));
                    }
                    let r = row(v);
                    ferrograd_kernels::copy::copy_row(&mut out[p * rs..(p + 1) * rs], &src[r * rs..(r + 1) * rs]);
                }
            }
        }
        Ok(())
    }
}

/// How many rows ahead a Gather prefetches its source rows (~100 ns of DRAM latency per row).
const GATHER_AHEAD: usize = 16;


// ---- running --------------------------------------------------------------------------------

impl NativeTape {
    /// Runs steps [from, to); an error comes back with the index of the step that failed.
    fn run(&mut self, from: usize, to: usize) -> std::result::Result<(), (usize, Error)> {
        for at in from..to {
            match &mut self.steps[at] {
                Step::Kernel { entry, args, dyns } => {
                    for (pos, d) in dyns.iter() {
                        // SAFETY: indices checked when built; the JS tape keeps the arrays alive.
                        let v = match d {
                            Dyn::Scalar { arr, index } => unsafe { read(arr, *index) },
                            Dyn::CeScale { arr, index, loss } => (unsafe { read(arr, *index) }) / self.counts[*loss],
                        };
                        args[*pos] = Stored::Num(v);
                    }
                    let (name, call) = (entry.name, entry.call);
                    let args: &[Stored] = args;
                    let res = catch_unwind(AssertUnwindSafe(|| call(args))).unwrap_or_else(|p| {
                        let err = panic_to_error(p);
                        if err.reason.starts_with(name) && err.reason[name.len()..].starts_with(':') {
                            Err(err)
                        } else {
                            Err(Error::from_reason(format!("{name}: internal error: {}", err.reason)))
                        }
                    });
                    self.last = res.map_err(|e| (at, e))?;
                }
                Step::Gather(g) => g.run().map_err(|e| (at, e))?,
                Step::Loss(c) => {
                    let sum = self.last;
                    let v = if c.mean {
                        // SAFETY: targets has at least `rows` Int32 elements (checked when built).
                        let t: &[i32] = if c.rows == 0 { &[] } else { unsafe { std::slice::from_raw_parts(c.targets.data as *const i32, c.rows) } };
                        let count = t.iter().filter(|&&x| x as f64 != c.ignore).count();
                        self.counts[c.loss] = count as f64;
                        if count != c.count0 && c.static_backward {
                            return Err((
                                at,
                                Error::from_reason(format!(
                                    "crossEntropy (compiled): this step has {} targets equal to ignoreIndex {} where the recorded step had {}; the compiled backward divides by the recorded count, so this step cannot be replayed (call the function uncompiled, or keep the number of ignored targets fixed)",
                                    c.rows - count,
                                    js(c.ignore),
                                    c.rows - c.count0
                                )),
                            ));
                        }
                        if count == 0 { f64::NAN } else { sum / count as f64 }
                    } else {
                        sum
                    };
                    // SAFETY: out has at least one element of its type (checked when built).
                    unsafe {
                        match c.out.kind {
                            Kind::Typed(FLOAT32) => *(c.out.data as *mut f32) = v as f32,
                            _ => *(c.out.data as *mut f64) = v,
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

// ---- the exports ----------------------------------------------------------------------------

unsafe fn throw(env: sys::napi_env, code: Option<usize>, msg: &str) -> sys::napi_value {
    let m = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let c = code.map(|c| CString::new(c.to_string()).unwrap_or_default());
    // A JS exception left pending by a property read (a getter that threw) gives way to ours.
    let mut pending = false;
    if unsafe { sys::napi_is_exception_pending(env, &mut pending) } == sys::Status::napi_ok && pending {
        let mut e = ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut e) };
    }
    unsafe { sys::napi_throw_error(env, c.as_ref().map_or(ptr::null(), |c| c.as_ptr()), m.as_ptr()) };
    ptr::null_mut()
}

/// Marks the externals made by tapeCreate, so that tapeRun never reads another external as a tape.
static TAG: sys::napi_type_tag = sys::napi_type_tag { lower: 0x6665_7272_6f67_7261, upper: 0x6420_7461_7065_2031 };

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: `data` is the Box made in tape_create_raw, finalized once by N-API.
    drop(unsafe { Box::from_raw(data as *mut NativeTape) });
}

unsafe extern "C" fn tape_create_raw(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<sys::napi_value> {
        let [list] = unsafe { crate::fast::args::<1>(env, info, "tapeCreate")? };
        let tape = Box::into_raw(Box::new(unsafe { build(env, list)? }));
        let mut out = ptr::null_mut();
        if unsafe { sys::napi_create_external(env, tape as *mut _, Some(finalize), ptr::null_mut(), &mut out) } != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(tape) });
            return Err(Error::from_reason("tapeCreate: could not create the tape handle"));
        }
        if unsafe { sys::napi_type_tag_object(env, out, &TAG) } != sys::Status::napi_ok {
            return Err(Error::from_reason("tapeCreate: could not tag the tape handle"));
        }
        Ok(out)
    }))
    .unwrap_or_else(|p| Err(Error::from_reason(format!("tapeCreate: internal error: {}", panic_to_error(p).reason))));
    match res {
        Ok(v) => v,
        Err(e) => unsafe { throw(env, None, &e.reason) },
    }
}

/// The tape behind a handle made by tapeCreate (None for any other value).
///
/// # Safety
/// `env` and `v` come from the current N-API call.
unsafe fn handle<'a>(env: sys::napi_env, v: sys::napi_value) -> Option<&'a mut NativeTape> {
    let mut data = ptr::null_mut();
    let mut t = 0;
    let mut tagged = false;
    if unsafe { sys::napi_typeof(env, v, &mut t) } != sys::Status::napi_ok
        || t != sys::ValueType::napi_external
        || unsafe { sys::napi_check_object_type_tag(env, v, &TAG, &mut tagged) } != sys::Status::napi_ok
        || !tagged
        || unsafe { sys::napi_get_value_external(env, v, &mut data) } != sys::Status::napi_ok
        || data.is_null()
    {
        return None;
    }
    // SAFETY: tagged by tapeCreate, so `data` is its NativeTape (alive until finalized, which
    // cannot happen while JS passes the handle). JS is single-threaded: no other &mut exists.
    Some(unsafe { &mut *(data as *mut NativeTape) })
}

/// `tapeReplace(tape, at, step)`: stores step `at` again from a new description (the tape's
/// arrays rebound to a call's new arguments), leaving the other steps as they are.
unsafe extern "C" fn tape_replace_raw(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let argv = unsafe { crate::fast::args::<3>(env, info, "tapeReplace")? };
        let tape = unsafe { handle(env, argv[0]) }.ok_or_else(|| Error::from_reason("tapeReplace: tape must be a handle made by tapeCreate"))?;
        let mut at = f64::NAN;
        unsafe { sys::napi_get_value_double(env, argv[1], &mut at) };
        if !(at.fract() == 0.0 && at >= 0.0 && at < tape.steps.len() as f64) {
            return Err(Error::from_reason(format!("tapeReplace: step {} is not one of the tape's {} steps", js(at), tape.steps.len())));
        }
        let mut losses = tape.counts.len();
        let step = unsafe { parse_step(env, argv[2], at as usize, &mut losses) }
            .map_err(|e| Error::from_reason(e.reason.replacen("tapeCreate: ", "tapeReplace: ", 1)))?;
        tape.counts.resize(losses, 0.0);
        tape.steps[at as usize] = step;
        Ok(())
    }))
    .unwrap_or_else(|p| Err(Error::from_reason(format!("tapeReplace: internal error: {}", panic_to_error(p).reason))));
    match res {
        Ok(()) => ptr::null_mut(),
        Err(e) => unsafe { throw(env, None, &e.reason) },
    }
}

/// `tapeRun(tape, from, to)`: on failure throws an Error whose `code` is the failing step's index.
unsafe extern "C" fn tape_run_raw(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let argv = match unsafe { crate::fast::args::<3>(env, info, "tapeRun") } {
        Ok(a) => a,
        Err(e) => return unsafe { throw(env, None, &e.reason) },
    };
    let Some(tape) = (unsafe { handle(env, argv[0]) }) else {
        return unsafe { throw(env, None, "tapeRun: tape must be a handle made by tapeCreate") };
    };
    let (mut from, mut to) = (0f64, 0f64);
    unsafe {
        sys::napi_get_value_double(env, argv[1], &mut from);
        sys::napi_get_value_double(env, argv[2], &mut to);
    }
    let n = tape.steps.len() as f64;
    if !(from.fract() == 0.0 && to.fract() == 0.0 && 0.0 <= from && from <= to && to <= n) {
        return unsafe { throw(env, None, &format!("tapeRun: steps {} to {} are not a range of the tape's {} steps", js(from), js(to), n)) };
    }
    match catch_unwind(AssertUnwindSafe(|| tape.run(from as usize, to as usize))) {
        Ok(Ok(())) => ptr::null_mut(),
        Ok(Err((at, e))) => unsafe { throw(env, Some(at), &e.reason) },
        Err(p) => unsafe { throw(env, None, &format!("tapeRun: internal error: {}", panic_to_error(p).reason)) },
    }
}

static TAPE_CREATE: Entry = Entry { name: "tapeCreate", raw: tape_create_raw, store: crate::fast::no_store, call: crate::fast::no_call };
static TAPE_RUN: Entry = Entry { name: "tapeRun", raw: tape_run_raw, store: crate::fast::no_store, call: crate::fast::no_call };
static TAPE_REPLACE: Entry = Entry { name: "tapeReplace", raw: tape_replace_raw, store: crate::fast::no_store, call: crate::fast::no_call };

/// Installs the direct entry points over the declarations below.
pub(crate) unsafe fn install(env: sys::napi_env, exports: sys::napi_value) -> Result<()> {
    unsafe {
        crate::fast::install(env, exports, &TAPE_CREATE)?;
        crate::fast::install(env, exports, &TAPE_REPLACE)?;
        crate::fast::install(env, exports, &TAPE_RUN)
    }
}

/// Builds a native tape from step descriptions (src/compile/native-tape.ts): kernel steps
/// `{ kernel, args, dynArg?, dynArray?, dynIndex?, dynLoss?, dynArgs? }` and crossEntropy loss steps
/// `{ loss, targets, rows, ignoreIndex, out, mean, count0, staticBackward }`. The arrays must stay
/// alive, attached and of the same size while the tape is used (the caller keeps them).
#[napi(js_name = "tapeCreate", ts_args_type = "steps: Array<object>", ts_return_type = "object")]
pub fn tape_create() -> Result<()> {
    Err(Error::from_reason("tapeCreate: replaced by its direct entry point at load"))
}

/// Stores step `at` of a native tape again from a new description (same form as tapeCreate's).
#[napi(js_name = "tapeReplace", ts_args_type = "tape: object, at: number, step: object", ts_return_type = "void")]
pub fn tape_replace() -> Result<()> {
    Err(Error::from_reason("tapeReplace: replaced by its direct entry point at load"))
}

/// Runs steps [from, to) of a native tape; an error names the kernel, its `code` is the step.
#[napi(js_name = "tapeRun", ts_args_type = "tape: object, from: number, to: number", ts_return_type = "void")]
pub fn tape_run() -> Result<()> {
    Err(Error::from_reason("tapeRun: replaced by its direct entry point at load"))
}
