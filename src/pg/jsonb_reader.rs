//! Reads a `jsonb` value in its binary form, through serde, without printing
//! it as text first. For a 100,000-block course, `jsonb_out` and a text
//! parser after it cost about half a second and a second copy of the
//! document; walking the binary form with Postgres's own iterator costs
//! neither. Strings are borrowed from the value, not copied.
//!
//! Bounded by what is stored: numbers are read from their stored digits
//! (`domain::number`), never printed (`numeric_out` prints `1e131071`, a few
//! stored bytes, as 131,072 digits); a value a visitor ignores is passed
//! over without being looked into; a container's count of entries is handed
//! to visitors as a size hint, which they must check before reserving
//! anything for it (it is the true count, but a 29 MB value can hold 8
//! million pairs).

use coursenav_domain::number::{self, Number};
use pgrx::callconv::{Arg, ArgAbi};
use pgrx::nullable::Nullable;
use pgrx::pg_sys::{self, jbvType, JsonbIteratorToken as Token};
use pgrx::prelude::*;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Deeper nesting than this is refused rather than risking the backend's
/// stack (serde_json draws the same line). Values passed over unread are
/// skipped without recursion, at any depth.
const MAX_DEPTH: usize = 128;

/// A `jsonb` value, detoasted into the current memory context. It must not
/// outlive that context (the function call or the SPI connection it was
/// read in): readers borrow from it, and dropping it frees the detoasted
/// copy, if one was made.
pub(super) struct JsonbValue {
    /// The datum as it came, possibly still toasted: stored again as it
    /// is, a value that is already compressed (or out of line) is copied
    /// without being inflated.
    stored: pg_sys::Datum,
    /// The detoasted value the readers walk.
    jsonb: NonNull<pg_sys::Jsonb>,
    /// Whether `jsonb` is a copy pg_detoast_datum palloc'd (freed on drop)
    /// rather than the stored datum itself.
    detoasted_copy: bool,
}

impl JsonbValue {
    /// Frees the detoasted copy now, if there is one, and gives back the
    /// datum as it came, for storing: the copy (as large as the document)
    /// is not held while the row is written.
    pub(super) fn into_stored(self) -> pg_sys::Datum {
        self.stored
        // `self` drops here, freeing the copy.
    }

    pub(super) fn reader(&self) -> JsonbReader<'_> {
        // SAFETY: `jsonb` points to a detoasted jsonb varlena (from_polymorphic_datum), which
        // lives as long as `self` (its memory context outlives it, and only Drop frees a copy);
        // the iterator only reads from it, and the reader's lifetime is tied to `&self`, so no
        // string borrowed from it outlives the value.
        let iterator = unsafe { pg_sys::JsonbIteratorInit(&mut (*self.jsonb.as_ptr()).root) };
        JsonbReader { iterator, peeked: None, depth: 0, failed: false, value: PhantomData }
    }
}

impl Drop for JsonbValue {
    fn drop(&mut self) {
        if self.detoasted_copy {
            // SAFETY: the copy was palloc'd by pg_detoast_datum in a memory context that is
            // still alive (the value does not outlive it); no reader borrows it any longer
            // (readers borrow `self`), and it is freed once, here. The stored datum is not
            // the copy and is left alone.
            unsafe { pg_sys::pfree(self.jsonb.as_ptr().cast()) };
        }
    }
}

impl FromDatum for JsonbValue {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
        // SAFETY: the caller promises a non-null jsonb datum (pgrx checks the argument's or
        // column's type is jsonb); pg_detoast_datum returns it unchanged when it is a plain
        // varlena, or else a palloc'd, inflated copy in the current memory context.
        let detoasted = unsafe { pg_sys::pg_detoast_datum(stored) };
        let jsonb = NonNull::new(detoasted.cast::<pg_sys::Jsonb>())?;
        Some(JsonbValue { stored: datum, jsonb, detoasted_copy: detoasted != stored })
    }
}

/// Only so SPI can hand a stored jsonb over as a `JsonbValue`.
impl IntoDatum for JsonbValue {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.into_stored())
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbValue {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: pgrx calls this for an argument declared jsonb (impl_sql_translatable below).
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        // SAFETY: as above.
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

/// What one iterator token carries, read from the `JsonbValue` union only
/// as its `type_` says (see `item`).
#[derive(Clone, Copy)]
enum Item<'de> {
    /// End and done tokens carry nothing.
    Nothing,
    Null,
    Bool(bool),
    /// The numeric's bytes after its varlena header.
    Numeric(&'de [u8]),
    /// A string's bytes (a key or a value).
    Text(&'de [u8]),
    Array {
        elements: usize,
        raw_scalar: bool,
    },
    Object {
        pairs: usize,
    },
    /// A nested container passed over (the iterator was told to skip it).
    Binary,
    Unknown(jbvType::Type),
}

/// The one place the union is read.
///
/// # Safety
/// `value` must have been filled in by `JsonbIteratorNext` returning
/// `token`, for an iterator over a jsonb that stays alive and unchanged for
/// `'de`: strings and numerics point into it.
unsafe fn item<'de>(token: Token::Type, value: &pg_sys::JsonbValue) -> Item<'de> {
    // jsonb_util.c fills `value` in for every token but these three.
    if matches!(token, Token::WJB_DONE | Token::WJB_END_ARRAY | Token::WJB_END_OBJECT) {
        return Item::Nothing;
    }
    // SAFETY (every union read below): JsonbIteratorNext sets `type_` and then exactly the
    // union member that type names (jsonb.h, JsonbValue); each arm reads only that member.
    match value.type_ {
        jbvType::jbvNull => Item::Null,
        jbvType::jbvBool => Item::Bool(unsafe { value.val.boolean }),
        jbvType::jbvString => {
            let string = unsafe { value.val.string };
            // SAFETY: `val` points at `len` bytes inside the jsonb, alive for 'de (contract).
            Item::Text(unsafe { std::slice::from_raw_parts(string.val as *const u8, string.len as usize) })
        }
        jbvType::jbvNumeric => {
            let numeric = unsafe { value.val.numeric }.cast::<pg_sys::varlena>();
            // SAFETY: a numeric inside a jsonb is a complete, in-line varlena (jsonb stores it
            // as such, 4-byte aligned); the _any helpers read its header whichever form it has,
            // and the bytes after it live as long as the jsonb.
            Item::Numeric(unsafe {
                std::slice::from_raw_parts(
                    pgrx::varlena::vardata_any(numeric) as *const u8,
                    pgrx::varlena::varsize_any_exhdr(numeric),
                )
            })
        }
        jbvType::jbvArray => {
            let array = unsafe { value.val.array };
            Item::Array { elements: array.nElems.max(0) as usize, raw_scalar: array.rawScalar }
        }
        jbvType::jbvObject => Item::Object { pairs: unsafe { value.val.object.nPairs }.max(0) as usize },
        jbvType::jbvBinary => Item::Binary,
        other => Item::Unknown(other),
    }
}

/// A serde source over Postgres's jsonb iterator: one token at a time,
/// with one token of lookahead for arrays. After an error it reads nothing
/// more: a document already refused is not read to its end.
pub struct JsonbReader<'de> {
    iterator: *mut pg_sys::JsonbIterator,
    peeked: Option<(Token::Type, Item<'de>)>,
    depth: usize,
    failed: bool,
    value: PhantomData<&'de JsonbValue>,
}

impl<'de> JsonbReader<'de> {
    fn fetch(&mut self, skip_nested: bool) -> (Token::Type, Item<'de>) {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        // SAFETY: a zeroed JsonbValue is a valid jbvNull (type 0, no pointers).
        let mut value: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
        // SAFETY: `iterator` came from JsonbIteratorInit over a jsonb alive for 'de; the
        // iterator frees itself and sets the pointer to NULL when done, and returns WJB_DONE
        // for a NULL iterator, so calling past the end is harmless.
        let token = unsafe { pg_sys::JsonbIteratorNext(&mut self.iterator, &mut value, skip_nested) };
        // SAFETY: `value` was just filled in for `token` by that iterator.
        (token, unsafe { item(token, &value) })
    }

    fn next(&mut self) -> (Token::Type, Item<'de>) {
        self.fetch(false)
    }

    fn peek(&mut self) -> Token::Type {
        let next = self.next();
        let token = next.0;
        self.peeked = Some(next);
        token
    }

    /// Reads on to the end of the container just entered, without
    /// recursion (nested containers are skipped whole by the iterator).
    fn skip_to_end(&mut self) {
        let mut open = 1;
        while open > 0 {
            match self.fetch(true).0 {
                Token::WJB_BEGIN_ARRAY | Token::WJB_BEGIN_OBJECT => open += 1,
                Token::WJB_END_ARRAY | Token::WJB_END_OBJECT => open -= 1,
                Token::WJB_DONE => return,
                _ => {}
            }
        }
    }

    fn fail<T>(&mut self, error: ReadError) -> Result<T, ReadError> {
        self.failed = true;
        Err(error)
    }

    fn check(&self) -> Result<(), ReadError> {
        match self.failed {
            true => Err(de::Error::custom("the jsonb reader stopped at an earlier error")),
            false => Ok(()),
        }
    }

    /// `size` is the container's count of pairs or elements (see the module
    /// comment: a visitor checks it before reserving for it).
    fn container<V: Visitor<'de>>(&mut self, is_object: bool, size: usize, visitor: V) -> Result<V::Value, ReadError> {
        if self.depth >= MAX_DEPTH {
            return self.fail(de::Error::custom(format!("jsonb nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        let mut entries = Entries { reader: self, ended: false, size };
        let result = if is_object { visitor.visit_map(&mut entries) } else { visitor.visit_seq(&mut entries) };
        let ended = entries.ended;
        match result {
            Ok(value) => {
                if !ended {
                    self.skip_to_end();
                }
                self.depth -= 1;
                Ok(value)
            }
            Err(error) => self.fail(error),
        }
    }
}

fn text(bytes: &[u8]) -> Result<&str, ReadError> {
    std::str::from_utf8(bytes).map_err(|_| de::Error::custom("a jsonb string is not UTF-8"))
}

fn scalar<'de, V: Visitor<'de>>(item: Item<'de>, visitor: V) -> Result<V::Value, ReadError> {
    match item {
        Item::Null => visitor.visit_unit(),
        Item::Bool(b) => visitor.visit_bool(b),
        Item::Text(bytes) => visitor.visit_borrowed_str(text(bytes)?),
        Item::Numeric(bytes) => match number::from_numeric(bytes).map_err(de::Error::custom)? {
            Number::I64(n) => visitor.visit_i64(n),
            Number::U64(n) => visitor.visit_u64(n),
            Number::F64(n) => visitor.visit_f64(n),
        },
        Item::Unknown(other) => Err(de::Error::custom(format!("unexpected jsonb value of type {other}"))),
        Item::Nothing | Item::Array { .. } | Item::Object { .. } | Item::Binary => {
            Err(de::Error::custom("unexpected jsonb container where a scalar was expected"))
        }
    }
}

impl<'de> Deserializer<'de> for &mut JsonbReader<'de> {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        self.check()?;
        let result = match self.next() {
            (Token::WJB_BEGIN_OBJECT, Item::Object { pairs }) => self.container(true, pairs, visitor),
            // A bare scalar is stored as a one-element "raw scalar" array.
            (Token::WJB_BEGIN_ARRAY, Item::Array { raw_scalar: true, .. }) => {
                let (_, element) = self.next();
                let result = scalar(element, visitor);
                self.next();
                result
            }
            (Token::WJB_BEGIN_ARRAY, Item::Array { elements, .. }) => self.container(false, elements, visitor),
            (Token::WJB_VALUE | Token::WJB_ELEM, item) => scalar(item, visitor),
            (other, _) => Err(de::Error::custom(format!("unexpected jsonb token {other}"))),
        };
        result.or_else(|error| self.fail(error))
    }

    /// Passes the next value over unread: a container the iterator has not
    /// entered yet is skipped whole, and a number is never decoded.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        self.check()?;
        let token = match self.peeked.take() {
            Some((token, _)) => token,
            None => self.fetch(true).0,
        };
        if matches!(token, Token::WJB_BEGIN_ARRAY | Token::WJB_BEGIN_OBJECT) {
            self.skip_to_end();
        }
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier
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
            (Token::WJB_KEY, Item::Text(bytes)) => {
                let key = text(bytes)?;
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
