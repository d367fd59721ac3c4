"""People who use the admin console: users, roles, sessions."""
