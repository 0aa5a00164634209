//! Partition pruning from time filters: a filter on `time` also restricts `dt`.
//!
//! Every event lies in the `dt` partition of its UTC day, so `time >= X`
//! implies `dt >= day(X)` and `time < Y` implies `dt <= day(Y)`. DataFusion
//! cannot know that, so a query filtering only on `time` would list and open
//! every partition (and rely on row group statistics alone). [`LakeTable`]
//! wraps a source's listing table and adds the implied `dt` filters to each
//! scan, which the listing then uses to skip whole directories.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::logical_expr::expr::{Between, BinaryExpr, Cast, TryCast};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{col, lit};

use crate::schema::{DAY_PARTITION, TIME_COLUMN};

/// A source's table whose scans also filter `dt` by the `time` filters.
#[derive(Debug)]
pub(crate) struct LakeTable {
    pub(crate) inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let filters = with_day_filters(filters);
        self.inner.scan(state, projection, &filters, limit).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}

/// `filters` plus the `dt` filters their `time` bounds imply.
pub(crate) fn with_day_filters(filters: &[Expr]) -> Vec<Expr> {
    let mut all = filters.to_vec();
    for filter in filters {
        day_filters(filter, &mut all);
    }
    all
}

fn day_filters(filter: &Expr, out: &mut Vec<Expr>) {
    match filter {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            day_filters(left, out);
            day_filters(right, out);
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let bound = match (is_time(left), is_time(right)) {
                (true, false) => instant(right).map(|day| (*op, day)),
                (false, true) => instant(left).and_then(|day| Some((op.swap()?, day))),
                _ => None,
            };
            let Some((op, day)) = bound else { return };
            let dt = col(DAY_PARTITION);
            match op {
                Operator::Gt | Operator::GtEq => out.push(dt.gt_eq(lit(day))),
                Operator::Lt | Operator::LtEq => out.push(dt.lt_eq(lit(day))),
                Operator::Eq => out.push(dt.eq(lit(day))),
                _ => {}
            }
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_time(expr) => {
            if let Some(day) = instant(low) {
                out.push(col(DAY_PARTITION).gt_eq(lit(day)));
            }
            if let Some(day) = instant(high) {
                out.push(col(DAY_PARTITION).lt_eq(lit(day)));
            }
        }
        _ => {}
    }
}

/// The `time` column, possibly cast to another timestamp type (which keeps
/// the instant, so the order).
fn is_time(expr: &Expr) -> bool {
    match expr {
        Expr::Column(column) => column.name == TIME_COLUMN,
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            matches!(field.data_type(), DataType::Timestamp(_, _)) && is_time(expr)
        }
        _ => false,
    }
}

/// The UTC day (`YYYY-MM-DD`) of a timestamp literal. A timestamp without a
/// time zone compares with `time` as UTC, so its day is the UTC day too.
fn instant(expr: &Expr) -> Option<String> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    let micros = match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000)?,
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000)?,
        ScalarValue::TimestampMicrosecond(Some(v), _) => *v,
        ScalarValue::TimestampNanosecond(Some(v), _) => v.div_euclid(1_000),
        _ => return None,
    };
    let time = DateTime::from_timestamp_micros(micros)?;
    Some(time.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Expr {
        let micros = DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_micros())
            .ok();
        lit(ScalarValue::TimestampMicrosecond(
            micros,
            Some("UTC".into()),
        ))
    }

    fn days(filter: Expr) -> Vec<String> {
        with_day_filters(&[filter])
            .iter()
            .skip(1)
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn time_bounds_become_day_bounds() {
        let time = || col(TIME_COLUMN);
        assert_eq!(
            days(
                time()
                    .gt_eq(at("2026-11-03T10:00:00Z"))
                    .and(time().lt(at("2026-11-05T00:00:00Z")))
            ),
            ["dt >= Utf8(\"2026-11-03\")", "dt <= Utf8(\"2026-11-05\")"]
        );
        // The literal on the left: the operator turns around.
        assert_eq!(
            days(at("2026-11-03T23:59:59Z").gt(time())),
            ["dt <= Utf8(\"2026-11-03\")"]
        );
        assert_eq!(
            days(time().between(at("2026-11-01T00:00:00Z"), at("2026-11-02T12:00:00Z"))),
            ["dt >= Utf8(\"2026-11-01\")", "dt <= Utf8(\"2026-11-02\")"]
        );
        // Not a bound on time: nothing added.
        assert!(days(col("actor").gt_eq(lit("a"))).is_empty());
        assert!(days(time().not_eq(at("2026-11-03T10:00:00Z"))).is_empty());
        assert!(days(
            time()
                .gt_eq(at("2026-11-03T10:00:00Z"))
                .or(col("actor").eq(lit("a")))
        )
        .is_empty());
    }
}
