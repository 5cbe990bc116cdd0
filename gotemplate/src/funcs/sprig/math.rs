//! Sprig's arithmetic: integer functions through cast's `ToInt64`, float functions through
//! shopspring/decimal.

use std::rc::Rc;

use crate::error::FuncError;
use crate::funcs::convert::{to_float64, to_int64};
use crate::funcs::{FuncMap, Param, int_arg};
use crate::value::{ElemType, IntKind, List, Value};

fn int64(v: i64) -> Result<Value, FuncError> {
    Ok(Value::Int(v, IntKind::Int64))
}

fn float(v: f64) -> Result<Value, FuncError> {
    Ok(Value::float(v))
}

fn int_list(items: Vec<i64>) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Int,
        items: items.into_iter().map(Value::int).collect(),
    }))
}

pub fn register(map: &mut FuncMap) {
    use Param::{Any, Int, String as Str};
    map.add("atoi", &[Str], |_, a| {
        Ok(Value::int(
            a[0].as_str().unwrap_or("").parse::<i64>().unwrap_or(0),
        ))
    });
    map.add("int64", &[Any], |_, a| int64(to_int64(&a[0])));
    map.add("int", &[Any], |_, a| Ok(Value::int(to_int64(&a[0]))));
    map.add("float64", &[Any], |_, a| float(to_float64(&a[0])));
    map.add("toDecimal", &[Any], |_, a| {
        let text = crate::fmt::sprint(&a[..1]);
        int64(i64::from_str_radix(&text, 8).unwrap_or(0))
    });
    map.add_variadic("seq", &[], Int, |_, a| {
        Ok(Value::string(seq(&a
            .iter()
            .map(|v| crate::funcs::int_arg(std::slice::from_ref(v), 0))
            .collect::<Vec<_>>())))
    });
    map.add("until", &[Int], |_, a| {
        let count = int_arg(&a, 0);
        Ok(int_list(until_step(
            0,
            count,
            if count < 0 { -1 } else { 1 },
        )?))
    });
    map.add("untilStep", &[Int, Int, Int], |_, a| {
        Ok(int_list(until_step(
            int_arg(&a, 0),
            int_arg(&a, 1),
            int_arg(&a, 2),
        )?))
    });
    map.add("add1", &[Any], |_, a| {
        int64(to_int64(&a[0]).wrapping_add(1))
    });
    map.add_variadic("add", &[], Any, |_, a| {
        int64(a.iter().map(to_int64).fold(0i64, i64::wrapping_add))
    });
    map.add("sub", &[Any, Any], |_, a| {
        int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))
    });
    map.add("div", &[Any, Any], |_, a| {
        let divisor = to_int64(&a[1]);
        if divisor == 0 {
            return Err(FuncError::msg("runtime error: integer divide by zero"));
        }
        int64(to_int64(&a[0]).wrapping_div(divisor))
    });
    map.add("mod", &[Any, Any], |_, a| {
        let divisor = to_int64(&a[1]);
        if divisor == 0 {
            return Err(FuncError::msg("runtime error: integer divide by zero"));
        }
        int64(to_int64(&a[0]).wrapping_rem(divisor))
    });
    map.add_variadic("mul", &[Any], Any, |_, a| {
        int64(
            a[1..]
                .iter()
                .map(to_int64)
                .fold(to_int64(&a[0]), i64::wrapping_mul),
        )
    });
    map.add("randInt", &[Int, Int], |_, a| {
        use rand::Rng;
        let (min, max) = (int_arg(&a, 0), int_arg(&a, 1));
        if max <= min {
            return Err(FuncError::msg("invalid argument to Intn"));
        }
        Ok(Value::int(rand::thread_rng().gen_range(min..max)))
    });
    map.add("add1f", &[Any], |_, a| {
        float(decimal_op(&a[0], &[Value::int(1)], Op::Add))
    });
    map.add_variadic("addf", &[], Any, |_, a| {
        float(decimal_op(&Value::float(0.0), &a, Op::Add))
    });
    map.add_variadic("subf", &[Any], Any, |_, a| {
        float(decimal_op(&a[0], &a[1..], Op::Sub))
    });
    map.add_variadic("divf", &[Any], Any, |_, a| {
        if a[1..].iter().any(|v| to_float64(v) == 0.0) {
            return Err(FuncError::msg("decimal division by 0"));
        }
        float(decimal_op(&a[0], &a[1..], Op::Div))
    });
    map.add_variadic("mulf", &[Any], Any, |_, a| {
        float(decimal_op(&a[0], &a[1..], Op::Mul))
    });
    for name in ["biggest", "max"] {
        map.add_variadic(name, &[Any], Any, |_, a| {
            int64(a.iter().map(to_int64).max().unwrap_or(0))
        });
    }
    map.add_variadic("min", &[Any], Any, |_, a| {
        int64(a.iter().map(to_int64).min().unwrap_or(0))
    });
    map.add_variadic("maxf", &[Any], Any, |_, a| {
        float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_max),
        )
    });
    map.add_variadic("minf", &[Any], Any, |_, a| {
        float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_min),
        )
    });
    map.add("floor", &[Any], |_, a| float(to_float64(&a[0]).floor()));
    map.add("ceil", &[Any], |_, a| float(to_float64(&a[0]).ceil()));
    map.add_variadic("round", &[Any, Int], Param::Float64, |_, a| {
        let round_on = a.get(2).map_or(0.5, to_float64);
        let value = to_float64(&a[0]);
        let pow = 10f64.powf(int_arg(&a, 1) as f64);
        let digit = pow * value;
        let fraction = digit.fract();
        let rounded = if fraction >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        float(rounded / pow)
    });
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

const MAX_RANGE: usize = 1 << 20;

fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut out = Vec::new();
    if stop < start {
        if step >= 0 {
            return Ok(out);
        }
        let mut i = start;
        while i > stop {
            out.push(i);
            i = match i.checked_add(step) {
                Some(next) => next,
                None => break,
            };
            if out.len() > MAX_RANGE {
                return Err(FuncError::msg("range too large"));
            }
        }
        return Ok(out);
    }
    if step <= 0 {
        return Ok(out);
    }
    let mut i = start;
    while i < stop {
        out.push(i);
        i = match i.checked_add(step) {
            Some(next) => next,
            None => break,
        };
        if out.len() > MAX_RANGE {
            return Err(FuncError::msg("range too large"));
        }
    }
    Ok(out)
}

fn seq(params: &[i64]) -> String {
    let list = match *params {
        [end] => {
            let increment = if end < 1 { -1 } else { 1 };
            until_step(1, end.saturating_add(increment), increment)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(start, end.saturating_add(step), step)
        }
        [start, step, end] => {
            let mut increment = 1;
            if end < start {
                increment = -1;
                if step > 0 {
                    return String::new();
                }
            }
            until_step(start, end.saturating_add(increment), step)
        }
        _ => return String::new(),
    };
    list.unwrap_or_default()
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal number: mantissa × 10^exponent (shopspring/decimal's model, with i128 precision).
#[derive(Clone, Copy)]
struct Decimal {
    mantissa: i128,
    exponent: i32,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as the float.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (mantissa, exponent) = text.split_once('e')?;
        let exponent: i32 = exponent.parse().ok()?;
        let negative = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
        let fraction_len = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
        let value: i128 = digits.parse().ok()?;
        Some(Decimal {
            mantissa: if negative { -value } else { value },
            exponent: exponent - fraction_len,
        })
    }

    fn rescale(self, exponent: i32) -> Option<Decimal> {
        let shift = self.exponent.checked_sub(exponent)?;
        if shift < 0 {
            return None;
        }
        let factor = 10i128.checked_pow(shift as u32)?;
        Some(Decimal {
            mantissa: self.mantissa.checked_mul(factor)?,
            exponent,
        })
    }

    fn apply(self, other: Decimal, op: Op) -> Option<Decimal> {
        match op {
            Op::Add | Op::Sub => {
                let exponent = self.exponent.min(other.exponent);
                let (a, b) = (self.rescale(exponent)?, other.rescale(exponent)?);
                let mantissa = match op {
                    Op::Add => a.mantissa.checked_add(b.mantissa)?,
                    _ => a.mantissa.checked_sub(b.mantissa)?,
                };
                Some(Decimal { mantissa, exponent })
            }
            Op::Mul => Some(Decimal {
                mantissa: self.mantissa.checked_mul(other.mantissa)?,
                exponent: self.exponent.checked_add(other.exponent)?,
            }),
            Op::Div => {
                // shopspring divides to 16 digits after the point, rounding half away from zero.
                const PRECISION: i32 = 16;
                if other.mantissa == 0 {
                    return None;
                }
                let target = -PRECISION;
                let shift = self.exponent - other.exponent - target + 1;
                let scaled = if shift >= 0 {
                    self.mantissa
                        .checked_mul(10i128.checked_pow(shift as u32)?)?
                } else {
                    self.mantissa / 10i128.checked_pow((-shift) as u32)?
                };
                let quotient = scaled / other.mantissa;
                let rounded = if quotient >= 0 {
                    (quotient + 5) / 10
                } else {
                    (quotient - 5) / 10
                };
                Some(Decimal {
                    mantissa: rounded,
                    exponent: target,
                })
            }
        }
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent)
            .parse()
            .unwrap_or(0.0)
    }
}

fn decimal_op(first: &Value, rest: &[Value], op: Op) -> f64 {
    let mut acc_float = to_float64(first);
    let mut acc = Decimal::from_f64(acc_float);
    for v in rest {
        let x = to_float64(v);
        acc = match (acc, Decimal::from_f64(x)) {
            (Some(a), Some(b)) => a.apply(b, op),
            _ => None,
        };
        acc_float = match op {
            Op::Add => acc_float + x,
            Op::Sub => acc_float - x,
            Op::Mul => acc_float * x,
            Op::Div => acc_float / x,
        };
        if let Some(d) = acc {
            acc_float = d.to_f64();
        }
    }
    acc.map_or(acc_float, Decimal::to_f64)
}
