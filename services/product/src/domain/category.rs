//! Categories: a tree of named, slugged groups of products.
