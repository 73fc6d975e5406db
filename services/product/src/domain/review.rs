//! Reviews: a rating of 1 to 5 and a text of at most 2,000 characters.
