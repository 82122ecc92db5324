"""The store: SQLModel tables, engines and migrations."""
