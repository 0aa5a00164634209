//! The IAM credential report (`GetCredentialReport`): a CSV with one row
//! per user and one for the root user, `<root_account>`. It is the only
//! place AWS says when the root user last signed in or used an access key.

use chrono::{DateTime, Utc};

use crate::inventory::RootCredentials;

/// The name IAM gives the root user's row.
pub const ROOT_ROW: &str = "<root_account>";

/// What went wrong reading a report.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("the credential report is empty")]
    Empty,
    #[error("the credential report has no column `{0}`")]
    MissingColumn(&'static str),
    #[error("the credential report has no {ROOT_ROW} row")]
    NoRootRow,
}

/// The root user's row of a credential report.
pub fn root_credentials(csv: &str) -> Result<RootCredentials, ReportError> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or(ReportError::Empty)?.split(',').collect();
    let column = |name: &'static str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(ReportError::MissingColumn(name))
    };
    let user = column("user")?;
    let password_last_used = column("password_last_used")?;
    let mfa_active = column("mfa_active")?;
    let key_columns = [
        (
            column("access_key_1_active")?,
            column("access_key_1_last_used_date")?,
        ),
        (
            column("access_key_2_active")?,
            column("access_key_2_last_used_date")?,
        ),
    ];
    let row: Vec<&str> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|fields| fields.get(user).is_some_and(|u| u.trim() == ROOT_ROW))
        .ok_or(ReportError::NoRootRow)?;
    let field = |index: usize| row.get(index).map_or("", |f| f.trim());
    Ok(RootCredentials {
        password_last_used: timestamp(field(password_last_used)),
        mfa_active: field(mfa_active) == "true",
        access_keys_active: key_columns
            .iter()
            .any(|(active, _)| field(*active) == "true"),
        access_key_last_used: key_columns
            .iter()
            .filter_map(|(_, used)| timestamp(field(*used)))
            .max(),
    })
}

/// An ISO 8601 time; `N/A`, `no_information`, `not_supported` are none.
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as AWS returns it (recorded shape; moto's has no root row).
    const REPORT: &str = include_str!("../tests/fixtures/credential-report.csv");

    #[test]
    fn reads_the_root_row() {
        let root = root_credentials(REPORT).expect("root row");
        assert_eq!(
            root.password_last_used,
            Some("2026-11-28T09:14:02Z".parse().expect("time"))
        );
        assert!(!root.mfa_active);
        assert!(root.access_keys_active);
        assert_eq!(
            root.access_key_last_used,
            Some("2026-11-30T17:45:00Z".parse().expect("time"))
        );
    }

    #[test]
    fn unusable_reports_are_errors_not_a_clean_root() {
        assert_eq!(root_credentials(""), Err(ReportError::Empty));
        assert_eq!(
            root_credentials("user,arn\nalice,arn:aws:iam::1:user/alice\n"),
            Err(ReportError::MissingColumn("password_last_used"))
        );
        let users_only: String = REPORT
            .lines()
            .filter(|l| !l.starts_with(ROOT_ROW))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(root_credentials(&users_only), Err(ReportError::NoRootRow));
    }

    #[test]
    fn a_root_never_used_and_without_keys() {
        let quiet = REPORT.replace(
            "<root_account>,arn:aws:iam::111122223333:root,2019-03-01T10:00:00+00:00,not_supported,2026-11-28T09:14:02+00:00,not_supported,not_supported,false,true,2020-01-10T08:00:00+00:00,2026-11-30T17:45:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A",
            "<root_account>,arn:aws:iam::111122223333:root,2019-03-01T10:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A",
        );
        let root = root_credentials(&quiet).expect("root row");
        assert_eq!(root.password_last_used, None);
        assert_eq!(root.access_key_last_used, None);
        assert!(root.mfa_active && !root.access_keys_active);
    }
}
