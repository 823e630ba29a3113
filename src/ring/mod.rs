//! placeholder (owned by the ring work)
