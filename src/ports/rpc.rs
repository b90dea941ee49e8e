//! The RPC/MI port: one call of a management command (Kamailio's RPC through
//! `rpc_t`: kamcmd, jsonrpcs; OpenSIPS's MI), its arguments in order, and the
//! records it answers with.
//!
//! A [`Record`] is the one shape both hosts print: named fields whose values
//! are text, integers or records nested inside (kamcmd prints a nested
//! record as an indented structure, MI as a JSON object).

use std::fmt;

/// A field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(Vec<u8>),
    Int(i64),
    Record(Record),
}

/// Named fields, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub fields: Vec<(&'static str, Value)>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    pub fn str(mut self, name: &'static str, v: &[u8]) -> Record {
        self.fields.push((name, Value::Str(v.to_vec())));
        self
    }

    pub fn int(mut self, name: &'static str, v: i64) -> Record {
        self.fields.push((name, Value::Int(v)));
        self
    }

    pub fn record(mut self, name: &'static str, r: Record) -> Record {
        self.fields.push((name, Value::Record(r)));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|(n, _)| *n).collect()
    }
}

/// The transport could not add a record (out of memory for its reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddError;

/// One call of a command.
pub trait RpcCall {
    /// The next argument as text. With `required`, a missing one is
    /// reported to the caller by the transport itself (Kamailio's "S");
    /// otherwise it is just None ("*S").
    fn next_str(&mut self, required: bool) -> Option<Vec<u8>>;

    /// The next argument as an integer (None: missing or not a number; with
    /// `required` the transport has said so).
    fn next_int(&mut self, required: bool) -> Option<i64>;

    /// Answers with an error instead of records.
    fn fault(&mut self, code: i32, msg: &str);

    /// Adds a record to the answer.
    fn add(&mut self, r: &Record) -> Result<(), AddError>;
}

/// A wrong argument: which one (1-based) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub at: usize,
    pub name: &'static str,
    pub want: &'static str,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argument {} ({}) missing or not {}",
            self.at, self.name, self.want
        )
    }
}

/// Reads one text argument per name (the first required, the rest
/// optional, as stock's "S*S..." formats); `first` is the position of the
/// first one among the command's arguments (1-based, for the error).
pub fn strs(
    call: &mut impl RpcCall,
    first: usize,
    names: &[&'static str],
) -> Result<Vec<Vec<u8>>, ArgError> {
    let mut out = Vec::with_capacity(names.len());
    for (i, &name) in names.iter().enumerate() {
        match call.next_str(i == 0) {
            Some(v) => out.push(v),
            None => {
                return Err(ArgError {
                    at: first + i,
                    name,
                    want: "text",
                })
            }
        }
    }
    Ok(out)
}

/// Reads a required integer argument.
pub fn int(call: &mut impl RpcCall, at: usize, name: &'static str) -> Result<i64, ArgError> {
    call.next_int(true).ok_or(ArgError {
        at,
        name,
        want: "a number",
    })
}
