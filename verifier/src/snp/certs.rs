//! The certificate table of SNP_GET_EXT_REPORT / configfs-tsm `auxblob`
//! (GHCB spec 56421, "SNP Extended Guest Request"): entries of
//! { GUID [16], offset u32, length u32 } ended by an all-zero entry;
//! offsets are from the start of the table; certificates are DER.

use crate::bytes::{ParseError, Reader};

/// GUIDs as their canonical text, in the byte order AMD's tools write them.
pub const GUID_ARK: &str = "c0b406a4-a803-4952-9743-3fb6014cd0ae";
pub const GUID_ASK: &str = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
pub const GUID_VCEK: &str = "63da758d-e664-4564-adc5-f4b93be8accd";
pub const GUID_VLEK: &str = "a8074bc2-a25a-483e-aae6-39c045a0b8a1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    Ark,
    Ask,
    Vcek,
    Vlek,
    Other,
}

/// The 16 bytes of a GUID in the order its text reads (how the sev crate
/// and go-sev-guest lay them out in the table).
pub fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    if let Some(bytes) = crate::bytes::unhex(&hex) {
        if bytes.len() == 16 {
            out.copy_from_slice(&bytes);
        }
    }
    out
}

/// The same GUID in EFI (mixed-endian) byte order.
fn guid_bytes_efi(text: &str) -> [u8; 16] {
    let mut b = guid_bytes(text);
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

fn kind_of(guid: &[u8; 16]) -> CertKind {
    for (text, kind) in [(GUID_ARK, CertKind::Ark), (GUID_ASK, CertKind::Ask), (GUID_VCEK, CertKind::Vcek), (GUID_VLEK, CertKind::Vlek)] {
        if *guid == guid_bytes(text) || *guid == guid_bytes_efi(text) {
            return kind;
        }
    }
    CertKind::Other
}

#[derive(Clone, Debug)]
pub struct CertEntry<'a> {
    pub kind: CertKind,
    pub guid: [u8; 16],
    pub data: &'a [u8],
}

/// Most entries a table may have (a real one has three or four).
const MAX_ENTRIES: usize = 64;

pub fn parse_table(table: &[u8]) -> Result<Vec<CertEntry<'_>>, ParseError> {
    let mut r = Reader::new(table);
    let mut out = Vec::new();
    loop {
        let guid: [u8; 16] = r.array("cert_table.guid")?;
        let offset = r.u32("cert_table.offset")? as usize;
        let length = r.u32("cert_table.length")? as usize;
        if guid == [0; 16] {
            if offset != 0 || length != 0 {
                return Err(ParseError::new("cert_table.terminator", "the terminating entry is not all zero"));
            }
            return Ok(out);
        }
        if out.len() == MAX_ENTRIES {
            return Err(ParseError::new("cert_table", "too many entries"));
        }
        let data = offset
            .checked_add(length)
            .and_then(|end| table.get(offset..end))
            .ok_or_else(|| ParseError::new("cert_table.entry", format!("{offset:#x}+{length:#x} is outside the table")))?;
        out.push(CertEntry { kind: kind_of(&guid), guid, data });
    }
}

/// Build a table (for tests and the emulator's reference): entries in
/// order, data after the terminator.
pub fn build_table(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let header = (entries.len() + 1) * 24;
    let mut out = vec![0u8; header];
    for (i, (guid, data)) in entries.iter().enumerate() {
        let at = i * 24;
        let offset = out.len() as u32;
        out[at..at + 16].copy_from_slice(&guid_bytes(guid));
        out[at + 16..at + 20].copy_from_slice(&offset.to_le_bytes());
        out[at + 20..at + 24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trip() {
        let t = build_table(&[(GUID_VCEK, b"vcek"), (GUID_ASK, b"ask!")]);
        let e = parse_table(&t).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].kind, e[0].data), (CertKind::Vcek, &b"vcek"[..]));
        assert_eq!((e[1].kind, e[1].data), (CertKind::Ask, &b"ask!"[..]));
        assert_eq!(guid_bytes(GUID_ARK)[..4], [0xc0, 0xb4, 0x06, 0xa4]);
    }

    #[test]
    fn bad_tables_are_errors() {
        assert!(parse_table(&[]).is_err());
        let mut t = build_table(&[(GUID_VCEK, b"vcek")]);
        t[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_table(&t).is_err());
        // No terminator.
        let t = build_table(&[(GUID_VCEK, b"")]);
        assert!(parse_table(&t[..24]).is_err());
    }
}
