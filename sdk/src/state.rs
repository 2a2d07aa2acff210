//! A tiny binary encoding for snapshots: little-endian numbers, length-prefixed text.
//!
//! Hand-rolled rather than serde so a bot stays a few tens of KB.

/// Appends values to a snapshot buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty buffer that starts with a format `version` byte.
    pub fn new(version: u8) -> Self {
        Writer { buf: vec![version] }
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends a u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends an i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends an f64 (bit-exact, NaN included).
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a bool as one byte.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }

    /// Appends length-prefixed UTF-8 text.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v.as_bytes());
        self
    }

    /// The encoded bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.buf)
    }
}

/// Reads values back in the order they were written; every error says what was wrong.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `buf`, checking its leading version byte is `version`.
    pub fn new(buf: &'a [u8], version: u8) -> Result<Self, String> {
        match buf.split_first() {
            Some((&v, rest)) if v == version => Ok(Reader { buf: rest }),
            Some((&v, _)) => Err(format!("snapshot version {v}, expected {version}")),
            None => Err("empty snapshot".into()),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let (head, rest) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or("snapshot truncated")?;
        self.buf = rest;
        Ok(*head)
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }

    /// Reads a u64.
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    /// Reads an i64.
    pub fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    /// Reads an f64.
    pub fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_le_bytes(self.take()?))
    }

    /// Reads a bool.
    pub fn bool(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("snapshot: bad bool byte {b}")),
        }
    }

    /// Reads length-prefixed UTF-8 text.
    pub fn str(&mut self) -> Result<String, String> {
        let len = self.u64()?;
        if len > self.buf.len() as u64 {
            return Err("snapshot truncated".into());
        }
        let (text, rest) = self.buf.split_at(len as usize);
        self.buf = rest;
        String::from_utf8(text.to_vec()).map_err(|_| "snapshot: text is not UTF-8".into())
    }

    /// Fails if bytes are left over (a snapshot from a different layout).
    pub fn finish(self) -> Result<(), String> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(format!("snapshot has {n} unexpected trailing bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = Writer::new(3)
            .u8(7)
            .u64(u64::MAX)
            .i64(-5)
            .f64(1.5)
            .bool(true)
            .str("héllo")
            .finish();
        let mut r = Reader::new(&bytes, 3).unwrap();
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u64(), Ok(u64::MAX));
        assert_eq!(r.i64(), Ok(-5));
        assert_eq!(r.f64(), Ok(1.5));
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.str().as_deref(), Ok("héllo"));
        r.finish().unwrap();
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Reader::new(&[], 1).is_err());
        assert!(Reader::new(&[2], 1).unwrap_err().contains("version 2"));
        let mut r = Reader::new(&[1, 1, 2], 1).unwrap();
        assert!(r.u64().unwrap_err().contains("truncated"));
        let bytes = Writer::new(1).u64(1 << 40).finish();
        assert!(Reader::new(&bytes, 1).unwrap().str().is_err());
        let bytes = Writer::new(1).u8(0).finish();
        assert!(Reader::new(&bytes, 1).unwrap().finish().is_err());
    }
}
