//! Reads a number from PostgreSQL's `numeric` storage format without
//! printing it. `numeric_out` prints a number as all its digits: `1e131071`,
//! 8 bytes of JSON and a few bytes in a jsonb, prints as 131,072 digits, so
//! a 73 KB document of them took a backend to 1 GB. Here the value is built
//! from the stored digits alone: the work and the memory are bounded by the
//! stored size, never by the number's magnitude or scale.
//!
//! The format (PostgreSQL's src/backend/utils/adt/numeric.c, `NumericData`):
//! after the varlena header, a 16-bit header word, then (long format only) a
//! 16-bit weight, then base-10000 digits of 16 bits each, most significant
//! first, with no leading or trailing zero digits. The value is
//! `sum(digit[i] * 10000^(weight - i))`. The header word's top two bits say
//! positive (00), negative (01), short format (10) or special (11: NaN, ±Inf).

use std::fmt;

const SIGN_MASK: u16 = 0xC000;
const NEGATIVE: u16 = 0x4000;
const SHORT: u16 = 0x8000;
const SPECIAL: u16 = 0xC000;
const DSCALE_MASK: u16 = 0x3FFF;
const SHORT_SIGN_MASK: u16 = 0x2000;
const SHORT_DSCALE_MASK: u16 = 0x1F80;
const SHORT_DSCALE_SHIFT: u16 = 7;
const SHORT_WEIGHT_SIGN_MASK: u16 = 0x0040;
const SHORT_WEIGHT_MASK: u16 = 0x003F;
const NBASE: i128 = 10_000;

/// Significant base-10000 digits handed to the f64 parser: 800 decimal
/// digits, more than the 767 that can ever decide how a decimal rounds to a
/// double; a nonzero tail beyond them is kept as one sticky digit, so the
/// result is the correctly rounded double.
const MAX_PARSED_DIGITS: usize = 200;

/// A number as serde's data model carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    I64(i64),
    U64(u64),
    F64(f64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberProblem {
    /// Nonzero, but beyond what a double holds (`1e400`, `1e-400`): about
    /// 10 to this power.
    OutOfRange { decimal_exponent: i64 },
    /// NaN or an infinity (jsonb never holds one).
    Special,
    /// Not the numeric format (a bug, not input).
    Malformed,
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberProblem::OutOfRange { decimal_exponent } => {
                write!(f, "a number of about 1e{decimal_exponent}, beyond what a double precision value holds")
            }
            NumberProblem::Special => f.write_str("NaN or infinity, which JSON does not have"),
            NumberProblem::Malformed => f.write_str("a number that is not in PostgreSQL's numeric format"),
        }
    }
}

/// The parts of a stored numeric.
struct Decimal<'a> {
    negative: bool,
    weight: i64,
    dscale: u16,
    /// Base-10000 digits, two bytes each in native byte order.
    digits: &'a [u8],
}

impl Decimal<'_> {
    fn len(&self) -> usize {
        self.digits.len() / 2
    }

    fn digit(&self, i: usize) -> i16 {
        i16::from_ne_bytes([self.digits[2 * i], self.digits[2 * i + 1]])
    }
}

fn decode(data: &[u8]) -> Result<Decimal<'_>, NumberProblem> {
    let word =
        |at: usize| data.get(at..at + 2).map(|b| u16::from_ne_bytes([b[0], b[1]])).ok_or(NumberProblem::Malformed);
    let header = word(0)?;
    let decimal = match header & SIGN_MASK {
        SPECIAL => return Err(NumberProblem::Special),
        SHORT => {
            let magnitude = (header & SHORT_WEIGHT_MASK) as i64;
            let weight = if header & SHORT_WEIGHT_SIGN_MASK != 0 {
                magnitude - (SHORT_WEIGHT_MASK as i64 + 1)
            } else {
                magnitude
            };
            Decimal {
                negative: header & SHORT_SIGN_MASK != 0,
                weight,
                dscale: (header & SHORT_DSCALE_MASK) >> SHORT_DSCALE_SHIFT,
                digits: &data[2..],
            }
        }
        sign => Decimal {
            negative: sign == NEGATIVE,
            weight: word(2)? as i16 as i64,
            dscale: header & DSCALE_MASK,
            digits: &data[4..],
        },
    };
    let valid = decimal.digits.len() % 2 == 0 && (0..decimal.len()).all(|i| (0..10_000).contains(&decimal.digit(i)));
    if valid {
        Ok(decimal)
    } else {
        Err(NumberProblem::Malformed)
    }
}

/// The number stored in `data`, a numeric's bytes after its varlena header.
/// Integers (no fractional digits, no decimal point) within i64 or u64 are
/// exact, as a JSON text parser gives them; any other number is the
/// correctly rounded double. A nonzero number a double cannot hold is an
/// error, never infinity or zero (serde_json would make infinity a null).
pub fn from_numeric(data: &[u8]) -> Result<Number, NumberProblem> {
    let d = decode(data)?;
    let n = d.len();
    if n == 0 {
        return Ok(if d.dscale == 0 { Number::I64(0) } else { Number::F64(0.0) });
    }
    if d.dscale == 0 && d.weight >= n as i64 - 1 && d.weight <= 4 {
        // At most 5 base-10000 digits: below 10^20, so i128 cannot overflow.
        let mut value: i128 = 0;
        for i in 0..=d.weight as usize {
            value = value * NBASE + if i < n { d.digit(i) as i128 } else { 0 };
        }
        let value = if d.negative { -value } else { value };
        if let Ok(small) = i64::try_from(value) {
            return Ok(Number::I64(small));
        }
        if let Ok(large) = u64::try_from(value) {
            return Ok(Number::U64(large));
        }
    }
    let leading = d.digit(0);
    let leading_digits = if leading >= 1000 {
        4
    } else if leading >= 100 {
        3
    } else if leading >= 10 {
        2
    } else {
        1
    };
    let decimal_exponent = 4 * d.weight + leading_digits - 1;
    let out_of_range = NumberProblem::OutOfRange { decimal_exponent };
    // A double holds magnitudes from about 4.9e-324 to 1.8e308.
    if !(-325..=308).contains(&decimal_exponent) {
        return Err(out_of_range);
    }
    let kept = n.min(MAX_PARSED_DIGITS);
    let mut text = String::with_capacity(4 * kept + 16);
    text.push_str(if d.negative { "-0." } else { "0." });
    for i in 0..kept {
        text.push_str(&format!("{:04}", d.digit(i)));
    }
    if (kept..n).any(|i| d.digit(i) != 0) {
        text.push('1');
    }
    text.push_str(&format!("e{}", 4 * (d.weight + 1)));
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value != 0.0 => Ok(Number::F64(value)),
        _ => Err(out_of_range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long-format numeric: sign word (with dscale), weight, digits.
    fn long(negative: bool, weight: i16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut bytes = ((if negative { NEGATIVE } else { 0 }) | dscale).to_ne_bytes().to_vec();
        bytes.extend(weight.to_ne_bytes());
        digits.iter().for_each(|d| bytes.extend(d.to_ne_bytes()));
        bytes
    }

    /// A short-format numeric, as PostgreSQL writes small numbers.
    fn short(negative: bool, weight: i16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let weight_bits =
            if weight < 0 { SHORT_WEIGHT_SIGN_MASK | (weight as u16 & SHORT_WEIGHT_MASK) } else { weight as u16 };
        let header = SHORT | if negative { SHORT_SIGN_MASK } else { 0 } | (dscale << SHORT_DSCALE_SHIFT) | weight_bits;
        let mut bytes = header.to_ne_bytes().to_vec();
        digits.iter().for_each(|d| bytes.extend(d.to_ne_bytes()));
        bytes
    }

    #[test]
    fn integers_within_64_bits_are_exact_in_both_formats() {
        assert_eq!(from_numeric(&short(false, 0, 0, &[])), Ok(Number::I64(0)));
        assert_eq!(from_numeric(&short(false, 0, 0, &[42])), Ok(Number::I64(42)));
        assert_eq!(from_numeric(&short(true, 1, 0, &[12, 3456])), Ok(Number::I64(-123_456)));
        // 1e8: one digit of weight 2, no trailing zero digits stored.
        assert_eq!(from_numeric(&long(false, 2, 0, &[1])), Ok(Number::I64(100_000_000)));
        // i64::MIN and u64::MAX, 19 and 20 digits.
        assert_eq!(from_numeric(&long(true, 4, 0, &[922, 3372, 368, 5477, 5808])), Ok(Number::I64(i64::MIN)));
        assert_eq!(from_numeric(&long(false, 4, 0, &[1844, 6744, 737, 955, 1615])), Ok(Number::U64(u64::MAX)));
    }

    #[test]
    fn fractions_and_large_integers_are_correctly_rounded_doubles() {
        // 2.5 with dscale 1; 1.0 is a double, as JSON text "1.0" is.
        assert_eq!(from_numeric(&short(false, 0, 1, &[2, 5000])), Ok(Number::F64(2.5)));
        assert_eq!(from_numeric(&short(false, 0, 1, &[1])), Ok(Number::F64(1.0)));
        assert_eq!(from_numeric(&short(true, -1, 4, &[1])), Ok(Number::F64(-0.0001)));
        // 2^64 does not fit u64.
        assert_eq!(
            from_numeric(&long(false, 4, 0, &[1844, 6744, 737, 955, 1616])),
            Ok(Number::F64(18446744073709551616.0))
        );
        // 1e300 and 1e-300.
        assert_eq!(from_numeric(&long(false, 75, 0, &[1])), Ok(Number::F64(1e300)));
        assert_eq!(from_numeric(&long(false, -75, 300, &[1])), Ok(Number::F64(1e-300)));
    }

    #[test]
    fn numbers_beyond_a_double_are_refused_with_their_magnitude_not_expanded() {
        // 1e400 (weight 100), 1e131071 (8 bytes of JSON), -1e400, 1e-400 and
        // 1e-16383 (the smallest scale a numeric has).
        for (bytes, exponent) in [
            (long(false, 100, 0, &[1]), 400),
            (long(false, 32767, 0, &[1000]), 131_071),
            (long(true, 100, 0, &[1]), 400),
            (long(false, -100, 400, &[1]), -400),
            (long(false, -4096, 16383, &[10]), -16383),
        ] {
            assert_eq!(from_numeric(&bytes), Err(NumberProblem::OutOfRange { decimal_exponent: exponent }));
        }
        // Just beyond the largest double, though its exponent is 308.
        assert!(matches!(from_numeric(&long(false, 77, 0, &[1, 8000])), Err(NumberProblem::OutOfRange { .. })));
        let message = NumberProblem::OutOfRange { decimal_exponent: 400 }.to_string();
        assert!(message.contains("1e400"), "{message}");
    }

    #[test]
    fn a_long_tail_rounds_as_its_full_text_would() {
        // 1 + 2^-53 (exactly halfway between 1 and the next double) rounds
        // to 1; with a 1 far beyond the 800 digits parsed, it rounds up.
        let halfway = "1.00000000000000011102230246251565404236316680908203125";
        let mut digits: Vec<i16> = vec![1];
        let fraction = &halfway[2..];
        let padded = format!("{fraction:0<60}");
        for chunk in padded.as_bytes().chunks(4) {
            digits.push(std::str::from_utf8(chunk).unwrap().parse().unwrap());
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        assert_eq!(from_numeric(&long(false, 0, 60, &digits)), Ok(Number::F64(1.0)));
        let mut above = digits.clone();
        above.resize(300, 0);
        above.push(1);
        let above_halfway = from_numeric(&long(false, 0, 1204, &above));
        assert_eq!(above_halfway, Ok(Number::F64(1.0 + f64::EPSILON)));
    }

    #[test]
    fn special_values_and_malformed_bytes_are_refused() {
        assert_eq!(from_numeric(&0xC000u16.to_ne_bytes()), Err(NumberProblem::Special));
        assert_eq!(from_numeric(&[0]), Err(NumberProblem::Malformed));
        assert_eq!(from_numeric(&long(false, 0, 0, &[10_000])), Err(NumberProblem::Malformed));
        assert_eq!(from_numeric(&[0, 0, 0, 0, 1]), Err(NumberProblem::Malformed));
    }
}
