//! Argument validation with messages that name the kernel, the argument and the bad value.
//! JS numbers arrive as f64: sizes must be finite non-negative integers (so -1 never becomes
//! u32::MAX), and all size arithmetic is checked for overflow.

use crate::arrays::{type_name, Arr, Dims, Info, Kind, Raw, FLOAT32, INT32};
use napi::{Error, Result, Status};

/// Largest size accepted: JS's safe-integer limit (2^53 − 1).
const MAX_SIZE: f64 = 9_007_199_254_740_991.0;

/// Validation context for one kernel call.
pub struct Checker(pub &'static str);

impl Checker {
    pub fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::new(Status::InvalidArg, format!("{}: {}", self.0, msg))
    }

    pub fn fail<T>(&self, msg: impl std::fmt::Display) -> Result<T> {
        Err(self.err(msg))
    }

    /// A non-negative integer size, offset or count.
    pub fn size(&self, name: &str, v: f64) -> Result<usize> {
        if !v.is_finite() || v.fract() != 0.0 {
            return self.fail(format!("{name} must be a non-negative integer, got {}", js(v)));
        }
        if v < 0.0 {
            return self.fail(format!("{name} must be >= 0, got {}", js(v)));
        }
        if v > MAX_SIZE {
            return self.fail(format!("{name} is too large ({})", js(v)));
        }
        Ok(v as usize)
    }

    /// A size that must be at least 1.
    pub fn positive(&self, name: &str, v: f64) -> Result<usize> {
        let s = self.size(name, v)?;
        if s == 0 {
            return self.fail(format!("{name} must be >= 1, got 0"));
        }
        Ok(s)
    }

    /// Any integer (e.g. ignoreIndex, which is usually negative).
    pub fn int(&self, name: &str, v: f64) -> Result<i64> {
        if !v.is_finite() || v.fract() != 0.0 || v.abs() > MAX_SIZE {
            return self.fail(format!("{name} must be an integer, got {}", js(v)));
        }
        Ok(v as i64)
    }

    /// A list of sizes (shape or strides), all validated.
    pub fn sizes(&self, name: &str, v: &Dims) -> Result<Vec<usize>> {
        if let Some(why) = &v.bad {
            return self.fail(format!("{name}{why}"));
        }
        let mut out = Vec::with_capacity(v.as_slice().len());
        for (i, &x) in v.as_slice().iter().enumerate() {
            // Fast path without formatting the element name; only a bad value builds a message.
            if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= MAX_SIZE {
                out.push(x as usize);
            } else {
                self.size(&format!("{name}[{i}]"), x)?;
            }
        }
        Ok(out)
    }

    pub fn rank(&self, shape: &[usize], name: &str, strides: &[usize]) -> Result<()> {
        if strides.len() != shape.len() {
            return self.fail(format!("{name} has {} entries but shape {} has rank {}", strides.len(), fmt_shape(shape), shape.len()));
        }
        Ok(())
    }

    /// Product of sizes, or an overflow error naming what was being computed.
    pub fn mul(&self, what: &str, factors: &[usize]) -> Result<usize> {
        factors
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .ok_or_else(|| self.err(format!("{what} overflows ({})", factors.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" x "))))
    }

    pub fn f32(&self, arr: &Arr, name: &'static str) -> Result<Raw<f32>> {
        let info = arr.info();
        self.typed(&info, name, FLOAT32, "float64 tensors run on the reference backend")?;
        Ok(Raw::new(&info, name))
    }

    pub fn i32(&self, arr: &Arr, name: &'static str) -> Result<Raw<i32>> {
        let info = arr.info();
        self.typed(&info, name, INT32, "indices are int32")?;
        Ok(Raw::new(&info, name))
    }

    fn typed(&self, arr: &Info, name: &str, want: i32, hint: &str) -> Result<()> {
        match arr.kind {
            Kind::Typed(c) if c == want => Ok(()),
            Kind::Typed(c) if c == 8 && want == FLOAT32 => self.fail(format!("{name} must be a Float32Array, got a Float64Array ({hint})")),
            _ => self.fail(format!("{name} must be a{} {}, got {}", if want == INT32 { "n" } else { "" }, type_name(want), arr.describe())),
        }
    }

    /// The array must have exactly `want` elements; `why` explains where `want` comes from.
    pub fn len_eq<T>(&self, a: &Raw<T>, want: usize, why: impl FnOnce() -> String) -> Result<()> {
        if a.len != want {
            return self.fail(format!("{} has {} elements but {} needs {}", a.name, a.len, why(), want));
        }
        Ok(())
    }

    /// The array must have at least `need` elements.
    pub fn len_ge<T>(&self, a: &Raw<T>, need: usize, why: impl FnOnce() -> String) -> Result<()> {
        if a.len < need {
            return self.fail(format!("{} has {} elements but {} needs {}", a.name, a.len, why(), need));
        }
        Ok(())
    }

    /// A strided view (offset, shape, strides) must stay inside its array.
    pub fn view<T>(&self, a: &Raw<T>, off: usize, shape: &[usize], strides: &[usize]) -> Result<()> {
        let ext = ferrograd_kernels::layout::extent(off, shape, strides)
            .ok_or_else(|| self.err(format!("{} view offset {} shape {} strides {:?} overflows", a.name, off, fmt_shape(shape), strides)))?;
        if ext > a.len {
            return self.fail(format!(
                "{} has {} elements but offset {} + shape {} with strides {:?} reaches index {}",
                a.name, a.len, off, fmt_shape(shape), strides, ext - 1
            ));
        }
        Ok(())
    }

    /// Every output must be disjoint from every other argument (inputs and outputs), so the
    /// borrowed slices never alias. `inputs` are (start, end, name) byte ranges.
    pub fn no_alias(&self, inputs: &[(usize, usize, &'static str)], outputs: &[(usize, usize, &'static str)]) -> Result<()> {
        let overlap = |a: &(usize, usize, &str), b: &(usize, usize, &str)| a.0 < a.1 && b.0 < b.1 && a.0 < b.1 && b.0 < a.1;
        for (i, o) in outputs.iter().enumerate() {
            for other in inputs.iter().chain(outputs[i + 1..].iter()) {
                if overlap(o, other) {
                    return self.fail(format!("{} and {} share memory; the output must be a distinct array", o.2, other.2));
                }
            }
        }
        Ok(())
    }
}

/// Byte range of a checked array, for `no_alias`.
pub fn r<T>(a: &Raw<T>) -> (usize, usize, &'static str) {
    let (s, e) = a.range();
    (s, e, a.name)
}

pub fn fmt_shape(shape: &[usize]) -> String {
    format!("[{}]", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

/// A number as JavaScript prints it (NaN, Infinity, 2.5, -1).
pub fn js(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        format!("{v}")
    }
}
