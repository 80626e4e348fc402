//! The text parsers configfs-tsm's stores use, with Linux's answers:
//! `kstrtouint(buf, 0, ..)` (optional `+`, `0x` hex / `0` octal / decimal,
//! one optional trailing newline; `EINVAL` for anything else, `ERANGE`
//! beyond 32 bits) and `guid_parse` (36-character `8-4-4-4-12` hex form,
//! the first three fields little-endian; `EINVAL` otherwise).

use services::error::Result;
use services::return_errno_with_message;

/// `kstrtouint(text, 0, &value)`.
pub fn kstrtouint(text: &[u8]) -> Result<u32> {
    let mut s = text;
    if let [b'+', rest @ ..] = s {
        s = rest;
    }
    let radix = match s {
        [b'0', b'x' | b'X', next, ..] if next.is_ascii_hexdigit() => {
            s = &s[2..];
            16
        }
        [b'0', ..] => 8,
        _ => 10,
    };
    let digits = s.iter().take_while(|&&b| char::from(b).is_digit(radix)).count();
    if digits == 0 {
        return_errno_with_message!(EINVAL, "not a number");
    }
    let rest = &s[digits..];
    if !(rest.is_empty() || rest == b"\n") {
        return_errno_with_message!(EINVAL, "trailing characters after the number");
    }
    let mut value: u64 = 0;
    for &b in &s[..digits] {
        let digit = u64::from(char::from(b).to_digit(radix).unwrap_or(0));
        value = match value.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(digit)) {
            Some(v) if v <= u64::from(u32::MAX) => v,
            _ => return_errno_with_message!(ERANGE, "number beyond 32 bits"),
        };
    }
    Ok(value as u32)
}

/// `guid_parse`: the 16 bytes of a GUID in its text form.
pub fn guid_parse(text: &[u8]) -> Result<[u8; 16]> {
    // Byte order of the text's hex pairs in the GUID (Linux `guid_index`).
    const GUID_INDEX: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    if text.len() < 36 {
        return_errno_with_message!(EINVAL, "GUID too short");
    }
    let text = &text[..36];
    for (at, &b) in text.iter().enumerate() {
        let ok = if DASHES.contains(&at) { b == b'-' } else { b.is_ascii_hexdigit() };
        if !ok {
            return_errno_with_message!(EINVAL, "not a GUID");
        }
    }
    let hex: alloc::vec::Vec<u8> = text.iter().copied().filter(|&b| b != b'-').collect();
    let mut guid = [0u8; 16];
    for (pair, &index) in GUID_INDEX.iter().enumerate() {
        let nibble = |b: u8| char::from(b).to_digit(16).unwrap_or(0) as u8;
        guid[index] = (nibble(hex[2 * pair]) << 4) | nibble(hex[2 * pair + 1]);
    }
    Ok(guid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use services::error::Errno;

    #[test]
    fn kstrtouint_like_linux() {
        assert_eq!(kstrtouint(b"3").unwrap(), 3);
        assert_eq!(kstrtouint(b"3\n").unwrap(), 3);
        assert_eq!(kstrtouint(b"+2").unwrap(), 2);
        assert_eq!(kstrtouint(b"0x10").unwrap(), 16);
        assert_eq!(kstrtouint(b"010").unwrap(), 8);
        assert_eq!(kstrtouint(b"0").unwrap(), 0);
        assert_eq!(kstrtouint(b"4294967295").unwrap(), u32::MAX);
        for bad in [&b""[..], b"\n", b"x", b"3\n\n", b" 3", b"-1", b"08", b"3 "] {
            assert_eq!(kstrtouint(bad).unwrap_err().errno(), Errno::EINVAL, "{bad:?}");
        }
        assert_eq!(kstrtouint(b"4294967296").unwrap_err().errno(), Errno::ERANGE);
    }

    #[test]
    fn guid_byte_order() {
        let guid = guid_parse(b"00112233-4455-6677-8899-aabbccddeeff\n").unwrap();
        assert_eq!(guid, [0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        assert!(guid_parse(b"00112233-4455-6677-8899-aabbccddeef").is_err());
        assert!(guid_parse(b"00112233x4455-6677-8899-aabbccddeeff").is_err());
    }
}
