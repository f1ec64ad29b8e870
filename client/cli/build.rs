//! Records the git commit for `quarks --version`, as the node's build script does: a
//! client that names its commit can be matched to the runtime it was made for.

use substrate_build_script_utils::{generate_cargo_keys, rerun_if_git_head_changed};

fn main() {
	generate_cargo_keys();
	rerun_if_git_head_changed();
}
