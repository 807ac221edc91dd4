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
use std::ptr::NonNull;
use tokens::Tokens;

/// Deeper nesting than this is refused rather than risking the backend's
/// stack (serde_json draws the same line). Values passed over unread are
/// skipped without recursion, at any depth.
const MAX_DEPTH: usize = 128;

/// A `jsonb` value, detoasted into the current memory context.
///
/// It borrows Postgres memory it does not own, so it must not outlive it:
/// the datum as it came lives in the function call's arguments, or in the
/// tuple table of the SPI connection it was read from, and the detoasted
/// copy, if one was made, in the memory context current when it was read.
/// Nothing in the type enforces this (pgrx's `FromDatum` lets a caller pick
/// any lifetime); every use keeps it inside the call or connection that
/// read it. Within that, readers borrow it (`reader(&self)`), so nothing
/// read from it outlives it, and dropping it frees the detoasted copy.
pub(super) struct JsonbValue {
    /// The datum as it came, possibly still toasted: stored again as it
    /// is, a value that is already compressed (or out of line) is copied
    /// without being inflated. Never freed here: Postgres owns it.
    stored: pg_sys::Datum,
    /// The detoasted value the readers walk.
    jsonb: NonNull<pg_sys::Jsonb>,
    /// Whether `jsonb` is a copy pg_detoast_datum palloc'd (this value owns
    /// it and frees it on drop) rather than the stored datum itself.
    detoasted_copy: bool,
}

impl JsonbValue {
    /// Gives back the datum as it came, for storing, and frees the
    /// detoasted copy, if there is one, before returning: the copy (as large
    /// as the document, inflated) is not held while the row is written.
    /// The stored datum is not freed; it lives as long as its call or SPI
    /// connection, which is what the insert needs.
    pub(super) fn into_stored(self) -> pg_sys::Datum {
        let stored = self.stored;
        // Runs Drop now: frees the detoasted copy (see `Drop`), leaves `stored` alone.
        drop(self);
        stored
    }

    /// A reader over this value, borrowing it: neither the reader nor any
    /// string it hands out can outlive the value (and so its detoasted copy).
    pub(super) fn reader(&self) -> JsonbReader<'_> {
        JsonbReader { tokens: Tokens::new(self), peeked: None, depth: 0, failed: false }
    }
}

/// Frees what this value owns, the detoasted copy pg_detoast_datum made of a
/// toasted (compressed or out of line) datum, as soon as the value is
/// dropped: after a rebuild's chunk is read back (build_navigation, one
/// chunk at a time), before a chunk is stored (`into_stored`), or at the end
/// of the call. A datum that was already plain was not copied and is not
/// freed: Postgres owns it, as it owns the stored datum either way.
impl Drop for JsonbValue {
    fn drop(&mut self) {
        if self.detoasted_copy {
            // SAFETY: the copy was palloc'd by pg_detoast_datum in a memory context
            // that is still alive (the value does not outlive it); readers borrow
            // `self`, so none is left to read it, and it is freed once, here, as
            // Drop runs once. It is not the stored datum, which is left alone.
            unsafe { pg_sys::pfree(self.jsonb.as_ptr().cast()) };
        }
    }
}

impl FromDatum for JsonbValue {
    /// # Safety
    /// As for every `FromDatum`: `datum` and `is_null` come from Postgres, and
    /// a non-null `datum` is a jsonb (pgrx checks the argument's or column's
    /// type before calling this). The value must then be used within the
    /// call or SPI connection the datum belongs to (see `JsonbValue`).
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _: pg_sys::Oid) -> Option<Self> {
        if is_null {
            return None;
        }
        let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
        // SAFETY: by this function's contract `stored` is a non-null jsonb varlena,
        // possibly toasted. pg_detoast_datum returns it unchanged when it is plain,
        // or else a palloc'd, inflated copy in the current memory context, which this
        // value then owns (`detoasted_copy`).
        let detoasted = unsafe { pg_sys::pg_detoast_datum(stored) };
        let jsonb = NonNull::new(detoasted.cast::<pg_sys::Jsonb>())?;
        Some(JsonbValue { stored: datum, jsonb, detoasted_copy: detoasted != stored })
    }
}

/// Only so SPI can hand a stored jsonb over as a `JsonbValue` (SPI's `get`
/// asks for both directions).
impl IntoDatum for JsonbValue {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.into_stored())
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

// SAFETY: an argument is unboxed only through `FromDatum` above, whose contract
// pgrx meets for an argument it declares jsonb (`impl_sql_translatable!` below
// makes JsonbValue a jsonb argument, and only an argument): the datum is the
// call's own, alive for the whole call, and a NULL is never dereferenced (None).
// It is not a virtual argument, and the value it makes owns only its detoasted
// copy, freed on drop.
unsafe impl<'fcx> ArgAbi<'fcx> for JsonbValue {
    /// # Safety
    /// As `ArgAbi::unbox_arg_unchecked`: `arg` is a jsonb argument of the call
    /// being made. A NULL panics (an error, not undefined behaviour).
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: `arg` is a jsonb argument (this function's contract), so its datum
        // is what `FromDatum for JsonbValue` expects.
        unsafe { arg.unbox_arg_using_from_datum() }.unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    /// # Safety
    /// As `ArgAbi::unbox_nullable_arg`: `arg` is a jsonb argument of the call
    /// being made, possibly NULL.
    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        // SAFETY: as in `unbox_arg_unchecked`; a NULL becomes `Nullable::Null`.
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
/// as its `type_` says (see `Filled::item`). Strings and numerics borrow
/// the jsonb the reader walks, for `'de`.
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

/// Postgres's jsonb iterator, and the one place the `JsonbValue` union it
/// fills in is read. Its fields are private to this module, so the
/// invariants its safe functions rest on hold by construction: a `Tokens`
/// is made only from a `&'de JsonbValue`, and a `Filled` only from what
/// that iterator just returned.
mod tokens {
    use super::{Item, JsonbValue};
    use pgrx::pg_sys::{self, jbvType, JsonbIteratorToken as Token};
    use std::marker::PhantomData;

    /// The iterator over a jsonb borrowed for `'de`.
    pub(super) struct Tokens<'de> {
        /// Palloc'd by JsonbIteratorInit in the current memory context, one
        /// level per container entered. JsonbIteratorNext pfrees each level
        /// as it leaves it and sets this to NULL after the outermost one; a
        /// read stopped earlier (a refused document) leaves the open levels
        /// to their memory context.
        iterator: *mut pg_sys::JsonbIterator,
        jsonb: PhantomData<&'de JsonbValue>,
    }

    impl<'de> Tokens<'de> {
        pub(super) fn new(value: &'de JsonbValue) -> Self {
            // SAFETY: `value.jsonb` points to a detoasted jsonb varlena
            // (from_polymorphic_datum) that lives at least as long as `value`: its
            // memory outlives the value (see JsonbValue), and only Drop frees a copy,
            // which cannot run while it is borrowed for 'de. The pointer to its root
            // container is taken without making a reference (several readers may
            // walk one value); JsonbIteratorInit and the iterator only read through it.
            let iterator = unsafe { pg_sys::JsonbIteratorInit(std::ptr::addr_of_mut!((*value.jsonb.as_ptr()).root)) };
            Tokens { iterator, jsonb: PhantomData }
        }

        /// The next token and what it carries; with `skip_nested`, a
        /// container not entered yet comes as one `Item::Binary`. After the
        /// end, every call gives WJB_DONE.
        pub(super) fn next(&mut self, skip_nested: bool) -> (Token::Type, Item<'de>) {
            // SAFETY: JsonbValue is a plain C struct, and all zeroes is a valid one: a
            // jbvNull (type 0), whose union holds no pointer anything reads.
            let mut value: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
            // SAFETY: `iterator` came from JsonbIteratorInit over the jsonb borrowed for
            // 'de (`new`), so the container it walks is alive and unchanged; only this
            // call advances it. It pfrees each level itself and sets the pointer to NULL
            // when done, and returns WJB_DONE for a NULL iterator, so calling past the
            // end is harmless. A Postgres error raised inside (out of memory) unwinds
            // through pgrx's guard.
            let token = unsafe { pg_sys::JsonbIteratorNext(&mut self.iterator, &mut value, skip_nested) };
            let filled = Filled { token, value, jsonb: self.jsonb };
            (token, filled.item())
        }
    }

    /// One token and the value `JsonbIteratorNext` filled in for it.
    ///
    /// Only `Tokens::next` makes one, straight from the iterator over a jsonb
    /// borrowed for `'de`. So `value` is always the value filled in for
    /// `token` (or, for the tokens that fill nothing in, the zeroed `jbvNull`
    /// it started as), and every pointer in it points into that jsonb. Those
    /// two facts are what make `item` safe to call.
    struct Filled<'de> {
        token: Token::Type,
        value: pg_sys::JsonbValue,
        jsonb: PhantomData<&'de JsonbValue>,
    }

    impl<'de> Filled<'de> {
        /// The one place the union is read: its tag (`type_`) is checked first,
        /// and each arm reads only the member that tag names. What it returns
        /// borrows the jsonb for `'de`, the reader's borrow of the
        /// `JsonbValue`, not for a lifetime its caller picks.
        fn item(&self) -> Item<'de> {
            let value = &self.value;
            // jsonb_util.c fills `value` in for every token but these three.
            if matches!(self.token, Token::WJB_DONE | Token::WJB_END_ARRAY | Token::WJB_END_OBJECT) {
                return Item::Nothing;
            }
            // Each union read below is of the member its arm's `type_` names:
            // JsonbIteratorNext (jsonb_util.c, fillJsonbValue) sets `type_` and
            // then exactly that member (jsonb.h, JsonbValue).
            match value.type_ {
                jbvType::jbvNull => Item::Null,
                // SAFETY: `type_` is jbvBool, so `boolean` is the member set.
                jbvType::jbvBool => Item::Bool(unsafe { value.val.boolean }),
                jbvType::jbvString => {
                    // SAFETY: `type_` is jbvString, so `string` is the member set.
                    let string = unsafe { value.val.string };
                    // SAFETY: for a token from the iterator, `string.val` points at
                    // `string.len` bytes inside the jsonb's container (not a copy, and
                    // not NUL-terminated), and that jsonb is borrowed for 'de (see
                    // `Filled`), so the bytes stay put and unchanged as long as the slice.
                    Item::Text(unsafe { std::slice::from_raw_parts(string.val as *const u8, string.len as usize) })
                }
                jbvType::jbvNumeric => {
                    // SAFETY: `type_` is jbvNumeric, so `numeric` is the member set.
                    let numeric = unsafe { value.val.numeric }.cast::<pg_sys::varlena>();
                    // SAFETY: the pointer is into the jsonb's container, where a
                    // numeric is stored as a complete in-line varlena (4-byte aligned,
                    // never toasted); the _any helpers read its header whichever
                    // length form it has, and the bytes after it are part of the jsonb
                    // borrowed for 'de (see `Filled`).
                    Item::Numeric(unsafe {
                        std::slice::from_raw_parts(
                            pgrx::varlena::vardata_any(numeric) as *const u8,
                            pgrx::varlena::varsize_any_exhdr(numeric),
                        )
                    })
                }
                jbvType::jbvArray => {
                    // SAFETY: `type_` is jbvArray, so `array` is the member set (its
                    // count and flag; no pointer of it is read).
                    let array = unsafe { value.val.array };
                    Item::Array { elements: array.nElems.max(0) as usize, raw_scalar: array.rawScalar }
                }
                jbvType::jbvObject => {
                    // SAFETY: `type_` is jbvObject, so `object` is the member set (only
                    // its count is read).
                    let pairs = unsafe { value.val.object.nPairs };
                    Item::Object { pairs: pairs.max(0) as usize }
                }
                // The member (`binary`) is not read: a container passed over is skipped.
                jbvType::jbvBinary => Item::Binary,
                other => Item::Unknown(other),
            }
        }
    }
}

/// A serde source over Postgres's jsonb iterator: one token at a time,
/// with one token of lookahead for arrays. After an error it reads nothing
/// more: a document already refused is not read to its end.
///
/// It borrows the `JsonbValue` it walks for `'de` (see
/// `JsonbValue::reader`), and so does every string it hands to a visitor.
pub struct JsonbReader<'de> {
    tokens: Tokens<'de>,
    peeked: Option<(Token::Type, Item<'de>)>,
    depth: usize,
    failed: bool,
}

impl<'de> JsonbReader<'de> {
    fn fetch(&mut self, skip_nested: bool) -> (Token::Type, Item<'de>) {
        if let Some(peeked) = self.peeked.take() {
            return peeked;
        }
        self.tokens.next(skip_nested)
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
