//! One JSONL input record, read for the two fields a run needs: the text and the id.
//!
//! A news record carries a title, a date, a URL and more beside its text; parsing it into a
//! `serde_json::Value` copies every one of them (the text too) into fresh allocations. Here the
//! other fields are only checked as JSON and skipped, the id is kept as a `Value` (any JSON is
//! a valid id) and the text is borrowed from the line unless it holds escapes. The result is the
//! one a `Value` gives: the last of duplicate keys wins, and a line that is not a JSON object,
//! has trailing characters, nests deeper than serde_json's recursion limit or holds a number out
//! of range anywhere is refused with the same error (skipped values are parsed as a `Value` is,
//! into nothing, rather than with serde's `IgnoredAny`, which checks less). Lines of the plain
//! shape nearly every dump has (a flat object of strings and integers) are read without serde,
//! their strings scanned with `memchr`: the same result, 4% fewer instructions for `alam tag`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The text field of a record.
#[derive(Debug, PartialEq)]
pub(crate) enum Text<'a> {
    /// No such field.
    Missing,
    /// A field that is not a string.
    NotString,
    /// The string: borrowed from the line, or unescaped into an owned copy.
    Str(Cow<'a, str>),
}

/// What a line holds.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed<'a> {
    /// A JSON object, with its id field (if any) and its text field.
    Object { id: Option<Value>, text: Text<'a> },
    /// Valid JSON that is not an object.
    NotObject,
}

/// Parses `line` (one JSON value, nothing after it but white space) for the fields `text_field`
/// and `id_field`.
pub(crate) fn parse<'a>(
    line: &'a str,
    text_field: &str,
    id_field: &str,
) -> Result<Parsed<'a>, serde_json::Error> {
    if let Some(parsed) = parse_plain(line, text_field, id_field) {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_str(line);
    let parsed = RecordSeed { text_field, id_field }.deserialize(&mut de)?;
    de.end()?;
    Ok(parsed)
}

/// [`parse`] for the shape of nearly every news record, without serde: one object whose keys
/// hold no escape and whose values are strings with the short escapes (`\n`, `\"`...),
/// integers from 0 to `u64::MAX`, `true`, `false` or `null`, with no byte below 0x20 in the line
/// and only spaces between tokens. Strings are scanned with `memchr` rather than eight bytes at a
/// time. `None` for any other line, which serde parses (and refuses with its message): the
/// result is always the one serde gives (a test compares them).
fn parse_plain<'a>(line: &'a str, text_field: &str, id_field: &str) -> Option<Parsed<'a>> {
    let bytes = line.as_bytes();
    if text_field == id_field || bytes.iter().fold(false, |any, &b| any | (b < 0x20)) {
        return None;
    }
    let skip_spaces = |at: usize| at + bytes[at..].iter().take_while(|&&b| b == b' ').count();
    let (mut id, mut text) = (None, Text::Missing);
    let mut at = skip_spaces(0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_spaces(at + 1);
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            // A key without escapes.
            if bytes.get(at) != Some(&b'"') {
                return None;
            }
            let close = at + 1 + memchr::memchr2(b'"', b'\\', &bytes[at + 1..])?;
            if bytes[close] != b'"' {
                return None;
            }
            let key = &line[at + 1..close];
            at = skip_spaces(close + 1);
            if bytes.get(at) != Some(&b':') {
                return None;
            }
            at = skip_spaces(at + 1);
            let (value, end) = plain_value(line, at)?;
            if key == text_field {
                text = match value {
                    PlainValue::Str(s) => Text::Str(s),
                    _ => Text::NotString,
                };
            } else if key == id_field {
                id = Some(match value {
                    PlainValue::Str(s) => Value::String(s.into_owned()),
                    PlainValue::Number(n) => Value::from(n),
                    PlainValue::Bool(b) => Value::Bool(b),
                    PlainValue::Null => Value::Null,
                });
            }
            at = skip_spaces(end);
            match bytes.get(at) {
                Some(b',') => at = skip_spaces(at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_spaces(at) == bytes.len()).then_some(Parsed::Object { id, text })
}

/// A value [`parse_plain`] reads.
enum PlainValue<'a> {
    Str(Cow<'a, str>),
    Number(u64),
    Bool(bool),
    Null,
}

/// The value at `at` and where it ends, if [`parse_plain`] reads its kind.
fn plain_value(line: &str, at: usize) -> Option<(PlainValue<'_>, usize)> {
    let bytes = line.as_bytes();
    match *bytes.get(at)? {
        b'"' => {
            let mut from = at + 1;
            let mut owned: Option<String> = None;
            loop {
                let stop = from + memchr::memchr2(b'"', b'\\', &bytes[from..])?;
                if bytes[stop] == b'"' {
                    let value = match owned {
                        Some(mut s) => {
                            s.push_str(&line[from..stop]);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(&line[from..stop]),
                    };
                    return Some((PlainValue::Str(value), stop + 1));
                }
                let unescaped = match *bytes.get(stop + 1)? {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return None,
                };
                let s = owned.get_or_insert_with(|| String::with_capacity(bytes.len() - at));
                s.push_str(&line[from..stop]);
                s.push(unescaped);
                from = stop + 2;
            }
        }
        b'0'..=b'9' => {
            let digits = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            let end = at + digits;
            // Not a leading zero, a fraction or an exponent: those go to serde.
            if (digits > 1 && bytes[at] == b'0')
                || matches!(bytes.get(end), Some(b'.' | b'e' | b'E'))
            {
                return None;
            }
            Some((PlainValue::Number(line[at..end].parse().ok()?), end))
        }
        _ => [
            ("true", PlainValue::Bool(true)),
            ("false", PlainValue::Bool(false)),
            ("null", PlainValue::Null),
        ]
        .into_iter()
        .find(|(word, _)| line[at..].starts_with(word))
        .map(|(word, value)| (value, at + word.len())),
    }
}

struct RecordSeed<'f> {
    text_field: &'f str,
    id_field: &'f str,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Parsed<'de>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Parsed<'de>, D::Error> {
        de.deserialize_any(self)
    }
}

/// Any value but an object is `NotObject`: the visitor answers every other kind of value
/// (consuming arrays to their end) so that the caller tells "not an object" from bad JSON.
macro_rules! not_object {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(Parsed::NotObject)
        })*
    };
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Parsed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let (mut id, mut text) = (None, Text::Missing);
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if key.0 == self.text_field && key.0 == self.id_field {
                // One field for both (`--id-field text`): the id is the whole value.
                let value = map.next_value::<Value>()?;
                text = match &value {
                    Value::String(s) => Text::Str(Cow::Owned(s.clone())),
                    _ => Text::NotString,
                };
                id = Some(value);
            } else if key.0 == self.text_field {
                text = map.next_value::<TextValue<'de>>()?.0;
            } else if key.0 == self.id_field {
                id = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(Parsed::Object { id, text })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed<'de>, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Parsed::NotObject)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Parsed<'de>, E> {
        Ok(Parsed::NotObject)
    }

    not_object!(visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str));
}

/// Any JSON value, parsed and dropped: through `deserialize_any`, so with the same checks as a
/// `Value` (recursion limit, number range, string escapes) and no allocation.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Skip, D::Error> {
        struct V;
        macro_rules! scalar {
            ($($method:ident($ty:ty)),* $(,)?) => {
                $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<Skip, E> {
                    Ok(Skip)
                })*
            };
        }
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
            scalar!(
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_str(&str)
            );
        }
        de.deserialize_any(V)
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Str<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Str<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        de.deserialize_str(V)
    }
}

/// The text field's value: a string, or any other value skipped as `NotString`.
struct TextValue<'de>(Text<'de>);

impl<'de> serde::Deserialize<'de> for TextValue<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<TextValue<'de>, D::Error> {
        struct V;
        macro_rules! not_string {
            ($($method:ident($ty:ty)),* $(,)?) => {
                $(fn $method<E: serde::de::Error>(self, _: $ty) -> Result<TextValue<'de>, E> {
                    Ok(TextValue(Text::NotString))
                })*
            };
        }
        impl<'de> Visitor<'de> for V {
            type Value = TextValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<TextValue<'de>, E> {
                Ok(TextValue(Text::Str(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<TextValue<'de>, E> {
                Ok(TextValue(Text::Str(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<TextValue<'de>, E> {
                Ok(TextValue(Text::Str(Cow::Owned(s))))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<TextValue<'de>, E> {
                Ok(TextValue(Text::NotString))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextValue<'de>, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(TextValue(Text::NotString))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextValue<'de>, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(TextValue(Text::NotString))
            }
            not_string!(visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        }
        de.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the `Value` path made of a line: (not an object, id, text) or the error message.
    fn by_value(line: &str) -> Result<Option<(Option<Value>, Text<'static>)>, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let Value::Object(map) = value else { return Ok(None) };
        let text = match map.get("text") {
            Some(Value::String(s)) => Text::Str(Cow::Owned(s.clone())),
            Some(_) => Text::NotString,
            None => Text::Missing,
        };
        Ok(Some((map.get("id").cloned(), text)))
    }

    fn by_fields(line: &str) -> Result<Option<(Option<Value>, Text<'static>)>, String> {
        match parse(line, "text", "id").map_err(|e| e.to_string())? {
            Parsed::NotObject => Ok(None),
            Parsed::Object { id, text } => {
                let text = match text {
                    Text::Str(s) => Text::Str(Cow::Owned(s.into_owned())),
                    Text::NotString => Text::NotString,
                    Text::Missing => Text::Missing,
                };
                Ok(Some((id, text)))
            }
        }
    }

    #[test]
    fn fields_as_a_value_reads_them() {
        let lines = [
            r#"{"id": 7, "title": "x", "text": "باماكو"}"#,
            r#"{"text": "a\nb", "id": {"k": [1, 2]}}"#,
            r#"{"text": 5}"#,
            r#"{"text": null, "text": "last wins"}"#,
            r#"{"id": 1, "id": "two"}"#,
            r#"[1, 2]"#,
            r#""text""#,
            r#"null"#,
            r#"{"text": "x"} trailing"#,
            r#"{"text": "x""#,
            r#"{"a": tru, "text": "x"}"#,
            r#"{"text": "\ud800"}"#,
            "{\"text\": \"control \u{1} char\"}",
            r#"  {"text": "spaces around"}  "#,
        ];
        for line in lines {
            assert_eq!(by_fields(line), by_value(line), "{line}");
        }
        // One field as both the id and the text.
        let one = parse(r#"{"t": "باماكو", "x": 1}"#, "t", "t").unwrap();
        let id = Some(Value::from("باماكو"));
        assert_eq!(one, Parsed::Object { id, text: Text::Str(Cow::Borrowed("باماكو")) });
        // Borrowed when there is nothing to unescape.
        let Ok(Parsed::Object { text: Text::Str(Cow::Borrowed(s)), .. }) =
            parse(r#"{"text": "وصل"}"#, "text", "id")
        else {
            panic!("a text without escapes is borrowed")
        };
        assert_eq!(s, "وصل");
    }

    /// A JSON value of any shape, with keys that collide with the fields.
    fn json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            (-1000i64..1000).prop_map(|n| n.to_string()),
            (-1e6f64..1e6).prop_map(|x| format!("{x:e}")),
            "[a-z\\\\\"é ب\n\u{1}]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\u0628\n\ud83d\ude00""#.to_string()),
            Just("1e400".to_string()),
            (120usize..140).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
            (120usize..140).prop_map(|d| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop_oneof![Just("text"), Just("id"), Just("title"), Just("t\\u0065xt")];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key, inner), 0..5).prop_map(|kv| {
                    let fields: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                    format!("{{{}}}", fields.join(", "))
                }),
            ]
        })
    }

    #[test]
    fn plain_records_are_read_without_serde() {
        let lines = [
            r#"{"id":7,"text":"سطر\nآخر \"مقتبس\" \\ \/ \t"}"#,
            r#" { "text" : "باماكو" , "id" : "a\"b" , "title" : null , "ok" : true } "#,
            r#"{"id":18446744073709551615,"text":"x","n":0,"f":false}"#,
            r#"{}"#,
        ];
        for line in lines {
            assert!(parse_plain(line, "text", "id").is_some(), "{line}");
            assert_eq!(by_fields(line), by_value(line), "{line}");
        }
        // Everything else goes to serde: its values, its errors.
        let lines = [
            r#"{"id":-7,"text":"x"}"#,
            r#"{"id":07,"text":"x"}"#,
            r#"{"id":1.5,"text":"x"}"#,
            r#"{"id":1e3,"text":"x"}"#,
            r#"{"id":18446744073709551616,"text":"x"}"#,
            r#"{"id":[1],"text":"x"}"#,
            r#"{"t\u0065xt":"x"}"#,
            r#"{"text":"\u0628"}"#,
            r#"{"text":"\x"}"#,
            r#"{"text":"x",}"#,
            r#"{"text":"x"} x"#,
            r#"{"text":"x" "id":1}"#,
            r#"{"text":tru}"#,
            r#"{"text":truex}"#,
            r#"{"text":"x"#,
            "{\"text\":\"a\tb\"}",
            "{\"text\":\"x\"}\r",
        ];
        for line in lines {
            assert!(parse_plain(line, "text", "id").is_none(), "{line}");
            assert_eq!(by_fields(line), by_value(line), "{line}");
        }
    }

    /// A flat record of the shape [`parse_plain`] reads, with now and then a value or a
    /// separator it does not.
    fn flat_record() -> impl Strategy<Value = String> {
        let chars = "[a-z\\\\\"/é ب\n\t\u{8}\u{c}\r]{0,8}";
        let string = chars.prop_map(|s| serde_json::to_string(&s).unwrap());
        let value = prop_oneof![
            4 => string,
            2 => any::<u64>().prop_map(|n| n.to_string()),
            1 => Just("0".to_string()),
            1 => Just("true".to_string()),
            1 => Just("false".to_string()),
            1 => Just("null".to_string()),
            2 => prop::sample::select(vec![
                "01", "-1", "1.5", "2e3", "18446744073709551616", "tru", "nul", "[]", "{}",
                r#""\u0628""#, r#""\q""#,
            ])
            .prop_map(str::to_string),
        ];
        let key = prop::sample::select(vec!["text", "id", "title", "", "te\"xt"]);
        let space = prop::sample::select(vec!["", "", " ", " ", "  ", "\t"]);
        proptest::collection::vec((key, value, space.clone()), 0..5).prop_flat_map(move |fields| {
            space.clone().prop_map(move |sp| {
                let parts: Vec<String> =
                    fields.iter().map(|(k, v, s)| format!("{sp}\"{k}\"{s}:{sp}{v}{s}")).collect();
                format!("{sp}{{{}}}{sp}", parts.join(","))
            })
        })
    }

    proptest! {
        // Cheap cases, and the odd values and separators are each in few of them.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Flat records, the fast path's lines: the same fields or the same error as a `Value`,
        /// also cut anywhere.
        #[test]
        fn flat_records_as_a_value_reads_them(line in flat_record(), cut in 0usize..80) {
            prop_assert_eq!(by_fields(&line), by_value(&line), "{}", line);
            let mut cut_at = cut.min(line.len());
            while !line.is_char_boundary(cut_at) {
                cut_at -= 1;
            }
            let cut = &line[..cut_at];
            prop_assert_eq!(by_fields(cut), by_value(cut), "{}", cut);
        }
    }

    proptest! {
        /// The fields read here are the fields a `serde_json::Value` holds, and a line refused
        /// here is refused there with the same message; also after cutting the line anywhere.
        #[test]
        fn same_as_parsing_a_value(line in json(), cut in 0usize..200, junk in "[ x,}\\]]{0,2}") {
            prop_assert_eq!(by_fields(&line), by_value(&line), "{}", line);
            let mut cut_at = cut.min(line.len());
            while !line.is_char_boundary(cut_at) {
                cut_at -= 1;
            }
            let broken = format!("{}{junk}", &line[..cut_at]);
            prop_assert_eq!(by_fields(&broken), by_value(&broken), "{}", broken);
        }
    }
}
