//! `remove_target_tool`: takes a tool away from the target.

use super::args::tool_args;
use crate::audit::{Audit, Outcome};

pub const NAME: &str = "remove_target_tool";

pub(super) const DESCRIPTION: &str = "Take a tool away from the target, as an operator revoking \
     access would. What the target already read through it stays in its conversation.";

tool_args! {
    /// The arguments of `remove_target_tool`.
    pub struct Args {
        name: String,
    }
}

impl Audit<'_> {
    pub(crate) fn remove_target_tool(&mut self, args: Args) -> Outcome {
        let name = args.name;
        if self.rec.remove_tool(&name) {
            Outcome::Reply(format!(
                "tool {name} removed; the target's tools: {}",
                self.tool_names()
            ))
        } else {
            Outcome::ToolError(format!(
                "the target has no tool named {name:?}; its tools: {}",
                self.tool_names()
            ))
        }
    }
}
