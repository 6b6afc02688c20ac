//! Checking and normalising the JSON Schemas of target tools, and their
//! names: the one rule of `agar_core::tool_schema`, which scenario files
//! (`agar-scenario`) follow too.

pub use agar_core::tool_schema::{
    SchemaError, check_tool_name, is_valid_tool_name, normalise_parameters,
};
