"""The command service: every write (accounts, sessions, posts, follows) lands here."""
