//! Variable type constraints applied to values.
//!
//! Module inputs are often objects with `optional(type, default)` attributes;
//! without applying those defaults, a module's `var.settings.encrypted`
//! would be missing instead of the default the author relied on. Primitive
//! conversions (`"true"` to `true` for a `bool` variable) keep checks that
//! compare types honest.

use std::collections::BTreeMap;

use hcl::expr::{Expression, ObjectKey};

use super::value::Val;

/// Converts `value` to the type expression `ty` where that is possible;
/// leaves it unchanged otherwise (never fails: a scanner is not a validator).
pub(crate) fn convert(value: Val, ty: &Expression) -> Val {
    if value.is_unknown() || value == Val::Null {
        return value;
    }
    match ty {
        Expression::Variable(v) => match (v.as_str(), &value) {
            ("bool", _) => value.as_bool().map_or(value, Val::Bool),
            ("number", _) => value.as_number().map_or(value, Val::Num),
            ("string", Val::Num(_) | Val::Bool(_)) => value.as_string().map_or(value, Val::Str),
            _ => value,
        },
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            let arg = call.args.first();
            match (call.name.name.as_str(), value, arg) {
                ("list" | "set", Val::List(items), Some(elem)) => {
                    Val::List(items.into_iter().map(|i| convert(i, elem)).collect())
                }
                ("map", Val::Map(m), Some(elem)) => {
                    Val::Map(m.into_iter().map(|(k, v)| (k, convert(v, elem))).collect())
                }
                ("object", Val::Map(m), Some(Expression::Object(fields))) => {
                    Val::Map(convert_object(m, fields))
                }
                ("tuple", Val::List(items), Some(Expression::Array(types))) => Val::List(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| match types.get(i) {
                            Some(t) => convert(v, t),
                            None => v,
                        })
                        .collect(),
                ),
                (_, value, _) => value,
            }
        }
        _ => value,
    }
}

fn convert_object(
    mut value: BTreeMap<String, Val>,
    fields: &hcl::expr::Object<ObjectKey, Expression>,
) -> BTreeMap<String, Val> {
    for (key, field_ty) in fields.iter() {
        let name = match key {
            ObjectKey::Identifier(i) => i.as_str().to_string(),
            ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
            ObjectKey::Expression(Expression::String(s)) => s.clone(),
            _ => continue,
        };
        let (inner_ty, default) = match field_ty {
            Expression::FuncCall(call) if call.name.name.as_str() == "optional" => {
                (call.args.first(), call.args.get(1))
            }
            other => (Some(other), None),
        };
        let current = value.remove(&name).unwrap_or(Val::Null);
        let current = match (current, default) {
            (Val::Null, Some(d)) => {
                let empty = super::eval::EmptyEnv;
                super::eval::Evaluator::new(&empty).eval_lenient(d, &super::eval::Scope::root())
            }
            (v, _) => v,
        };
        let current = match inner_ty {
            Some(t) => convert(current, t),
            None => current,
        };
        value.insert(name, current);
    }
    value
}
