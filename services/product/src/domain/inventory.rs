//! Stock moves of the inventory API: quantities, references, thresholds.
