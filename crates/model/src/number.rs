//! DynamoDB numbers: up to 38 significant decimal digits, magnitude 1E-130 to
//! 9.9999999999999999999999999999999999999E+125, exact (never f64, never a 28-digit decimal).
//!
//! A [`Number`] is always normalised (no leading or trailing zeros, no negative zero), so equal
//! values are equal structurally, hash alike and encode to the same key bytes.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, Sign};

use crate::error::{Error, Result};
use crate::limits::NUMBER_DIGITS_MAX;

/// Largest decimal exponent `e` of a number written as `0.d1d2… × 10^e`.
const EXP_MAX: i64 = 126;
/// Smallest such exponent (1E-130 = 0.1 × 10^-129).
const EXP_MIN: i64 = -129;

pub const MSG_TOO_MANY_DIGITS: &str = "Attempting to store more than 38 significant digits in a Number";
pub const MSG_OVERFLOW: &str =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
pub const MSG_UNDERFLOW: &str =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
/// Followed by ": " and the text as sent.
pub const MSG_NOT_A_NUMBER: &str = "The parameter cannot be converted to a numeric value";

fn not_a_number(text: &str) -> Error {
    Error::validation(format!("{MSG_NOT_A_NUMBER}: {text}"))
}

/// An exact DynamoDB number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Decimal digits (0..=9), most significant first, without leading or trailing zeros.
    /// Empty for zero.
    digits: Vec<u8>,
    /// The value is `0.d1d2…dn × 10^exp`. Zero has exp 0.
    exp: i32,
}

impl Number {
    pub fn zero() -> Self {
        Number {
            negative: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Significant digits, most significant first (empty for zero).
    pub fn digits(&self) -> &[u8] {
        &self.digits
    }

    /// Parses DynamoDB's number syntax (Java `BigDecimal`'s): optional sign, digits with an
    /// optional decimal point, optional exponent (`-1.5e+3`, `.5`, `5.`, `1.e5`). No whitespace.
    /// Checks, in DynamoDB's order: syntax, overflow, underflow, then significant digits.
    pub fn parse(text: &str) -> Result<Number> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&c) = bytes.first() {
            if c == b'+' || c == b'-' {
                negative = c == b'-';
                i = 1;
            }
        }
        let mut mantissa: Vec<u8> = Vec::with_capacity(bytes.len());
        let mut frac_digits: i64 = 0;
        let mut seen_point = false;
        let mut seen_digit = false;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'0'..=b'9' => {
                    seen_digit = true;
                    // Leading zeros carry no information; skipping them keeps long
                    // zero-padded inputs from growing the buffer.
                    if !(mantissa.is_empty() && c == b'0') {
                        mantissa.push(c - b'0');
                    }
                    if seen_point {
                        frac_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(not_a_number(text)),
            }
            i += 1;
        }
        if !seen_digit {
            return Err(not_a_number(text));
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            // bytes[i] is 'e' or 'E'.
            i += 1;
            let mut exp_negative = false;
            if let Some(&c) = bytes.get(i) {
                if c == b'+' || c == b'-' {
                    exp_negative = c == b'-';
                    i += 1;
                }
            }
            if i >= bytes.len() {
                return Err(not_a_number(text));
            }
            // An exponent that does not fit in 64 bits is not a number at all (as in Java).
            let mut acc: i128 = 0;
            for &c in &bytes[i..] {
                if !c.is_ascii_digit() {
                    return Err(not_a_number(text));
                }
                acc = acc * 10 + i128::from(c - b'0');
                if acc > i128::from(i64::MAX) + 1 {
                    return Err(not_a_number(text));
                }
            }
            if exp_negative {
                acc = -acc;
            }
            exponent = i64::try_from(acc).map_err(|_| not_a_number(text))?;
        }
        let power = exponent.saturating_sub(frac_digits);
        if mantissa.iter().all(|&d| d == 0) {
            // Zero is range-checked by the exponent it is written with (0e126 overflows).
            let adjusted = power;
            if adjusted > EXP_MAX - 1 {
                return Err(Error::validation(MSG_OVERFLOW));
            }
            if adjusted < EXP_MIN - 1 {
                return Err(Error::validation(MSG_UNDERFLOW));
            }
        }
        // value = int(mantissa) × 10^power
        Number::from_parts(negative, mantissa, power)
    }

    /// Builds a normalised number from `int(digits) × 10^power` (digits may have leading or
    /// trailing zeros) and checks DynamoDB's envelope.
    fn from_parts(negative: bool, mut digits: Vec<u8>, mut power: i64) -> Result<Number> {
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            power += 1;
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        let exp = power.saturating_add(digits.len() as i64);
        if exp > EXP_MAX {
            return Err(Error::validation(MSG_OVERFLOW));
        }
        if exp < EXP_MIN {
            return Err(Error::validation(MSG_UNDERFLOW));
        }
        if digits.len() > NUMBER_DIGITS_MAX {
            return Err(Error::validation(MSG_TOO_MANY_DIGITS));
        }
        Ok(Number {
            negative,
            digits,
            // In range [-129, 126] by the checks above.
            exp: exp as i32,
        })
    }

    /// `int(digits) × 10^power` as a big integer and its power of ten.
    fn to_scaled(&self) -> (BigInt, i64) {
        let sign = if self.negative { Sign::Minus } else { Sign::Plus };
        let int = BigInt::from_radix_be(sign, &self.digits, 10).unwrap_or_default();
        (int, i64::from(self.exp) - self.digits.len() as i64)
    }

    /// Exact sum, checked against DynamoDB's envelope (as ADD and `SET a = a + :n` do).
    pub fn checked_add(&self, other: &Number) -> Result<Number> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let (a, pa) = self.to_scaled();
        let (b, pb) = other.to_scaled();
        let p = pa.min(pb);
        // Exponents are bounded (|p| <= 170), so the shifts stay small.
        let ten = BigInt::from(10u8);
        let a = a * ten.pow((pa - p) as u32);
        let b = b * ten.pow((pb - p) as u32);
        let sum = a + b;
        let (sign, digits) = sum.to_radix_be(10);
        Number::from_parts(sign == Sign::Minus, digits, p)
    }

    /// Exact difference, checked against DynamoDB's envelope.
    pub fn checked_sub(&self, other: &Number) -> Result<Number> {
        self.checked_add(&other.negated())
    }

    pub fn negated(&self) -> Number {
        let mut n = self.clone();
        if !n.is_zero() {
            n.negative = !n.negative;
        }
        n
    }

    /// Bytes this number counts for in DynamoDB's item-size rules (measured byte-exactly
    /// against the service): one byte per base-100 digit pair, pairs aligned on the decimal
    /// point, plus one exponent byte, plus one when negative. Zero is 1.
    pub fn size_bytes(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        // With d.ddd × 10^e (e = exp - 1): an odd digit count or an odd e fits the pairs
        // exactly; otherwise one pair is half empty.
        let len = self.digits.len();
        let e = self.exp - 1;
        let padding = usize::from(len.is_multiple_of(2) && e % 2 == 0);
        1 + len.div_ceil(2) + padding + usize::from(self.negative)
    }

    /// Appends an order-preserving, prefix-free encoding: for numbers `a < b` the encoding of
    /// `a` sorts byte-wise before that of `b`, and no encoding is a prefix of another.
    pub fn encode_sortable(&self, out: &mut Vec<u8>) {
        if self.is_zero() {
            out.push(0x02);
            return;
        }
        // exp + 129 is in 0..=255 by the envelope checks.
        let exp_byte = (i64::from(self.exp) - EXP_MIN) as u8;
        if self.negative {
            out.push(0x01);
            out.push(!exp_byte);
            out.extend(self.digits.iter().map(|d| !(d + 1)));
            out.push(0xFF);
        } else {
            out.push(0x03);
            out.push(exp_byte);
            out.extend(self.digits.iter().map(|d| d + 1));
            out.push(0x00);
        }
    }

    /// Decodes what [`Number::encode_sortable`] wrote; returns the number and the bytes used.
    pub fn decode_sortable(bytes: &[u8]) -> Option<(Number, usize)> {
        match *bytes.first()? {
            0x02 => Some((Number::zero(), 1)),
            tag @ (0x01 | 0x03) => {
                let negative = tag == 0x01;
                let flip = |b: u8| if negative { !b } else { b };
                let exp = i64::from(flip(*bytes.get(1)?)) + EXP_MIN;
                let mut digits = Vec::new();
                let mut i = 2;
                loop {
                    let b = flip(*bytes.get(i)?);
                    i += 1;
                    if b == 0 {
                        break;
                    }
                    if !(1..=10).contains(&b) {
                        return None;
                    }
                    digits.push(b - 1);
                }
                let n = Number {
                    negative,
                    digits,
                    exp: exp as i32,
                };
                Some((n, i))
            }
            _ => None,
        }
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let class = |n: &Number| match (n.is_zero(), n.negative) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        match class(self).cmp(&class(other)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        let magnitude = self.exp.cmp(&other.exp).then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for Number {
    type Err = Error;
    fn from_str(s: &str) -> Result<Number> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Number {
        // Any i64 has at most 19 digits and is within range.
        Number::parse(&v.to_string()).unwrap_or_else(|_| Number::zero())
    }
}

/// Plain decimal notation without exponent, as DynamoDB returns numbers.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        if self.is_zero() {
            return f.write_char('0');
        }
        let mut s = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            s.push('-');
        }
        let n = self.digits.len() as i64;
        let exp = i64::from(self.exp);
        let digit = |d: &u8| char::from(b'0' + d);
        if exp <= 0 {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-exp) as usize));
            s.extend(self.digits.iter().map(digit));
        } else if exp >= n {
            s.extend(self.digits.iter().map(digit));
            s.extend(std::iter::repeat_n('0', (exp - n) as usize));
        } else {
            let (int, frac) = self.digits.split_at(exp as usize);
            s.extend(int.iter().map(digit));
            s.push('.');
            s.extend(frac.iter().map(digit));
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        for (input, out) in [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0"),
            ("1.0", "1"),
            ("001.500", "1.5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("-1.5e-3", "-0.0015"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+7", "7"),
            ("123.456", "123.456"),
            ("1.e5", "100000"),
            ("+.5", "0.5"),
            ("00042", "42"),
            ("1.23E10", "12300000000"),
            ("-0015.789e6", "-15789000"),
            (
                "-00001.23456789012345678901234567890123456780000",
                "-1.2345678901234567890123456789012345678",
            ),
        ] {
            assert_eq!(n(input).to_string(), out, "input {input}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e5",
            "+e2",
            "1e",
            "1e+",
            "abc",
            " 1",
            "1 ",
            "1 5",
            "1..2",
            "1.2.3",
            "0x10",
            "NaN",
            "Infinity",
            "1e5.5",
            "--1",
            "+-5",
            "1+2",
            "1_000",
            "1e9223372036854775808",
        ] {
            let err = Number::parse(bad).unwrap_err();
            assert_eq!(err.message, format!("{MSG_NOT_A_NUMBER}: {bad}"), "input {bad:?}");
        }
        assert_eq!(
            Number::parse("").unwrap_err().message,
            "The parameter cannot be converted to a numeric value: "
        );
    }

    #[test]
    fn enforces_envelope() {
        let max = "9.9999999999999999999999999999999999999E+125";
        assert_eq!(n(max).digits().len(), 38);
        assert!(Number::parse("1E-130").is_ok());
        assert!(Number::parse("-1E-130").is_ok());
        assert_eq!(Number::parse("1E+126").unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(Number::parse("-1E+126").unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(Number::parse("1E-131").unwrap_err().message, MSG_UNDERFLOW);
        assert_eq!(Number::parse("1e99999999999").unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(Number::parse("1e2147483648").unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(Number::parse("1e-2147483648").unwrap_err().message, MSG_UNDERFLOW);
        assert_eq!(
            Number::parse("1e9223372036854775807").unwrap_err().message,
            MSG_OVERFLOW
        );
        // Zero is checked by its written exponent.
        assert_eq!(Number::parse("0e126").unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(Number::parse("0e-131").unwrap_err().message, MSG_UNDERFLOW);
        assert_eq!(Number::parse("0e125").unwrap(), Number::zero());
        // Range is checked before precision: a 40-digit integer is a precision error.
        assert_eq!(Number::parse(&"1".repeat(40)).unwrap_err().message, MSG_TOO_MANY_DIGITS);
        assert_eq!(
            Number::parse(&format!("{}e100", "1".repeat(40))).unwrap_err().message,
            MSG_OVERFLOW
        );
        let digits39 = "123456789012345678901234567890123456789";
        assert_eq!(Number::parse(digits39).unwrap_err().message, MSG_TOO_MANY_DIGITS);
        // Trailing zeros are not significant.
        assert!(Number::parse(&format!("1{}", "0".repeat(60))).is_ok());
        assert!(Number::parse(&format!("0.{}1", "0".repeat(100))).is_ok());
    }

    #[test]
    fn exact_arithmetic() {
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("1e125").checked_add(&n("-1e125")).unwrap(), Number::zero());
        let big = "12345678901234567890123456789012345678";
        assert_eq!(
            n(big).checked_add(&n("1")).unwrap().to_string(),
            "12345678901234567890123456789012345679"
        );
        assert_eq!(
            n("99999999999999999999999999999999999999")
                .checked_add(&n("1"))
                .unwrap()
                .to_string(),
            "100000000000000000000000000000000000000"
        );
        assert_eq!(
            n("12345678901234567890123456789012345678")
                .checked_add(&n("0.1"))
                .unwrap_err()
                .message,
            MSG_TOO_MANY_DIGITS
        );
        assert_eq!(n("9E+125").checked_add(&n("1E+125")).unwrap_err().message, MSG_OVERFLOW);
        assert_eq!(n("5").checked_sub(&n("7.25")).unwrap().to_string(), "-2.25");
        assert_eq!(n("-5").checked_sub(&n("-5")).unwrap(), Number::zero());
    }

    #[test]
    fn ordering() {
        let sorted = [
            "-1e125", "-100", "-1.5", "-1", "-0.001", "0", "1e-130", "0.001", "1", "1.5", "2", "10", "100", "1e125",
        ];
        for w in sorted.windows(2) {
            assert!(n(w[0]) < n(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn size_rule_matches_measured_sizes() {
        // Sizes measured byte-exactly against DynamoDB.
        let measured = [
            ("0", 1),
            ("1", 2),
            ("12", 2),
            ("123", 3),
            ("1234", 3),
            ("0042", 2),
            ("100", 2),
            ("1010", 3),
            ("0.0000001", 2),
            ("1E125", 2),
            ("1E-100", 2),
            ("1.5", 3),
            ("15", 2),
            ("1.2", 3),
            ("1.200", 3),
            ("1.234", 4),
            ("3.14159", 5),
            ("123456", 4),
            ("100.5", 4),
            ("0.15", 2),
            ("-42", 3),
            ("-0", 1),
            ("12345678901234567890123456789012345678", 20),
        ];
        for (literal, bytes) in measured {
            assert_eq!(n(literal).size_bytes(), bytes, "{literal}");
        }
    }

    #[test]
    fn extremes_print_in_plain_notation() {
        assert_eq!(n("1E125").to_string(), format!("1{}", "0".repeat(125)));
        assert_eq!(n("1e-130").to_string(), format!("0.{}1", "0".repeat(129)));
        assert_eq!(n("-0001.000e-130").to_string(), format!("-0.{}1", "0".repeat(129)));
        assert_eq!(
            n("0009.99999999999999999999999999999999999990000e125").to_string(),
            format!("{}{}", "9".repeat(38), "0".repeat(88))
        );
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        (any::<bool>(), proptest::collection::vec(0u8..10, 1..=38), -129i64..=126).prop_map(|(neg, mut digits, exp)| {
            digits[0] = digits[0].max(1);
            let len = digits.len() as i64;
            Number::from_parts(neg, digits, exp - len).unwrap()
        })
    }

    proptest! {
        #[test]
        fn encoding_order_matches_value_order(a in arb_number(), b in arb_number()) {
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            a.encode_sortable(&mut ea);
            b.encode_sortable(&mut eb);
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            let (da, used) = Number::decode_sortable(&ea).unwrap();
            prop_assert_eq!(used, ea.len());
            prop_assert_eq!(da, a);
        }

        #[test]
        fn display_round_trips(a in arb_number()) {
            prop_assert_eq!(Number::parse(&a.to_string()).unwrap(), a);
        }

        #[test]
        fn order_matches_arithmetic(a in arb_number(), b in arb_number()) {
            // a < b  <=>  b - a > 0, whenever the difference is representable.
            if let Ok(d) = b.checked_sub(&a) {
                prop_assert_eq!(a.cmp(&b), Number::zero().cmp(&d));
            }
        }

        #[test]
        fn parse_never_panics(s in "[-+0-9.eE]{0,60}") {
            let _ = Number::parse(&s);
        }
    }
}
