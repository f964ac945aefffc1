"""Dev launcher, seed data and ops tools."""
