//! Safetensors header validation by the reference implementation (the `safetensors` crate, the
//! parser behind Python's `safetensors` package), so that ferrograd accepts and refuses exactly the
//! files PyTorch users' tooling does.
//!
//! TypeScript reads the 8-byte header length, checks it against the file size and the 100 MB cap
//! before allocating anything, and passes the header bytes here. The crate decides whether the
//! header is valid (JSON, dtypes, shapes, offsets that tile the data section without gaps or
//! overlaps, byte lengths that match shape × dtype); this file only adds which tensor is at fault
//! to its messages and returns the descriptors, in file order. TypeScript then reads each tensor's
//! bytes straight from the file into its typed array.

use ::safetensors::tensor::{Metadata, TensorInfo};
use napi::{Error, Result, Status};
use napi_derive::napi;
use serde_json::error::Category;
use serde_json::Value;

/// Headers above this size are refused without a detailed diagnosis (a second parse into
/// `serde_json::Value` costs several times the header's size in memory).
const MAX_DIAGNOSED_HEADER: usize = 16 << 20;

/// Largest dimension handed to JavaScript (its safe-integer limit, 2^53 − 1).
const MAX_SAFE_INTEGER: usize = (1 << 53) - 1;

/// One tensor of a safetensors file.
#[napi(object)]
pub struct SafetensorsEntry {
    pub name: String,
    /// The format's dtype name: "F32", "I64", "BF16", ...
    pub dtype: String,
    pub shape: Vec<f64>,
    /// Byte offsets relative to the start of the data section (after the header).
    pub begin: f64,
    pub end: f64,
}

/// One `__metadata__` entry.
#[napi(object)]
pub struct SafetensorsMetadataEntry {
    pub key: String,
    pub value: String,
}

/// A validated header.
#[napi(object)]
pub struct SafetensorsHeader {
    /// Tensors in the order of their data in the file.
    pub tensors: Vec<SafetensorsEntry>,
    /// The `__metadata__` strings sorted by key; `null` when the file has none.
    pub metadata: Option<Vec<SafetensorsMetadataEntry>>,
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, msg.to_string())
}

/// Validates the JSON header of a safetensors file whose data section (everything after the
/// header) holds `dataLen` bytes, and returns its tensors and metadata. Errors name the fault
/// and the tensor; the caller adds the file name.
#[napi(catch_unwind)]
pub fn safetensors_parse_header(header: &[u8], data_len: f64) -> Result<SafetensorsHeader> {
    if !(data_len.is_finite() && data_len >= 0.0 && data_len.fract() == 0.0 && data_len <= MAX_SAFE_INTEGER as f64) {
        return Err(invalid(format!("dataLen must be a non-negative integer, got {data_len}")));
    }
    let data_len = data_len as usize;
    let text = std::str::from_utf8(header)
        .map_err(|e| invalid(format!("header is not valid UTF-8 (invalid byte at header offset {})", e.valid_up_to())))?;
    let metadata: Metadata = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return Err(invalid(explain(text, &e))),
    };

    let covered = metadata.data_len();
    if covered != data_len {
        return Err(invalid(if covered > data_len {
            format!("file is truncated: the tensors need {covered} bytes of data but the file holds {data_len}")
        } else {
            format!("the tensors cover {covered} bytes of data but the file holds {data_len} (trailing bytes are not allowed)")
        }));
    }

    let mut tensors = Vec::new();
    for name in metadata.offset_keys() {
        let info = metadata.info(&name).ok_or_else(|| invalid(format!("tensor {name:?} vanished from the header")))?;
        if let Some(&d) = info.shape.iter().find(|&&d| d > MAX_SAFE_INTEGER) {
            return Err(invalid(format!("tensor {name:?} has a dimension of {d}, too large for JavaScript")));
        }
        tensors.push(SafetensorsEntry {
            dtype: info.dtype.to_string(),
            shape: info.shape.iter().map(|&d| d as f64).collect(),
            begin: info.data_offsets.0 as f64,
            end: info.data_offsets.1 as f64,
            name,
        });
    }

    let metadata = metadata.metadata().as_ref().map(|m| {
        let mut entries: Vec<_> =
            m.iter().map(|(k, v)| SafetensorsMetadataEntry { key: k.clone(), value: v.clone() }).collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    });
    Ok(SafetensorsHeader { tensors, metadata })
}

/// The crate's refusal, with the tensor or metadata key at fault when it can be pinned down.
fn explain(text: &str, err: &serde_json::Error) -> String {
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("header is not valid JSON: {err}"),
        Category::Data => {
            let detail = if text.len() <= MAX_DIAGNOSED_HEADER { diagnose(text) } else { None };
            detail.unwrap_or_else(|| format!("invalid header: {err}"))
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Finds the entry the crate refused. Only used for messages: acceptance is the crate's call.
fn diagnose(text: &str) -> Option<String> {
    let root: Value = serde_json::from_str(text).ok()?;
    let Value::Object(entries) = root else {
        return Some(format!("header must be a JSON object, got {}", json_kind(&root)));
    };
    let mut infos: Vec<(String, TensorInfo)> = Vec::new();
    for (name, v) in entries {
        if name == "__metadata__" {
            let Value::Object(meta) = &v else {
                return Some(format!("__metadata__ must be an object of strings, got {}", json_kind(&v)));
            };
            if let Some((k, bad)) = meta.iter().find(|(_, x)| !x.is_string()) {
                return Some(format!("__metadata__ value of {k:?} must be a string, got {} ({bad})", json_kind(bad)));
            }
            continue;
        }
        match serde_json::from_value::<TensorInfo>(v) {
            Ok(info) => infos.push((name, info)),
            Err(e) => return Some(format!("tensor {name:?}: {e}")),
        }
    }
    infos.sort_by_key(|(_, info)| info.data_offsets);
    let mut expected_start = 0usize;
    let mut previous: Option<&str> = None;
    for (name, info) in &infos {
        let (s, e) = info.data_offsets;
        if e < s {
            return Some(format!("tensor {name:?} has data_offsets [{s}, {e}] that end before they start"));
        }
        if s < expected_start {
            let p = previous.unwrap_or("?");
            return Some(format!(
                "tensor {name:?} has data_offsets [{s}, {e}] that overlap tensor {p:?} (which ends at {expected_start})"
            ));
        }
        if s > expected_start {
            let before = previous.map_or(String::from("the data section starts at 0"), |p| format!("tensor {p:?} ends at {expected_start}"));
            return Some(format!("tensor {name:?} has data_offsets [{s}, {e}] but {before}: the format allows no gaps"));
        }
        let bits = info.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).and_then(|n| n.checked_mul(info.dtype.bitsize()));
        match bits {
            None => return Some(format!("tensor {name:?} has shape {:?}, whose size overflows", info.shape)),
            Some(b) if b % 8 != 0 => {
                return Some(format!("tensor {name:?} of dtype {} and shape {:?} does not fill whole bytes", info.dtype, info.shape))
            }
            Some(b) if b / 8 != e - s => {
                return Some(format!(
                    "tensor {name:?} of dtype {} and shape {:?} needs {} bytes but its data_offsets [{s}, {e}] hold {}",
                    info.dtype,
                    info.shape,
                    b / 8,
                    e - s
                ))
            }
            Some(_) => {}
        }
        expected_start = e;
        previous = Some(name);
    }
    None
}
