//! Prints the `Microshop` CRD as YAML: `cargo run -p microshop-operator --bin crdgen`.

fn main() {
    print!("{}", microshop_operator::crd_yaml());
}
