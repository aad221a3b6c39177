//! ZPA API client.
