//! Percent-decoding: S3 event keys and IAM policy documents arrive URL-encoded.

/// Decodes `%XX` escapes and `+` (a space); None if an escape or the
/// result is not valid.
pub fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_plus_are_decoded_and_bad_ones_refused() {
        assert_eq!(
            decode("exports/my+db/a%3Db/x%2By.json").as_deref(),
            Some("exports/my db/a=b/x+y.json")
        );
        assert_eq!(decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(decode("bad%2"), None);
        assert_eq!(decode("bad%zz"), None);
        assert_eq!(decode("%FF"), None);
    }
}
