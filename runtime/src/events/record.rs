//! TensorFlow's record framing (`TFRecord`): each record is its length (u64, little-endian),
//! the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data.

use rustflow_proto::masked_crc32c as masked_crc;

/// `data` framed as one record.
pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// What [`next`] found at an offset.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next<'a> {
    /// A whole record: its data, and the offset after it.
    Record(&'a [u8], usize),
    /// The end of the file.
    End,
    /// A record cut short: the file ends inside it (a writer that was stopped mid-record).
    Truncated,
    /// A checksum that does not match.
    Corrupt(&'static str),
}

/// The record of `buf` that starts at `at`.
pub(crate) fn next(buf: &[u8], at: usize) -> Next<'_> {
    let rest = &buf[at.min(buf.len())..];
    if rest.is_empty() {
        return Next::End;
    }
    let Some((len, rest)) = rest.split_first_chunk::<8>() else {
        return Next::Truncated;
    };
    let Some((len_crc, rest)) = rest.split_first_chunk::<4>() else {
        return Next::Truncated;
    };
    if masked_crc(len) != u32::from_le_bytes(*len_crc) {
        return Next::Corrupt("the length's checksum does not match");
    }
    let n = u64::from_le_bytes(*len);
    let Some(n) = usize::try_from(n).ok().filter(|&n| n <= rest.len()) else {
        return Next::Truncated;
    };
    let (data, rest) = rest.split_at(n);
    let Some((data_crc, _)) = rest.split_first_chunk::<4>() else {
        return Next::Truncated;
    };
    if masked_crc(data) != u32::from_le_bytes(*data_crc) {
        return Next::Corrupt("the data's checksum does not match");
    }
    Next::Record(data, at + 16 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_and_damage_is_found() {
        let mut file = frame(b"first");
        file.extend(frame(b""));
        file.extend(frame(b"third record"));
        let mut at = 0;
        let mut got = vec![];
        while let Next::Record(d, end) = next(&file, at) {
            got.push(d.to_vec());
            at = end;
        }
        assert_eq!(got, [&b"first"[..], b"", b"third record"]);
        assert_eq!(next(&file, at), Next::End);
        // Every cut inside the last record is a truncation, not an error.
        let third = file.len() - frame(b"third record").len();
        for cut in third + 1..file.len() {
            assert_eq!(next(&file[..cut], third), Next::Truncated, "cut at {cut}");
        }
        // Every flipped byte of a record is found.
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x20;
            let mut at = 0;
            let found = loop {
                match next(&bad, at) {
                    Next::Record(_, end) => at = end,
                    Next::End => break false,
                    Next::Truncated | Next::Corrupt(_) => break true,
                }
            };
            assert!(found, "flipped byte {i} went unnoticed");
        }
    }
}
