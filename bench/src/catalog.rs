//! What the search scenarios ask the catalogue: words a customer types (some misspelt, some
//! matching nothing) and the categories of the shop's tree. The words fit the product names of
//! `bench/fixtures/catalog.sql` (brands, adjectives, materials and nouns of its word lists).

use rand::Rng;
use serde_json::Value;

/// The words of `GET /api/products/search?q=`, one picked at random per request: single nouns
/// (about 1 product in 200 each), materials and brands (1 in 16 to 24), two words, typos that
/// only trigram similarity finds, and words that match nothing.
pub const SEARCH_WORDS: &[&str] = &[
    "laptop",
    "labtop",
    "headphones",
    "hedphones",
    "wireless headphones",
    "oak desk",
    "steel",
    "coffee maker",
    "cofee maker",
    "tent",
    "sleeping bag",
    "running shoes",
    "yoga mat",
    "walnut",
    "blender",
    "kettle",
    "bamboo",
    "leather wallet",
    "chess set",
    "puzzle",
    "shampoo",
    "perfume",
    "parfume",
    "bicycle",
    "bycicle",
    "garden bench",
    "barbecue grill",
    "camera lens",
    "smartphone",
    "smartphne",
    "monitor",
    "keyboard",
    "keybaord",
    "sofa",
    "armchair",
    "nordic",
    "zenith pro",
    "waterproof jacket",
    "ceramic mug",
    "cookbook",
    "travel guide",
    "xylophone",
    "submarine",
];

/// A search word at random.
pub fn search_words(rng: &mut impl Rng) -> &'static str {
    SEARCH_WORDS[rng.random_range(0..SEARCH_WORDS.len())]
}

/// The slug of every category of `GET <url>/api/products/categories`, departments and their
/// sub-categories alike.
pub async fn category_slugs(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<String>> {
    let tree: Value = client
        .get(format!("{url}/api/products/categories"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut slugs = Vec::new();
    collect(&tree, &mut slugs);
    anyhow::ensure!(
        !slugs.is_empty(),
        "{url} has no categories: seed the catalogue first (bench/fixtures/catalog.sql)"
    );
    Ok(slugs)
}

fn collect(nodes: &Value, slugs: &mut Vec<String>) {
    for node in nodes.as_array().into_iter().flatten() {
        if let Some(slug) = node["slug"].as_str() {
            slugs.push(slug.to_owned());
        }
        collect(&node["children"], slugs);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_category_of_the_tree_is_collected_departments_first() {
        let tree = json!([
            {"slug": "books", "children": [{"slug": "books-fiction", "children": []}]},
            {"slug": "garden", "children": []},
        ]);
        let mut slugs = Vec::new();
        collect(&tree, &mut slugs);
        assert_eq!(slugs, ["books", "books-fiction", "garden"]);
    }
}
