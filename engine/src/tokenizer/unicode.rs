//! Code point classes the pre-tokenizers need (`\p{L}`, `\p{M}`, `\p{N}`, `\s`) and GPT-2's
//! byte-level alphabet (each byte shown as a printable character).

use std::sync::OnceLock;

pub const LETTER: u8 = 1;
pub const MARK: u8 = 2;
pub const NUMBER: u8 = 4;
pub const WHITESPACE: u8 = 8;

const N_CODEPOINTS: usize = 0x11_0000;

/// One byte of class bits per code point, built once per process.
///
/// Letters and marks come from the `regex` crate's Unicode tables (the same general categories
/// llama.cpp generates its table from); numbers (`N*`) and White_Space from `std`.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut flags = vec![0u8; N_CODEPOINTS];
        let all: String = (0..N_CODEPOINTS as u32)
            .filter_map(char::from_u32)
            .collect();
        for (class, bit) in [(r"\p{L}+", LETTER), (r"\p{M}+", MARK)] {
            // A fixed, valid pattern: failing to compile it would be a bug in this file.
            let re = regex::Regex::new(class).expect("static Unicode class pattern");
            for m in re.find_iter(&all) {
                for c in m.as_str().chars() {
                    flags[c as usize] |= bit;
                }
            }
        }
        for c in (0..N_CODEPOINTS as u32).filter_map(char::from_u32) {
            if c.is_numeric() {
                flags[c as usize] |= NUMBER;
            }
            if c.is_whitespace() {
                flags[c as usize] |= WHITESPACE;
            }
        }
        flags
    })
}

/// Class bits of `c`.
#[inline]
pub fn flags(c: char) -> u8 {
    table()[c as usize]
}

/// Forces the table to be built now (so a first `encode` is not slowed by it).
pub fn warm_up() {
    let _ = table();
}

/// GPT-2's byte → character map: printable Latin-1 bytes map to themselves, the other 68 bytes
/// to U+0100.. in byte order.
pub fn byte_to_char(b: u8) -> char {
    static MAP: OnceLock<[char; 256]> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = ['\0'; 256];
        let mut next = 256u32;
        for (byte, slot) in map.iter_mut().enumerate() {
            let printable = matches!(byte, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
            let code = if printable {
                byte as u32
            } else {
                next += 1;
                next - 1
            };
            *slot = char::from_u32(code).unwrap_or('\u{FFFD}');
        }
        map
    })[b as usize]
}

/// The inverse of [`byte_to_char`]; `None` for characters outside GPT-2's alphabet.
pub fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    match code {
        0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => Some(code as u8),
        0x100..=0x143 => {
            // The 68 remapped bytes, in increasing byte order.
            let k = (code - 0x100) as usize;
            (0u8..=255)
                .filter(|b| !matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF))
                .nth(k)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_round_trips_all_bytes() {
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b), "byte {b}");
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(char_to_byte('x'), Some(b'x'));
        assert_eq!(char_to_byte('€'), None);
    }

    #[test]
    fn classes_match_unicode_categories() {
        assert_eq!(flags('a'), LETTER);
        assert_eq!(flags('é'), LETTER);
        assert_eq!(flags('我'), LETTER);
        assert_eq!(flags('\u{0301}'), MARK);
        assert_eq!(flags('7'), NUMBER);
        assert_eq!(flags('½'), NUMBER);
        assert_eq!(flags(' '), WHITESPACE);
        assert_eq!(flags('\u{3000}'), WHITESPACE);
        assert_eq!(flags('!'), 0);
        assert_eq!(flags('🚀'), 0);
    }
}
