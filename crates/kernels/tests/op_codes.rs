//! The op codes cross the JS boundary as numbers: the Rust enums here are their one source of
//! truth, and src/backend/backend.ts must spell each enum identically (same names, same codes, same
//! order). This test reads the TypeScript file and says exactly what to change when they drift.

use ferrograd_kernels::elementwise::{BinaryOp, UnaryOp};
use ferrograd_kernels::reduce::ReduceOp;
use std::path::Path;

/// The `Name = code` members of `export enum <name> { ... }` in the TypeScript source.
fn ts_enum(src: &str, name: &str) -> Vec<(String, i64)> {
    let start = src
        .find(&format!("export enum {name} {{"))
        .unwrap_or_else(|| panic!("src/backend/backend.ts has no `export enum {name} {{`"));
    let body = &src[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.lines()
        .map(|l| l.split("//").next().unwrap().trim().trim_end_matches(','))
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with("/*"))
        .map(|l| {
            let (n, c) = l.split_once('=').unwrap_or_else(|| panic!("{name}: member `{l}` needs an explicit code"));
            (n.trim().to_string(), c.trim().parse().unwrap_or_else(|_| panic!("{name}: bad code in `{l}`")))
        })
        .collect()
}

/// The enum as Rust defines it; `from_code` indexes `ALL`, so codes must be 0, 1, 2, ... in order.
fn rust_enum<T: Copy + std::fmt::Debug>(all: &[T], code: impl Fn(T) -> i64) -> Vec<(String, i64)> {
    for (i, &op) in all.iter().enumerate() {
        assert_eq!(code(op), i as i64, "{op:?}: ALL must list the ops in code order");
    }
    all.iter().map(|&op| (format!("{op:?}"), code(op))).collect()
}

fn check(name: &str, rust: Vec<(String, i64)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/backend/backend.ts");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let ts = ts_enum(&src, name);
    if ts != rust {
        let want: Vec<String> = rust.iter().map(|(n, c)| format!("  {n} = {c},")).collect();
        panic!("src/backend/backend.ts `enum {name}` differs from the Rust enum; it should read:\n{}", want.join("\n"));
    }
}

#[test]
fn typescript_op_codes_match_rust() {
    check("UnaryOp", rust_enum(&UnaryOp::ALL, |o| o as i64));
    check("BinaryOp", rust_enum(&BinaryOp::ALL, |o| o as i64));
    check("ReduceOp", rust_enum(&ReduceOp::ALL, |o| o as i64));
}
