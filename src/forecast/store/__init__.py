"""What is kept on disk: published results, the ledger, updates and their history."""
