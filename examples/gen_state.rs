//! Prints a generated state document (for the load benchmark):
//! `gen_state [CLIENTS] [PARTNERS] [USERS_PER_CLIENT]` (defaults 2000, 20, 5).

use partner_access::fixtures::{Size, generate};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = Size {
        clients: args.first().copied().unwrap_or(2000),
        partners: args.get(1).copied().unwrap_or(20),
        users_per_client: args.get(2).copied().unwrap_or(5),
    };
    match serde_json::to_string(&generate(size)) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
