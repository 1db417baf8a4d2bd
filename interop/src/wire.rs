//! Where a protocol buffer's bytes go wrong: the first fault of the wire format (a bad tag,
//! an unterminated varint, a length past the end) or the first nested message that does not
//! decode, as a byte offset, for errors that name the file and the offset.

use rustflow_proto::{GraphDef, Message, NodeDef, VersionDef};

/// A varint at `at`: its value and the offset after it.
fn varint(b: &[u8], at: usize) -> Result<(u64, usize), String> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(at + i).ok_or("a varint runs past the end")?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, at + i + 1));
        }
    }
    Err("a varint longer than 10 bytes".into())
}

/// Checks a length-delimited field `number`'s payload: the relative offset and cause of its
/// first fault, if the field is a message this reader checks.
pub type Check = fn(u32, &[u8]) -> Option<(usize, String)>;

/// The first fault in `b`, a message whose length-delimited fields `check` looks into.
pub fn first_fault(b: &[u8], check: Check) -> Option<(usize, String)> {
    let mut at = 0;
    while at < b.len() {
        let start = at;
        let fault = |msg: &str| Some((start, msg.to_string()));
        let (key, next) = match varint(b, at) {
            Ok(k) => k,
            Err(e) => return fault(&e),
        };
        let (number, wire) = ((key >> 3) as u32, key & 7);
        if number == 0 {
            return fault("field number 0");
        }
        at = match wire {
            0 => match varint(b, next) {
                Ok((_, n)) => n,
                Err(e) => return Some((next, format!("field {number}: {e}"))),
            },
            1 => next + 8,
            5 => next + 4,
            2 => {
                let (len, payload) = match varint(b, next) {
                    Ok(l) => l,
                    Err(e) => return Some((next, format!("field {number}'s length: {e}"))),
                };
                let end = payload.saturating_add(len as usize);
                if end > b.len() {
                    return Some((
                        next,
                        format!(
                            "field {number}'s length {len} runs past the end ({} bytes)",
                            b.len()
                        ),
                    ));
                }
                if let Some((off, msg)) = check(number, &b[payload..end]) {
                    return Some((payload + off, format!("field {number}: {msg}")));
                }
                end
            }
            w => {
                return fault(&format!(
                    "field {number} has wire type {w}, which protobuf does not have"
                ))
            }
        };
        if at > b.len() {
            return fault(&format!(
                "field {number} runs past the end ({} bytes)",
                b.len()
            ));
        }
    }
    None
}

/// The first fault of a message of type `M`: its own wire format, else its decode error.
fn message<M: Message + Default>(b: &[u8], check: Check) -> Option<(usize, String)> {
    first_fault(b, check).or_else(|| M::decode(b).err().map(|e| (0, e.to_string())))
}

/// The first fault of a `GraphDef`'s bytes (nodes, versions).
pub fn graph_def(b: &[u8]) -> Option<(usize, String)> {
    message::<GraphDef>(b, |number, p| match number {
        1 => message::<NodeDef>(p, |_, _| None).map(|(o, m)| (o, format!("a node: {m}"))),
        4 => message::<VersionDef>(p, |_, _| None),
        _ => None,
    })
}

/// The first fault of a `MetaGraphDef`'s bytes (its graph in particular).
pub fn meta_graph_def(b: &[u8]) -> Option<(usize, String)> {
    message::<rustflow_proto::MetaGraphDef>(b, |number, p| match number {
        2 => graph_def(p).map(|(o, m)| (o, format!("graph_def: {m}"))),
        _ => None,
    })
}
