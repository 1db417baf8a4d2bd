//! Protocol buffers' text format (`.pbtxt`), for the messages of a `GraphDef` and the
//! `checkpoint` state file: [`parse`] and [`print`].
//!
//! ```
//! use rustflow_proto::{text, GraphDef};
//! let g: GraphDef = text::parse(r#"node { name: "x" op: "Placeholder" } versions { producer: 27 }"#).unwrap();
//! assert_eq!(g.node[0].op, "Placeholder");
//! assert_eq!(text::parse::<GraphDef>(&text::print(&g)).unwrap(), g);
//! ```

use std::fmt::Write as _;

use crate::bundle::CheckpointState;
use crate::framework::{
    attr_value, op_def, tensor_shape_proto, AttrValue, DataType, FunctionDef, FunctionDefLibrary,
    GraphDef, NameAttrList, NodeDef, OpDef, TensorProto, TensorShapeProto, VersionDef,
};

/// A text-format error: where (line and column, or the field) and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("text format, {at}: {message}")]
pub struct TextError {
    /// `line L, column C` for a syntax error, or the path of the field.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

fn field_error(field: &str, message: impl Into<String>) -> TextError {
    TextError {
        at: format!("field `{field}`"),
        message: message.into(),
    }
}

/// A parsed field value: a scalar token (identifier, number, enum name) or string, or a message.
#[derive(Debug, Clone, PartialEq)]
pub enum TextValue {
    /// An unquoted token: a number, `true`/`false`, or an enum value name.
    Token(String),
    /// A quoted string, unescaped (adjacent strings concatenated).
    Bytes(Vec<u8>),
    /// A nested message.
    Message(TextMessage),
}

/// A parsed message: its fields in order (a repeated field appears once per element).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextMessage {
    /// `(field name, value)` pairs in file order.
    pub fields: Vec<(String, TextValue)>,
}

/// A message that can be read from and written to the text format.
pub trait TextFormat: Default {
    /// Merges one field into `self`.
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError>;
    /// Writes every non-default field.
    fn write_fields(&self, w: &mut TextWriter);

    /// Builds the message from parsed fields.
    fn from_text(message: TextMessage) -> Result<Self, TextError> {
        let mut out = Self::default();
        for (name, value) in message.fields {
            out.merge_field(&name, value)?;
        }
        Ok(out)
    }
}

/// Parses a message from text.
pub fn parse<M: TextFormat>(text: &str) -> Result<M, TextError> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
    };
    let message = p.message(None)?;
    M::from_text(message)
}

/// Prints a message as text, two-space indented, as TensorFlow's `write_graph(as_text=True)`.
pub fn print<M: TextFormat>(message: &M) -> String {
    let mut w = TextWriter::default();
    message.write_fields(&mut w);
    w.out
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> TextError {
        let before = &self.src[..self.pos.min(self.src.len())];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&c| c != b'\n').count() + 1;
        TextError {
            at: format!("line {line}, column {column}"),
            message: message.into(),
        }
    }

    fn skip_space(&mut self) {
        while let Some(&c) = self.src.get(self.pos) {
            if c == b'#' {
                while self.src.get(self.pos).is_some_and(|&c| c != b'\n') {
                    self.pos += 1;
                }
            } else if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.src.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> Result<String, TextError> {
        self.skip_space();
        let start = self.pos;
        while self
            .src
            .get(self.pos)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'.'))
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a name or a value"));
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    /// Reads fields until `close` (or the end of input when `close` is `None`).
    fn message(&mut self, close: Option<u8>) -> Result<TextMessage, TextError> {
        let mut out = TextMessage::default();
        loop {
            match (self.peek(), close) {
                (None, None) => return Ok(out),
                (None, Some(c)) => {
                    return Err(self.error(format!("missing `{}`", c as char)));
                }
                (Some(c), Some(close)) if c == close => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {}
            }
            let name = self.token()?;
            let colon = self.eat(b':');
            if self.eat(b'[') {
                while !self.eat(b']') {
                    let value = self.value(colon)?;
                    out.fields.push((name.clone(), value));
                    self.eat(b',');
                }
            } else {
                let value = self.value(colon)?;
                out.fields.push((name, value));
            }
            if !self.eat(b',') {
                self.eat(b';');
            }
        }
    }

    fn value(&mut self, colon: bool) -> Result<TextValue, TextError> {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(TextValue::Message(self.message(Some(b'}'))?))
            }
            Some(b'<') => {
                self.pos += 1;
                Ok(TextValue::Message(self.message(Some(b'>'))?))
            }
            Some(b'"' | b'\'') => {
                let mut bytes = Vec::new();
                while let Some(q @ (b'"' | b'\'')) = self.peek() {
                    self.pos += 1;
                    self.string_body(q, &mut bytes)?;
                }
                Ok(TextValue::Bytes(bytes))
            }
            _ if !colon => Err(self.error("expected `:` or `{`")),
            _ => Ok(TextValue::Token(self.token()?)),
        }
    }

    fn string_body(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), TextError> {
        loop {
            let Some(&c) = self.src.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            if c == quote {
                return Ok(());
            }
            if c == b'\n' {
                self.pos -= 1;
                return Err(self.error("newline in string"));
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(&e) = self.src.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match e {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'a' => out.push(0x07),
                b'b' => out.push(0x08),
                b'f' => out.push(0x0c),
                b'v' => out.push(0x0b),
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.src.get(self.pos) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                self.pos += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(u8::try_from(v).map_err(|_| self.error("octal escape over 255"))?);
                }
                b'x' | b'X' => {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2 {
                        match self
                            .src
                            .get(self.pos)
                            .and_then(|&d| (d as char).to_digit(16))
                        {
                            Some(d) => {
                                v = v * 16 + d;
                                self.pos += 1;
                                n += 1;
                            }
                            None => break,
                        }
                    }
                    if n == 0 {
                        return Err(self.error("`\\x` without hex digits"));
                    }
                    out.push(v as u8);
                }
                other => out.push(other),
            }
        }
    }
}

/// Writes fields in text format; used by [`TextFormat::write_fields`].
#[derive(Default)]
pub struct TextWriter {
    out: String,
    indent: usize,
}

impl TextWriter {
    fn line(&mut self, name: &str, value: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        let _ = writeln!(self.out, "{name}: {value}");
    }

    /// Writes `name: value` with a scalar printed as is (numbers, `true`, enum names).
    pub fn scalar(&mut self, name: &str, value: impl std::fmt::Display) {
        self.line(name, &value.to_string());
    }

    /// Writes a float as the shortest text that reads back to the same bits.
    pub fn float(&mut self, name: &str, value: f64) {
        let text = if value.is_nan() {
            "nan".to_string()
        } else if value.is_infinite() {
            if value > 0.0 { "inf" } else { "-inf" }.to_string()
        } else {
            format!("{value:?}")
        };
        self.line(name, &text);
    }

    /// Writes `name: "escaped bytes"` (C escapes, octal for non-printable bytes).
    pub fn bytes(&mut self, name: &str, value: &[u8]) {
        let mut s = String::with_capacity(value.len() + 2);
        s.push('"');
        for &c in value {
            match c {
                b'\n' => s.push_str("\\n"),
                b'\r' => s.push_str("\\r"),
                b'\t' => s.push_str("\\t"),
                b'"' => s.push_str("\\\""),
                b'\'' => s.push_str("\\'"),
                b'\\' => s.push_str("\\\\"),
                0x20..=0x7e => s.push(c as char),
                _ => {
                    let _ = write!(s, "\\{c:03o}");
                }
            }
        }
        s.push('"');
        self.line(name, &s);
    }

    /// Writes `name { ... }` with the fields `f` writes.
    pub fn message(&mut self, name: &str, f: impl FnOnce(&mut TextWriter)) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        let _ = writeln!(self.out, "{name} {{");
        self.indent += 1;
        f(self);
        self.indent -= 1;
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str("}\n");
    }
}

fn number<T: std::str::FromStr>(name: &str, value: TextValue) -> Result<T, TextError> {
    match value {
        TextValue::Token(t) => {
            let parsed = if let Some(hex) = t.strip_prefix("0x") {
                i128::from_str_radix(hex, 16)
                    .ok()
                    .and_then(|v| v.to_string().parse().ok())
            } else {
                t.parse().ok()
            };
            parsed.ok_or_else(|| field_error(name, format!("`{t}` is not a valid number here")))
        }
        other => Err(field_error(
            name,
            format!("expected a number, found {other:?}"),
        )),
    }
}

fn float(name: &str, value: TextValue) -> Result<f64, TextError> {
    let TextValue::Token(t) = value else {
        return Err(field_error(name, "expected a number"));
    };
    let lower = t.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('f');
    match trimmed {
        "inf" | "infinity" | "+inf" => Ok(f64::INFINITY),
        "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
        "nan" | "-nan" => Ok(f64::NAN),
        _ => trimmed
            .parse()
            .map_err(|_| field_error(name, format!("`{t}` is not a float"))),
    }
}

fn boolean(name: &str, value: TextValue) -> Result<bool, TextError> {
    match value {
        TextValue::Token(t) if t == "true" || t == "True" || t == "t" || t == "1" => Ok(true),
        TextValue::Token(t) if t == "false" || t == "False" || t == "f" || t == "0" => Ok(false),
        other => Err(field_error(
            name,
            format!("expected true or false, found {other:?}"),
        )),
    }
}

fn bytes(name: &str, value: TextValue) -> Result<Vec<u8>, TextError> {
    match value {
        TextValue::Bytes(b) => Ok(b),
        other => Err(field_error(
            name,
            format!("expected a quoted string, found {other:?}"),
        )),
    }
}

fn string(name: &str, value: TextValue) -> Result<String, TextError> {
    String::from_utf8(bytes(name, value)?).map_err(|_| field_error(name, "not valid UTF-8"))
}

fn message<M: TextFormat>(name: &str, value: TextValue) -> Result<M, TextError> {
    match value {
        TextValue::Message(m) => M::from_text(m).map_err(|mut e| {
            e.at = format!("{name} > {}", e.at);
            e
        }),
        other => Err(field_error(name, format!("expected `{{`, found {other:?}"))),
    }
}

fn data_type(name: &str, value: TextValue) -> Result<i32, TextError> {
    match &value {
        TextValue::Token(t) if t.starts_with("DT_") => {
            let base = t.trim_end_matches("_REF");
            let v = DataType::from_str_name(base)
                .map(|d| d as i32)
                .ok_or_else(|| field_error(name, format!("unknown data type `{t}`")))?;
            Ok(if t.ends_with("_REF") { v + 100 } else { v })
        }
        _ => number(name, value),
    }
}

/// TensorFlow's name of a `DataType` wire value (`DT_FLOAT`, `DT_FLOAT_REF`), or the number.
pub fn data_type_name(value: i32) -> String {
    match DataType::base(value) {
        Some(d) if value > 100 => format!("{}_REF", d.as_str_name()),
        Some(d) => d.as_str_name().to_string(),
        None => value.to_string(),
    }
}

fn unknown(name: &str) -> TextError {
    field_error(name, "no such field")
}

impl TextFormat for GraphDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "node" => self.node.push(message(name, value)?),
            "library" => self.library = Some(message(name, value)?),
            "version" => self.version = number(name, value)?,
            "versions" => self.versions = Some(message(name, value)?),
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        for n in &self.node {
            w.message("node", |w| n.write_fields(w));
        }
        if let Some(l) = &self.library {
            w.message("library", |w| l.write_fields(w));
        }
        if self.version != 0 {
            w.scalar("version", self.version);
        }
        if let Some(v) = &self.versions {
            w.message("versions", |w| v.write_fields(w));
        }
    }
}

impl TextFormat for FunctionDefLibrary {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "function" => self.function.push(message(name, value)?),
            // Gradient registrations and registered gradients: not needed to import.
            "gradient" | "registered_gradients" => {}
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        for f in &self.function {
            w.message("function", |w| f.write_fields(w));
        }
    }
}

/// A `map<string, string>` entry: `ret { key: "..." value: "..." }`.
fn string_entry(
    map: &mut std::collections::BTreeMap<String, String>,
    name: &str,
    value: TextValue,
) -> Result<(), TextError> {
    let TextValue::Message(entry) = value else {
        return Err(field_error(name, "expected `{`"));
    };
    let (mut key, mut val) = (String::new(), String::new());
    for (n, v) in entry.fields {
        match n.as_str() {
            "key" => key = string("key", v)?,
            "value" => val = string("value", v)?,
            _ => return Err(unknown(&n)),
        }
    }
    map.insert(key, val);
    Ok(())
}

impl TextFormat for FunctionDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "signature" => self.signature = Some(message(name, value)?),
            "node_def" => self.node_def.push(message(name, value)?),
            "ret" => string_entry(&mut self.ret, name, value)?,
            "attr" => attr_entry(&mut self.attr, name, value)?,
            // Per-argument attributes, resource ids and control returns: not needed to import.
            "arg_attr" | "resource_arg_unique_id" | "control_ret" => {}
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        if let Some(s) = &self.signature {
            w.message("signature", |w| s.write_fields(w));
        }
        for n in &self.node_def {
            w.message("node_def", |w| n.write_fields(w));
        }
        for (key, value) in &self.ret {
            w.message("ret", |w| {
                w.bytes("key", key.as_bytes());
                w.bytes("value", value.as_bytes());
            });
        }
        write_attrs(w, &self.attr);
    }
}

impl TextFormat for OpDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "name" => self.name = string(name, value)?,
            "input_arg" => self.input_arg.push(message(name, value)?),
            "output_arg" => self.output_arg.push(message(name, value)?),
            "attr" => self.attr.push(message(name, value)?),
            "summary" => self.summary = string(name, value)?,
            "description" => self.description = string(name, value)?,
            "is_aggregate" => self.is_aggregate = boolean(name, value)?,
            "is_stateful" => self.is_stateful = boolean(name, value)?,
            "is_commutative" => self.is_commutative = boolean(name, value)?,
            "allows_uninitialized_input" => self.allows_uninitialized_input = boolean(name, value)?,
            "control_output" => self.control_output.push(string(name, value)?),
            "deprecation" | "is_distributed_communication" => {}
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes("name", self.name.as_bytes());
        for a in &self.input_arg {
            w.message("input_arg", |w| a.write_fields(w));
        }
        for a in &self.output_arg {
            w.message("output_arg", |w| a.write_fields(w));
        }
        for a in &self.attr {
            w.message("attr", |w| a.write_fields(w));
        }
        if self.is_stateful {
            w.scalar("is_stateful", true);
        }
        for c in &self.control_output {
            w.bytes("control_output", c.as_bytes());
        }
    }
}

impl TextFormat for op_def::ArgDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "name" => self.name = string(name, value)?,
            "description" => self.description = string(name, value)?,
            "type" => self.r#type = data_type(name, value)?,
            "type_attr" => self.type_attr = string(name, value)?,
            "number_attr" => self.number_attr = string(name, value)?,
            "type_list_attr" => self.type_list_attr = string(name, value)?,
            "is_ref" => self.is_ref = boolean(name, value)?,
            "handle_data" | "experimental_full_type" => {}
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes("name", self.name.as_bytes());
        if self.r#type != 0 {
            w.scalar("type", data_type_name(self.r#type));
        }
        for (k, v) in [
            ("type_attr", &self.type_attr),
            ("number_attr", &self.number_attr),
            ("type_list_attr", &self.type_list_attr),
        ] {
            if !v.is_empty() {
                w.bytes(k, v.as_bytes());
            }
        }
        if self.is_ref {
            w.scalar("is_ref", true);
        }
    }
}

impl TextFormat for op_def::AttrDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "name" => self.name = string(name, value)?,
            "type" => self.r#type = string(name, value)?,
            "default_value" => self.default_value = Some(message(name, value)?),
            "description" => self.description = string(name, value)?,
            "has_minimum" => self.has_minimum = boolean(name, value)?,
            "minimum" => self.minimum = number(name, value)?,
            "allowed_values" => self.allowed_values = Some(message(name, value)?),
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes("name", self.name.as_bytes());
        w.bytes("type", self.r#type.as_bytes());
        if let Some(d) = &self.default_value {
            w.message("default_value", |w| d.write_fields(w));
        }
        if self.has_minimum {
            w.scalar("has_minimum", true);
            w.scalar("minimum", self.minimum);
        }
        if let Some(a) = &self.allowed_values {
            w.message("allowed_values", |w| a.write_fields(w));
        }
    }
}

impl TextFormat for VersionDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "producer" => self.producer = number(name, value)?,
            "min_consumer" => self.min_consumer = number(name, value)?,
            "bad_consumers" => self.bad_consumers.push(number(name, value)?),
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        if self.producer != 0 {
            w.scalar("producer", self.producer);
        }
        if self.min_consumer != 0 {
            w.scalar("min_consumer", self.min_consumer);
        }
        for b in &self.bad_consumers {
            w.scalar("bad_consumers", b);
        }
    }
}

/// A `map<string, AttrValue>` entry: `attr { key: "..." value { ... } }`.
fn attr_entry(
    map: &mut std::collections::BTreeMap<String, AttrValue>,
    name: &str,
    value: TextValue,
) -> Result<(), TextError> {
    let TextValue::Message(entry) = value else {
        return Err(field_error(name, "expected `{`"));
    };
    let (mut key, mut attr) = (String::new(), AttrValue::default());
    for (n, v) in entry.fields {
        match n.as_str() {
            "key" => key = string("key", v)?,
            "value" => attr = message("value", v)?,
            _ => return Err(unknown(&n)),
        }
    }
    map.insert(key, attr);
    Ok(())
}

fn write_attrs(w: &mut TextWriter, attrs: &std::collections::BTreeMap<String, AttrValue>) {
    for (key, value) in attrs {
        w.message("attr", |w| {
            w.bytes("key", key.as_bytes());
            w.message("value", |w| value.write_fields(w));
        });
    }
}

impl TextFormat for NodeDef {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "name" => self.name = string(name, value)?,
            "op" => self.op = string(name, value)?,
            "input" => self.input.push(string(name, value)?),
            "device" => self.device = string(name, value)?,
            "attr" => attr_entry(&mut self.attr, name, value)?,
            // FullTypeDef and debug info: not needed to build or run a node.
            "experimental_type" | "experimental_debug_info" => {}
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes("name", self.name.as_bytes());
        w.bytes("op", self.op.as_bytes());
        for i in &self.input {
            w.bytes("input", i.as_bytes());
        }
        if !self.device.is_empty() {
            w.bytes("device", self.device.as_bytes());
        }
        write_attrs(w, &self.attr);
    }
}

impl TextFormat for NameAttrList {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "name" => self.name = string(name, value)?,
            "attr" => attr_entry(&mut self.attr, name, value)?,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes("name", self.name.as_bytes());
        write_attrs(w, &self.attr);
    }
}

impl TextFormat for AttrValue {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        use attr_value::Value;
        self.value = Some(match name {
            "list" => Value::List(message(name, value)?),
            "s" => Value::S(bytes(name, value)?),
            "i" => Value::I(number(name, value)?),
            "f" => Value::F(float(name, value)? as f32),
            "b" => Value::B(boolean(name, value)?),
            "type" => Value::Type(data_type(name, value)?),
            "shape" => Value::Shape(message(name, value)?),
            "tensor" => Value::Tensor(message(name, value)?),
            "placeholder" => Value::Placeholder(string(name, value)?),
            "func" => Value::Func(message(name, value)?),
            _ => return Err(unknown(name)),
        });
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        use attr_value::Value;
        match &self.value {
            None => {}
            Some(Value::List(l)) => w.message("list", |w| l.write_fields(w)),
            Some(Value::S(s)) => w.bytes("s", s),
            Some(Value::I(i)) => w.scalar("i", i),
            Some(Value::F(f)) => w.float("f", f64::from(*f)),
            Some(Value::B(b)) => w.scalar("b", b),
            Some(Value::Type(t)) => w.scalar("type", data_type_name(*t)),
            Some(Value::Shape(s)) => w.message("shape", |w| s.write_fields(w)),
            Some(Value::Tensor(t)) => w.message("tensor", |w| t.write_fields(w)),
            Some(Value::Placeholder(p)) => w.bytes("placeholder", p.as_bytes()),
            Some(Value::Func(f)) => w.message("func", |w| f.write_fields(w)),
        }
    }
}

impl TextFormat for attr_value::ListValue {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "s" => self.s.push(bytes(name, value)?),
            "i" => self.i.push(number(name, value)?),
            "f" => self.f.push(float(name, value)? as f32),
            "b" => self.b.push(boolean(name, value)?),
            "type" => self.r#type.push(data_type(name, value)?),
            "shape" => self.shape.push(message(name, value)?),
            "tensor" => self.tensor.push(message(name, value)?),
            "func" => self.func.push(message(name, value)?),
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        self.s.iter().for_each(|v| w.bytes("s", v));
        self.i.iter().for_each(|v| w.scalar("i", v));
        self.f.iter().for_each(|v| w.float("f", f64::from(*v)));
        self.b.iter().for_each(|v| w.scalar("b", v));
        self.r#type
            .iter()
            .for_each(|v| w.scalar("type", data_type_name(*v)));
        self.shape
            .iter()
            .for_each(|v| w.message("shape", |w| v.write_fields(w)));
        self.tensor
            .iter()
            .for_each(|v| w.message("tensor", |w| v.write_fields(w)));
        self.func
            .iter()
            .for_each(|v| w.message("func", |w| v.write_fields(w)));
    }
}

impl TextFormat for TensorShapeProto {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "dim" => self.dim.push(message(name, value)?),
            "unknown_rank" => self.unknown_rank = boolean(name, value)?,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        for d in &self.dim {
            w.message("dim", |w| d.write_fields(w));
        }
        if self.unknown_rank {
            w.scalar("unknown_rank", true);
        }
    }
}

impl TextFormat for tensor_shape_proto::Dim {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "size" => self.size = number(name, value)?,
            "name" => self.name = string(name, value)?,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        if self.size != 0 {
            w.scalar("size", self.size);
        }
        if !self.name.is_empty() {
            w.bytes("name", self.name.as_bytes());
        }
    }
}

impl TextFormat for TensorProto {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "dtype" => self.dtype = data_type(name, value)?,
            "tensor_shape" => self.tensor_shape = Some(message(name, value)?),
            "version_number" => self.version_number = number(name, value)?,
            "tensor_content" => self.tensor_content = bytes(name, value)?,
            "float_val" => self.float_val.push(float(name, value)? as f32),
            "double_val" => self.double_val.push(float(name, value)?),
            "int_val" => self.int_val.push(number(name, value)?),
            "string_val" => self.string_val.push(bytes(name, value)?),
            "scomplex_val" => self.scomplex_val.push(float(name, value)? as f32),
            "int64_val" => self.int64_val.push(number(name, value)?),
            "bool_val" => self.bool_val.push(boolean(name, value)?),
            "dcomplex_val" => self.dcomplex_val.push(float(name, value)?),
            "half_val" => self.half_val.push(number(name, value)?),
            "uint32_val" => self.uint32_val.push(number(name, value)?),
            "uint64_val" => self.uint64_val.push(number(name, value)?),
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.scalar("dtype", data_type_name(self.dtype));
        if let Some(s) = &self.tensor_shape {
            w.message("tensor_shape", |w| s.write_fields(w));
        }
        if self.version_number != 0 {
            w.scalar("version_number", self.version_number);
        }
        if !self.tensor_content.is_empty() {
            w.bytes("tensor_content", &self.tensor_content);
        }
        self.float_val
            .iter()
            .for_each(|v| w.float("float_val", f64::from(*v)));
        self.double_val
            .iter()
            .for_each(|v| w.float("double_val", *v));
        self.int_val.iter().for_each(|v| w.scalar("int_val", v));
        self.string_val
            .iter()
            .for_each(|v| w.bytes("string_val", v));
        self.scomplex_val
            .iter()
            .for_each(|v| w.float("scomplex_val", f64::from(*v)));
        self.int64_val.iter().for_each(|v| w.scalar("int64_val", v));
        self.bool_val.iter().for_each(|v| w.scalar("bool_val", v));
        self.dcomplex_val
            .iter()
            .for_each(|v| w.float("dcomplex_val", *v));
        self.half_val.iter().for_each(|v| w.scalar("half_val", v));
        self.uint32_val
            .iter()
            .for_each(|v| w.scalar("uint32_val", v));
        self.uint64_val
            .iter()
            .for_each(|v| w.scalar("uint64_val", v));
    }
}

impl TextFormat for CheckpointState {
    fn merge_field(&mut self, name: &str, value: TextValue) -> Result<(), TextError> {
        match name {
            "model_checkpoint_path" => self.model_checkpoint_path = string(name, value)?,
            "all_model_checkpoint_paths" => {
                self.all_model_checkpoint_paths.push(string(name, value)?)
            }
            "all_model_checkpoint_timestamps" => self
                .all_model_checkpoint_timestamps
                .push(float(name, value)?),
            "last_preserved_timestamp" => self.last_preserved_timestamp = float(name, value)?,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn write_fields(&self, w: &mut TextWriter) {
        w.bytes(
            "model_checkpoint_path",
            self.model_checkpoint_path.as_bytes(),
        );
        for p in &self.all_model_checkpoint_paths {
            w.bytes("all_model_checkpoint_paths", p.as_bytes());
        }
        for t in &self.all_model_checkpoint_timestamps {
            w.float("all_model_checkpoint_timestamps", *t);
        }
        if self.last_preserved_timestamp != 0.0 {
            w.float("last_preserved_timestamp", self.last_preserved_timestamp);
        }
    }
}
