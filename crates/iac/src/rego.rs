//! Custom Rego policies.
