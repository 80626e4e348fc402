//! SNP guest messages (firmware ABI 56860, "SNP_GUEST_REQUEST"): a 0x60-byte
//! header and a payload, AES-256-GCM-encrypted with a VMPCK, the IV being
//! the message sequence number and the additional data header bytes
//! 0x30..0x60. Both ends use this codec: the guest ([`super::guest_request`])
//! and the emulated PSP.
//!
//! Owns: sealing and opening one message page. Pure logic: host-tested.
//! Must never: open a message whose header fields are out of range, or
//! return plaintext whose tag did not verify.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use super::abi::msg::*;

/// The header fields that vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub seqno: u64,
    pub msg_type: u8,
    pub msg_version: u8,
    pub msg_sz: u16,
    pub vmpck: u8,
}

/// Why a message does not open (or seal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Payload larger than a page's room.
    TooLong,
    /// algo, hdr_version, hdr_sz or msg_sz out of range.
    BadHeader,
    /// The authentication tag does not match (tampered, wrong key, wrong
    /// sequence number).
    BadTag,
}

fn nonce(seqno: u64) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&seqno.to_le_bytes());
    iv
}

/// Seal `payload` under `key` into `page` (all of it rewritten).
pub fn seal(key: &[u8; 32], header: &Header, payload: &[u8], page: &mut [u8; PAGE_SIZE]) -> Result<(), MessageError> {
    if payload.len() > MAX_PAYLOAD || payload.len() != usize::from(header.msg_sz) {
        return Err(MessageError::TooLong);
    }
    page.fill(0);
    page[SEQNO..SEQNO + 8].copy_from_slice(&header.seqno.to_le_bytes());
    page[ALGO] = ALGO_AES_256_GCM;
    page[HDR_VERSION] = HDR_VERSION_1;
    page[HDR_SZ..HDR_SZ + 2].copy_from_slice(&(HEADER_SIZE as u16).to_le_bytes());
    page[MSG_TYPE] = header.msg_type;
    page[MSG_VERSION] = header.msg_version;
    page[MSG_SZ..MSG_SZ + 2].copy_from_slice(&header.msg_sz.to_le_bytes());
    page[MSG_VMPCK] = header.vmpck;
    let (head, body) = page.split_at_mut(HEADER_SIZE);
    let buffer = &mut body[..payload.len()];
    buffer.copy_from_slice(payload);
    let cipher = Aes256Gcm::new(key.into());
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(&nonce(header.seqno)), &head[AAD_START..HEADER_SIZE], buffer)
        .map_err(|_| MessageError::TooLong)?;
    head[..AUTHTAG_LEN].copy_from_slice(&tag);
    Ok(())
}

/// Parse a header (no decryption).
pub fn header(page: &[u8; PAGE_SIZE]) -> Result<Header, MessageError> {
    let hdr_sz = u16::from_le_bytes([page[HDR_SZ], page[HDR_SZ + 1]]);
    let msg_sz = u16::from_le_bytes([page[MSG_SZ], page[MSG_SZ + 1]]);
    if page[ALGO] != ALGO_AES_256_GCM
        || page[HDR_VERSION] != HDR_VERSION_1
        || usize::from(hdr_sz) != HEADER_SIZE
        || usize::from(msg_sz) > MAX_PAYLOAD
    {
        return Err(MessageError::BadHeader);
    }
    let mut seqno = [0u8; 8];
    seqno.copy_from_slice(&page[SEQNO..SEQNO + 8]);
    Ok(Header {
        seqno: u64::from_le_bytes(seqno),
        msg_type: page[MSG_TYPE],
        msg_version: page[MSG_VERSION],
        msg_sz,
        vmpck: page[MSG_VMPCK],
    })
}

/// Open `page` (a private copy) under `key`: the header and the payload
/// decrypted in place (`page[0x60..0x60 + msg_sz]`).
pub fn open(key: &[u8; 32], page: &mut [u8; PAGE_SIZE]) -> Result<Header, MessageError> {
    let header = header(page)?;
    let (head, body) = page.split_at_mut(HEADER_SIZE);
    let buffer = &mut body[..usize::from(header.msg_sz)];
    let tag = Tag::clone_from_slice(&head[..AUTHTAG_LEN]);
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt_in_place_detached(Nonce::from_slice(&nonce(header.seqno)), &head[AAD_START..HEADER_SIZE], buffer, &tag)
        .map_err(|_| MessageError::BadTag)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn seal_then_open_and_tampering_fails() {
        let key = [7u8; 32];
        let header = Header { seqno: 5, msg_type: TYPE_REPORT_REQ, msg_version: 1, msg_sz: 96, vmpck: 0 };
        let payload = [0xabu8; 96];
        let mut page = Box::new([0u8; PAGE_SIZE]);
        seal(&key, &header, &payload, &mut page).unwrap();
        assert_eq!(page[HDR_SZ], 0x60);
        assert_ne!(&page[HEADER_SIZE..HEADER_SIZE + 96], &payload[..], "encrypted");
        let mut copy = page.clone();
        assert_eq!(open(&key, &mut copy), Ok(header));
        assert_eq!(&copy[HEADER_SIZE..HEADER_SIZE + 96], &payload[..]);
        // The sequence number is authenticated (it is the IV).
        let mut replay = page.clone();
        replay[SEQNO] = 7;
        assert_eq!(open(&key, &mut replay), Err(MessageError::BadTag));
        // So is the message type (additional data).
        let mut retyped = page.clone();
        retyped[MSG_TYPE] = TYPE_KEY_REQ;
        assert_eq!(open(&key, &mut retyped), Err(MessageError::BadTag));
        let mut wrong_key = page.clone();
        assert_eq!(open(&[8u8; 32], &mut wrong_key), Err(MessageError::BadTag));
        let mut bad = page.clone();
        bad[MSG_SZ..MSG_SZ + 2].copy_from_slice(&4001u16.to_le_bytes());
        assert_eq!(open(&key, &mut bad), Err(MessageError::BadHeader));
    }
}
