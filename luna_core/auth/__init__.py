"""Authentication primitives: passwords, tokens, login, OpenID Connect."""
