//! The README's key table is written from the key table; this keeps the
//! two from drifting apart.

use loadscope::tui::keymap::BINDINGS;

#[test]
fn readme_lists_every_key_binding() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    for binding in BINDINGS {
        let row = format!("| `{}` |", binding.label);
        assert!(
            readme.contains(&row),
            "README lacks the keys {}",
            binding.label
        );
        assert!(
            readme.contains(binding.description),
            "README lacks: {}",
            binding.description
        );
    }
}
