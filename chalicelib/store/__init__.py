"""Storage: PynamoDB models (the one definition of every table) and the repositories that own them."""
