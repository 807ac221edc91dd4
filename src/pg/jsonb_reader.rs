//! Reads a `jsonb` value in its binary form, through serde, without printing
//! it as text first. For a 100,000-block course, `jsonb_out` and a text
//! parser after it cost about half a second and a second copy of the
//! document; walking the binary form with Postgres's own iterator costs
//! neither. Strings are borrowed from the value, not copied.

use pgrx::callconv::{Arg, ArgAbi};
use pgrx::nullable::Nullable;
use pgrx::pg_sys::{self, jbvType, JsonbIteratorToken as Token};
use pgrx::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::ffi::CStr;
use std::fmt;
use std::marker::PhantomData;

/// Deeper nesting than this is refused rather than risking the backend's
/// stack (serde_json draws the same line).
const MAX_DEPTH: usize = 128;

/// A `jsonb` value, detoasted into the current memory context, which lives
/// at least as long as the function call or SPI connection reading it.
pub struct JsonbValue {
    /// The datum as it came, possibly still toasted.
    stored: pg_sys::Datum,
    jsonb: *mut pg_sys::Jsonb,
    detoasted_copy: bool,
}

impl JsonbValue {
    /// Frees the detoasted copy, if there is one, and gives back the datum as
    /// it came: stored again as it is, a value that is already compressed
    /// (or out of line) is copied without being inflated.
    pub fn into_stored(self) -> pg_sys::Datum {
        if self.detoasted_copy {
            // SAFETY: the copy was palloc'd by pg_detoast_datum and nothing borrows it now.
            unsafe { pg_sys::pfree(self.jsonb.cast()) };
        }
        self.stored
    }

    pub fn reader(&self) -> JsonbReader<'_> {
        // SAFETY: `jsonb` is a detoasted jsonb varlena that outlives the reader.
        let iterator = unsafe { pg_sys::JsonbIteratorInit(&mut (*self.jsonb).root) };
        JsonbReader { iterator, peeked: None, depth: 0, value: PhantomData }
    }
}

impl FromDatum for JsonbValue {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: the caller promises a jsonb datum; detoasting gives a plain varlena.
        let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
        let jsonb = unsafe { pg_sys::pg_detoast_datum(stored) };
        Some(JsonbValue { stored: datum, jsonb: jsonb.cast(), detoasted_copy: jsonb != stored })
    }
}

/// Only so SPI can hand a stored jsonb over as a `JsonbValue`.
impl IntoDatum for JsonbValue {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.stored)
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbValue {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

impl_sql_translatable!(JsonbValue, arg_only = "jsonb");

#[derive(Debug)]
pub struct ReadError(String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

impl de::Error for ReadError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        ReadError(message.to_string())
    }
}

/// A serde source over Postgres's jsonb iterator: one token at a time,
/// with one token of lookahead for arrays.
pub struct JsonbReader<'de> {
    iterator: *mut pg_sys::JsonbIterator,
    peeked: Option<(Token::Type, pg_sys::JsonbValue)>,
    depth: usize,
    value: PhantomData<&'de JsonbValue>,
}

impl<'de> JsonbReader<'de> {
    fn next(&mut self) -> (Token::Type, pg_sys::JsonbValue) {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        // SAFETY: a zeroed JsonbValue is a valid jbvNull; the iterator fills it in.
        let mut value: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
        let token = unsafe { pg_sys::JsonbIteratorNext(&mut self.iterator, &mut value, false) };
        (token, value)
    }

    fn peek(&mut self) -> Token::Type {
        let next = self.next();
        let token = next.0;
        self.peeked = Some(next);
        token
    }

    /// Reads on to the end of the container just entered, for a visitor
    /// that stopped early.
    fn skip_to_end(&mut self) {
        let mut open = 1;
        while open > 0 {
            match self.next().0 {
                Token::WJB_BEGIN_ARRAY | Token::WJB_BEGIN_OBJECT => open += 1,
                Token::WJB_END_ARRAY | Token::WJB_END_OBJECT => open -= 1,
                Token::WJB_DONE => return,
                _ => {}
            }
        }
    }

    fn enter(&mut self) -> Result<(), ReadError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!("jsonb nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    /// `size` is the container's count of pairs or elements, which lets a
    /// visitor size what it builds (100,000 blocks) exactly, once.
    fn container<V: Visitor<'de>>(&mut self, is_object: bool, size: usize, visitor: V) -> Result<V::Value, ReadError> {
        self.enter()?;
        let mut entries = Entries { reader: self, ended: false, size };
        let result = if is_object { visitor.visit_map(&mut entries) } else { visitor.visit_seq(&mut entries) };
        if !entries.ended {
            entries.reader.skip_to_end();
        }
        self.depth -= 1;
        result
    }
}

/// A string of the value, borrowed for as long as the value lives.
unsafe fn string<'de>(value: &pg_sys::JsonbValue) -> Result<&'de str, ReadError> {
    let string = unsafe { value.val.string };
    let bytes = unsafe { std::slice::from_raw_parts(string.val as *const u8, string.len as usize) };
    std::str::from_utf8(bytes).map_err(|_| de::Error::custom("a jsonb string is not UTF-8"))
}

fn numeric<'de, V: Visitor<'de>>(value: &pg_sys::JsonbValue, visitor: V) -> Result<V::Value, ReadError> {
    // SAFETY: the caller checked the value is a numeric.
    let numeric = unsafe { value.val.numeric };
    let text = unsafe {
        pgrx::direct_function_call::<&CStr>(pg_sys::numeric_out, &[Some(pg_sys::Datum::from(numeric))])
    }
    .and_then(|text| text.to_str().ok())
    .ok_or_else(|| <ReadError as de::Error>::custom("a jsonb number could not be read"))?;
    if let Ok(n) = text.parse::<i64>() {
        visitor.visit_i64(n)
    } else if let Ok(n) = text.parse::<u64>() {
        visitor.visit_u64(n)
    } else {
        visitor.visit_f64(text.parse::<f64>().map_err(de::Error::custom)?)
    }
}

fn scalar<'de, V: Visitor<'de>>(value: &pg_sys::JsonbValue, visitor: V) -> Result<V::Value, ReadError> {
    match value.type_ {
        jbvType::jbvNull => visitor.visit_unit(),
        jbvType::jbvString => visitor.visit_borrowed_str(unsafe { string(value)? }),
        jbvType::jbvBool => visitor.visit_bool(unsafe { value.val.boolean }),
        jbvType::jbvNumeric => numeric(value, visitor),
        other => Err(de::Error::custom(format!("unexpected jsonb value of type {other}"))),
    }
}

impl<'de> Deserializer<'de> for &mut JsonbReader<'de> {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        let (token, value) = self.next();
        match token {
            Token::WJB_BEGIN_OBJECT => self.container(true, unsafe { value.val.object.nPairs } as usize, visitor),
            // A bare scalar is stored as a one-element "raw scalar" array.
            Token::WJB_BEGIN_ARRAY if unsafe { value.val.array.rawScalar } => {
                let (_, element) = self.next();
                let result = scalar(&element, visitor);
                self.next();
                result
            }
            Token::WJB_BEGIN_ARRAY => self.container(false, unsafe { value.val.array.nElems } as usize, visitor),
            Token::WJB_VALUE | Token::WJB_ELEM => scalar(&value, visitor),
            other => Err(de::Error::custom(format!("unexpected jsonb token {other}"))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The entries of the object or elements of the array being read.
struct Entries<'r, 'de> {
    reader: &'r mut JsonbReader<'de>,
    ended: bool,
    size: usize,
}

impl<'de> MapAccess<'de> for &mut Entries<'_, 'de> {
    type Error = ReadError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ReadError> {
        if self.ended {
            return Ok(None);
        }
        match self.reader.next() {
            (Token::WJB_END_OBJECT, _) => {
                self.ended = true;
                Ok(None)
            }
            (Token::WJB_KEY, key) => {
                let key = unsafe { string(&key)? };
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some)
            }
            (other, _) => Err(de::Error::custom(format!("unexpected jsonb token {other} in an object"))),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, ReadError> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.size)
    }
}

impl<'de> SeqAccess<'de> for &mut Entries<'_, 'de> {
    type Error = ReadError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, ReadError> {
        if self.ended {
            return Ok(None);
        }
        if self.reader.peek() == Token::WJB_END_ARRAY {
            self.reader.next();
            self.ended = true;
            return Ok(None);
        }
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.size)
    }
}
