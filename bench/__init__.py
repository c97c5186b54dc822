"""`make bench`: billing throughput, DynamoDB requests and capacity units per invoice, and the cost of finding
due schedules, on the embedded stack (moto). A benchmark, not a test: see bench/__main__.py."""
