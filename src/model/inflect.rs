//! English inflection of names (`posts` -> `post`, `Category` ->
//! `Categories`), by the `pluralizer` crate's rules (irregular words,
//! uncountables, `-ies`, `-ses`...), for inferred names and list headers.

/// The plural of the last word of `name`: `post` -> `posts`,
/// `Category` -> `Categories`, `posts` stays `posts`.
pub fn plural(name: &str) -> String {
    pluralizer::pluralize(name, 2, false)
}

/// The singular of the last word of `name`: `categories` -> `category`,
/// `statuses` -> `status`, `user` stays `user`.
pub fn singular(name: &str) -> String {
    pluralizer::pluralize(name, 1, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_singulars() {
        for (one, many) in [
            ("post", "posts"),
            ("Category", "Categories"),
            ("Box", "Boxes"),
            ("Notification", "Notifications"),
            ("status", "statuses"),
            ("address", "addresses"),
            ("person", "people"),
            ("post_tag", "post_tags"),
        ] {
            assert_eq!(plural(one), many);
            assert_eq!(plural(many), many, "a plural stays plural");
            assert_eq!(singular(many), one);
            assert_eq!(singular(one), one, "a singular stays singular");
        }
    }
}
