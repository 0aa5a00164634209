//! Inline suppression comments.
