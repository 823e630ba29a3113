//! Replays the committed fuzz corpora (placeholder until the fuzz work lands).
