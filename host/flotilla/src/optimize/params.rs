//! The parameter space of `flotilla optimize`: `--param` values parsed (ranges and lists),
//! the grid they span, and a seeded random sample of it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// At most this many values per param, and combinations per grid (a typo such as
/// `1..1000000:1` is refused, not run for a week).
pub const MAX_COMBINATIONS: u128 = 1_000_000;

/// Why a `--param` was refused; the message names the param.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// Not `NAME=VALUES`.
    #[error("--param `{0}`: expected NAME=VALUES, e.g. fast=5..50:5 or k=1.5,2,2.5")]
    Shape(String),
    /// A name with characters a `[bot.params]` key cannot have unquoted.
    #[error("--param `{0}`: a name is letters, digits, `_` and `-`")]
    Name(String),
    /// The same name twice.
    #[error("--param {0}: given twice")]
    Duplicate(String),
    /// A range bound or step that is not a number.
    #[error("--param {name}: `{text}` is not a number (a range is START..END[:STEP])")]
    Number {
        /// The param.
        name: String,
        /// The text.
        text: String,
    },
    /// A step of zero or less.
    #[error("--param {0}: the step must be positive")]
    Step(String),
    /// A range whose start is above its end.
    #[error("--param {name}: the range starts at {start}, above its end {end}")]
    Backwards {
        /// The param.
        name: String,
        /// Start.
        start: Decimal,
        /// End.
        end: Decimal,
    },
    /// A list with an empty item.
    #[error("--param {0}: an empty value in the list")]
    Empty(String),
    /// The same value twice in a list.
    #[error("--param {name}: the value {value} is listed twice")]
    Repeated {
        /// The param.
        name: String,
        /// The value.
        value: String,
    },
    /// Too many values or combinations.
    #[error("{0} combinations: more than {MAX_COMBINATIONS}; narrow the ranges or use --random N")]
    TooMany(u128),
}

/// One value a param takes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
}

impl ParamValue {
    /// The value as the registry's `[bot.params]` holds it.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            Self::Int(i) => toml::Value::Integer(*i),
            Self::Float(f) => toml::Value::Float(*f),
            Self::Bool(b) => toml::Value::Boolean(*b),
            Self::Text(s) => toml::Value::String(s.clone()),
        }
    }

    /// The value as a number, for heatmap axes and sorting (`None` for text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Float(f) => Some(*f),
            Self::Bool(b) => Some(f64::from(u8::from(*b))),
            Self::Text(_) => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // TOML spelling, so a printed value pastes into a registry.
        write!(f, "{}", self.to_toml())
    }
}

/// One `--param`: a name and the values it takes, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamSpec {
    /// The `[bot.params]` key.
    pub name: String,
    /// Its values.
    pub values: Vec<ParamValue>,
}

impl FromStr for ParamSpec {
    type Err = ParamError;

    /// `NAME=START..END[:STEP]` (inclusive; integers if all three are, else floats; step 1
    /// by default) or `NAME=V1,V2,...` (integers, floats, `true`/`false` or text).
    fn from_str(arg: &str) -> Result<Self, ParamError> {
        let (name, spec) = arg
            .split_once('=')
            .map(|(n, s)| (n.trim(), s.trim()))
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
            .ok_or_else(|| ParamError::Shape(arg.to_string()))?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ParamError::Name(name.to_string()));
        }
        let values = match spec.split_once("..") {
            Some((start, rest)) => range(name, start, rest)?,
            None => list(name, spec)?,
        };
        Ok(Self {
            name: name.to_string(),
            values,
        })
    }
}

fn range(name: &str, start: &str, rest: &str) -> Result<Vec<ParamValue>, ParamError> {
    let (end, step) = match rest.split_once(':') {
        Some((e, s)) => (e, Some(s)),
        None => (rest, None),
    };
    let num = |text: &str| {
        Decimal::from_str(text.trim()).map_err(|_| ParamError::Number {
            name: name.to_string(),
            text: text.trim().to_string(),
        })
    };
    let (lo, hi) = (num(start)?, num(end)?);
    let step = step.map(num).transpose()?.unwrap_or(Decimal::ONE);
    if step <= Decimal::ZERO {
        return Err(ParamError::Step(name.to_string()));
    }
    if lo > hi {
        return Err(ParamError::Backwards {
            name: name.to_string(),
            start: lo,
            end: hi,
        });
    }
    let count = ((hi - lo) / step).floor().to_u128().unwrap_or(u128::MAX) + 1;
    if count > MAX_COMBINATIONS {
        return Err(ParamError::TooMany(count));
    }
    let ints = [lo, hi, step]
        .iter()
        .all(|d| d.fract().is_zero() && d.scale() == 0);
    // Exact decimal steps: 0.1..0.3:0.1 is 0.1, 0.2, 0.3, not 0.30000000000000004.
    Ok((0..count)
        .map(|i| lo + step * Decimal::from(i as u64))
        .map(|d| match (ints, d.to_i64()) {
            (true, Some(i)) => ParamValue::Int(i),
            _ => ParamValue::Float(d.normalize().to_f64().unwrap_or(f64::NAN)),
        })
        .collect())
}

fn list(name: &str, spec: &str) -> Result<Vec<ParamValue>, ParamError> {
    let mut values: Vec<ParamValue> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(ParamError::Empty(name.to_string()));
        }
        let v = if let Ok(i) = item.parse::<i64>() {
            ParamValue::Int(i)
        } else if let Some(f) = item.parse::<f64>().ok().filter(|f| f.is_finite()) {
            ParamValue::Float(f)
        } else if let Ok(b) = item.parse::<bool>() {
            ParamValue::Bool(b)
        } else {
            ParamValue::Text(item.to_string())
        };
        if values.contains(&v) {
            return Err(ParamError::Repeated {
                name: name.to_string(),
                value: item.to_string(),
            });
        }
        values.push(v);
    }
    Ok(values)
}

/// The space the params span: every combination has an index, the first param varying
/// slowest.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    /// The params, in the order given.
    pub params: Vec<ParamSpec>,
}

impl Space {
    /// The space of `params`; names must differ.
    pub fn new(params: Vec<ParamSpec>) -> Result<Self, ParamError> {
        for (i, p) in params.iter().enumerate() {
            if params[..i].iter().any(|q| q.name == p.name) {
                return Err(ParamError::Duplicate(p.name.clone()));
            }
        }
        Ok(Self { params })
    }

    /// Combinations in the whole grid.
    pub fn size(&self) -> u128 {
        self.params.iter().map(|p| p.values.len() as u128).product()
    }

    /// The combination at `index` (`index < size`).
    pub fn combination(&self, mut index: u128) -> Vec<(String, ParamValue)> {
        let mut out = Vec::with_capacity(self.params.len());
        for p in self.params.iter().rev() {
            let n = p.values.len() as u128;
            out.push((p.name.clone(), p.values[(index % n) as usize].clone()));
            index /= n;
        }
        out.reverse();
        out
    }

    /// The indices to run: the whole grid, or with `random`, that many distinct
    /// combinations drawn with `seed` (the whole grid if it is not larger), ascending.
    pub fn indices(&self, random: Option<usize>, seed: u64) -> Result<Vec<u128>, ParamError> {
        let size = self.size();
        match random {
            Some(n) if (n as u128) < size => {
                if size > usize::MAX as u128 {
                    return Err(ParamError::TooMany(size));
                }
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut picked: Vec<u128> = rand::seq::index::sample(&mut rng, size as usize, n)
                    .into_iter()
                    .map(|i| i as u128)
                    .collect();
                picked.sort_unstable();
                Ok(picked)
            }
            _ if size > MAX_COMBINATIONS => Err(ParamError::TooMany(size)),
            _ => Ok((0..size).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<ParamSpec, ParamError> {
        s.parse()
    }

    fn ints(s: &str) -> Vec<i64> {
        p(s).unwrap()
            .values
            .into_iter()
            .map(|v| match v {
                ParamValue::Int(i) => i,
                other => panic!("{other:?} is not an integer"),
            })
            .collect()
    }

    #[test]
    fn integer_ranges_are_inclusive_and_stepped() {
        assert_eq!(
            ints("fast=5..50:5"),
            vec![5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
        );
        assert_eq!(ints("slow = 20..30"), (20..=30).collect::<Vec<_>>());
        assert_eq!(
            ints("n=3..10:4"),
            vec![3, 7],
            "the end is kept only on a step"
        );
        assert_eq!(ints("n=-2..2:2"), vec![-2, 0, 2]);
        assert_eq!(ints("n=7..7"), vec![7]);
    }

    #[test]
    fn decimal_ranges_step_exactly() {
        let v = p("k=0.1..0.3:0.1").unwrap().values;
        assert_eq!(
            v,
            vec![
                ParamValue::Float(0.1),
                ParamValue::Float(0.2),
                ParamValue::Float(0.3)
            ]
        );
        let v = p("k=1..2:0.5").unwrap().values;
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[2].to_string(),
            "2.0",
            "a float param stays a float in TOML"
        );
    }

    #[test]
    fn lists_take_numbers_booleans_and_text() {
        let v = p("k=1.5,2,2.5").unwrap().values;
        assert_eq!(
            v,
            vec![
                ParamValue::Float(1.5),
                ParamValue::Int(2),
                ParamValue::Float(2.5)
            ]
        );
        let v = p("entry=limit,market").unwrap().values;
        assert_eq!(v[1], ParamValue::Text("market".into()));
        assert_eq!(v[1].to_string(), "\"market\"");
        assert_eq!(
            p("allow_short=true,false").unwrap().values[0],
            ParamValue::Bool(true)
        );
    }

    #[test]
    fn bad_input_names_the_param() {
        let err = |s: &str| p(s).unwrap_err().to_string();
        assert!(err("fast").contains("`fast`: expected NAME=VALUES"));
        assert!(err("fast=").contains("expected NAME=VALUES"));
        assert!(err("=1,2").contains("expected NAME=VALUES"));
        assert_eq!(
            err("fast=5..x:5"),
            "--param fast: `x` is not a number (a range is START..END[:STEP])"
        );
        assert_eq!(
            err("fast=5..50:0"),
            "--param fast: the step must be positive"
        );
        assert_eq!(
            err("fast=5..50:-5"),
            "--param fast: the step must be positive"
        );
        assert_eq!(
            err("slow=50..5:5"),
            "--param slow: the range starts at 50, above its end 5"
        );
        assert_eq!(err("k=1,,2"), "--param k: an empty value in the list");
        assert_eq!(err("k=1,2,1"), "--param k: the value 1 is listed twice");
        assert!(err("a b=1").contains("`a b`: a name is"));
        assert!(err("n=0..10000000").contains("more than 1000000"));
        let twice = Space::new(vec![p("a=1,2").unwrap(), p("a=3").unwrap()]);
        assert_eq!(twice.unwrap_err().to_string(), "--param a: given twice");
    }

    #[test]
    fn the_grid_enumerates_every_combination_once() {
        let space = Space::new(vec![p("a=1..3").unwrap(), p("b=x,y").unwrap()]).unwrap();
        assert_eq!(space.size(), 6);
        let all: Vec<String> = (0..6)
            .map(|i| {
                let c = space.combination(i);
                format!("{}{}", c[0].1, c[1].1)
            })
            .collect();
        assert_eq!(
            all,
            ["1\"x\"", "1\"y\"", "2\"x\"", "2\"y\"", "3\"x\"", "3\"y\""]
        );
        assert_eq!(space.indices(None, 1).unwrap(), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn random_search_draws_distinct_combinations_from_the_seed() {
        let space = Space::new(vec![p("a=1..100").unwrap(), p("b=1..100").unwrap()]).unwrap();
        let one = space.indices(Some(50), 7).unwrap();
        assert_eq!(one.len(), 50);
        assert!(one.windows(2).all(|w| w[0] < w[1]), "distinct, ascending");
        assert!(one.iter().all(|i| *i < 10_000));
        assert_eq!(
            one,
            space.indices(Some(50), 7).unwrap(),
            "same seed, same draw"
        );
        assert_ne!(one, space.indices(Some(50), 8).unwrap());
        assert_eq!(space.indices(Some(20_000), 7).unwrap().len(), 10_000);
    }
}
