//! Input classification.
