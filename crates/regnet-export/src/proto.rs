//! The protocol-buffer wire format, as much of it as an ONNX model needs:
//! varints, length-delimited fields (strings, bytes, nested messages) and
//! packed repeated integers.

/// A message being encoded: fields are appended in the order written.
#[derive(Debug, Default, Clone)]
pub struct Message(pub Vec<u8>);

impl Message {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire_type));
    }

    /// An integer field (int32, int64 or enum; negative values take ten bytes).
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, 0);
        varint(&mut self.0, v as u64);
        self
    }

    /// A 32-bit float field.
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A bytes field.
    pub fn bytes(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, 2);
        varint(&mut self.0, v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// A string field.
    pub fn string(self, field: u32, v: &str) -> Self {
        self.bytes(field, v.as_bytes())
    }

    /// A nested message field.
    pub fn message(self, field: u32, m: &Message) -> Self {
        self.bytes(field, &m.0)
    }

    /// A repeated integer field, unpacked (one key per value), as ONNX's
    /// proto2 definitions expect.
    pub fn ints(self, field: u32, vs: &[i64]) -> Self {
        vs.iter().fold(self, |m, &v| m.int(field, v))
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_by_hand() {
        // The protobuf documentation's examples: field 1 = 150 is 08 96 01;
        // field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        assert_eq!(Message::new().int(1, 150).0, [0x08, 0x96, 0x01]);
        assert_eq!(
            Message::new().string(2, "testing").0,
            [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        // -1 as int64 is ten bytes; a float is key then 4 little-endian bytes.
        assert_eq!(Message::new().int(1, -1).0.len(), 11);
        assert_eq!(Message::new().float(2, 1.0).0, [0x15, 0, 0, 0x80, 0x3f]);
    }
}
